"""``init_(model, "auto")``: choose each layer's scheme from the nonlinearity that follows it.

Rules (the nonlinearity is found by :mod:`initlab.tools.followers`: ``torch.fx`` where the model traces,
module order otherwise):

* ReLU family -- ``relu``/``ReLU6`` -> ``he_normal``; ``leaky_relu``/``PReLU`` with slope ``a`` ->
  ``he_normal(nonlinearity=leaky_relu, negative_slope=a)`` (gain ``sqrt(2 / (1 + a^2))``).
* Smooth rectifiers (ELU, GELU, SiLU, Mish, Softplus) -> ``he_normal(nonlinearity=<name>)``, i.e. He
  with the *numerical*, variance-preserving gain ``1 / sqrt(E[phi(z)^2])`` (PyTorch has no gain for
  them).
* SELU -> ``lecun_normal`` (Klambauer et al. 2017: self-normalising networks).
* tanh, sigmoid, softsign, or no nonlinearity (``linear``) -> ``xavier_normal`` with gain 1 (Glorot &
  Bengio's derivation for the linear regime; PyTorch's tanh gain 5/3 is not applied).

Biases are set to zero. Randomness only from ``generator``; layers are drawn in ``named_modules``
order, so the same generator state gives the same weights. A model with residual marks then gets
zero-residual (or GPT-2's depth scaling in transformer blocks), said in the plan (:mod:`._residual`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..core import html
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..schemes import WEIGHTED, ParamInit, init_
from ._residual import residual_aware
from ._trace import Follower, followers

_HE_NUMERICAL = {"elu", "gelu", "silu", "mish", "softplus"}
_XAVIER = {"tanh", "sigmoid", "softsign", "linear"}


@dataclass(frozen=True)
class AutoInitStep:
    """One layer of the plan: which ``scheme`` (a spec string) it got and why."""

    layer: str
    scheme: str
    nonlinearity: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass(frozen=True)
class AutoInitPlan:
    """The plan (``steps``, one per Linear/ConvNd) and what was done (``records``, per parameter)."""

    steps: list[AutoInitStep]
    records: list[ParamInit]
    traced: bool
    note: str = ""

    def scheme_of(self, layer: str) -> str:
        """The spec chosen for ``layer`` (its ``named_modules`` name)."""
        for step in self.steps:
            if step.layer == layer:
                return step.scheme
        raise InitlabError(
            f"no layer {layer!r} in the plan; layers: {', '.join(s.layer for s in self.steps)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "traced": self.traced,
            "note": self.note,
            "steps": [s.to_dict() for s in self.steps],
            "records": [r.to_dict() for r in self.records],
        }

    def _repr_html_(self) -> str:
        """Jupyter's display: one row per layer, its scheme and why (:mod:`initlab.core.html`)."""
        how = "nonlinearities found by torch.fx" if self.traced else "nonlinearities found in module order"
        rows = [[s.layer, s.nonlinearity, s.scheme, s.reason] for s in self.steps]
        table = html.table(["layer", "followed by", "scheme", "reason"], rows)
        return str(html.card("initlab auto init", table, self.note, facts=[f"{len(self.steps)} layers", how]))


def choose(follower: Follower) -> tuple[str, str]:
    """``(scheme spec, reason)`` for a layer followed by ``follower``."""
    name, via = follower.name, follower.via
    if name == "relu":
        return "he_normal", f"followed by ReLU ({via}): He, gain sqrt(2)"
    if name == "leaky_relu":
        slope = f"{follower.negative_slope:g}"
        spec = f"he_normal(nonlinearity=leaky_relu, negative_slope={slope})"
        return spec, f"followed by leaky ReLU, slope {slope} ({via}): He, gain sqrt(2/(1+{slope}^2))"
    if name in _HE_NUMERICAL:
        return (
            f"he_normal(nonlinearity={name})",
            f"followed by {name} ({via}): He with the numerical variance-preserving gain",
        )
    if name == "selu":
        return "lecun_normal", f"followed by SELU ({via}): LeCun normal (self-normalising)"
    if name in _XAVIER:
        what = "no nonlinearity" if name == "linear" else name
        return "xavier_normal", f"{what} ({via}): Xavier normal, gain 1"
    raise InitlabError(f"no auto-init rule for nonlinearity {name!r}")  # pragma: no cover


def auto_init_(model: nn.Module, *, generator: torch.Generator | None = None) -> AutoInitPlan:
    """Initialise every Linear/ConvNd of ``model`` for the nonlinearity that follows it; return the plan.

    >>> import torch, initlab
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> plan = initlab.auto_init_(net, generator=torch.Generator().manual_seed(0))
    >>> [(s.layer, s.scheme) for s in plan.steps]
    [('0', 'he_normal'), ('2', 'xavier_normal')]
    """
    if not isinstance(model, nn.Module):
        raise InitlabError(f"auto init needs an nn.Module, got {type(model).__name__}")
    found = followers(model)
    steps: list[AutoInitStep] = []
    records: list[ParamInit] = []
    drawn: list[tuple[torch.Tensor, torch.Tensor]] = []  # (parameter, new values): written at the end
    for name, mod in model.named_modules():
        if not isinstance(mod, WEIGHTED):
            continue
        follower = found.layers.get(name, Follower("linear", via="not reached"))
        spec, reason = choose(follower)
        steps.append(AutoInitStep(name, spec, follower.spec, reason))
        prefix = f"{name}." if name else ""
        w = torch.empty_like(mod.weight)  # a layer that cannot be drawn leaves the model untouched
        (rec,) = init_(w, spec, generator=generator)
        records.append(dataclasses.replace(rec, name=prefix + "weight"))
        drawn.append((mod.weight, w))
        if mod.bias is not None:
            b = torch.zeros_like(mod.bias)
            (brec,) = init_(b, "zeros")
            records.append(dataclasses.replace(brec, name=prefix + "bias"))
            drawn.append((mod.bias, b))
    if not steps:
        raise InitlabError(f"{type(model).__name__} has no nn.Linear or nn.ConvNd layer to initialise")
    with torch.no_grad():
        for param, values in drawn:
            param.copy_(values)
    return residual_aware(model, AutoInitPlan(steps, records, found.traced, found.note))
