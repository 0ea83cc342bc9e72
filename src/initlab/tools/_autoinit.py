"""``init_(model, "auto")``: choose each layer's scheme from the nonlinearity that follows it.

Layers: every slot of :func:`initlab.tools.weight_slots` but embeddings (Linear, ConvNd, Hugging Face's
``Conv1D`` drawn on its transposed view, ``nn.MultiheadAttention``'s q/k/v blocks and ``out_proj``).
Rules (the nonlinearity is found by :func:`initlab.tools.followers`: ``torch.fx`` where the model
traces, else one forward pass on ``example``, else module order -- a guess, said in the plan):

* ReLU family -- ``relu``/``ReLU6`` -> ``he_normal``; ``leaky_relu``/``PReLU`` with slope ``a`` ->
  ``he_normal(nonlinearity=leaky_relu, negative_slope=a)`` (gain ``sqrt(2 / (1 + a^2))``).
* Smooth rectifiers (ELU, GELU and its tanh approximation, QuickGELU, SiLU, Mish, Softplus, Hardswish)
  -> ``he_normal(nonlinearity=<name>)``, i.e. He
  with the *numerical*, variance-preserving gain ``1 / sqrt(E[phi(z)^2])`` (PyTorch has no gain for
  them).
* SELU -> ``lecun_normal`` (Klambauer et al. 2017: self-normalising networks).
* tanh, sigmoid, softsign, hardtanh, hardsigmoid, or no nonlinearity (``linear``) -> ``xavier_normal``
  with gain 1 (Glorot & Bengio's derivation for the linear regime; PyTorch's tanh gain 5/3 is not applied).
* An elementwise activation no registered one matches (``unknown``) -> ``variance_scaling(scale=g^2,
  mode=fan_in, distribution=normal)`` with its numerical gain ``g = 1 / sqrt(E[phi(z)^2])``, and the
  plan names it (``plan.unknown``) instead of assuming it linear.
* A weight whose scale stands out from the model's by more than ``KEEP_FACTOR`` (4) is kept as it is
  (``keep_scales=True``; the rule in :mod:`initlab.tools._scales`): T5's queries, tied heads.

Biases are set to zero. Randomness only from ``generator``; layers are drawn in ``named_modules``
order, so the same generator state gives the same weights. A model with residual marks then gets
zero-residual (or GPT-2's depth scaling in transformer blocks), said in the plan (:mod:`._residual`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..core import html
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..schemes import ParamInit, init_, scheme
from ._layers import LAYER_KINDS, weight_slots
from ._residual import residual_aware
from ._scales import KEEP_FACTOR, current_std, deliberate
from ._trace import Follower, followers

_HE_NUMERICAL = {"elu", "gelu", "gelu_tanh", "quick_gelu", "silu", "mish", "softplus", "hardswish"}
_XAVIER = {"tanh", "sigmoid", "softsign", "hardtanh", "hardsigmoid", "linear"}


@dataclass(frozen=True)
class AutoInitStep:
    """One layer of the plan: which ``scheme`` (a spec string) it got and why."""

    layer: str
    scheme: str
    nonlinearity: str
    reason: str
    kept: bool = False  #: not re-drawn: a scale the model's own code relies on (:mod:`._scales`)

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
    order: str = "fx"  #: how the layer order was found: fx, forward (example input), definition (guessed)
    unknown: tuple[str, ...] = ()  #: nonlinearities met that no registered activation matches

    @property
    def kept(self) -> list[str]:
        """Layers left as they were: scales the model's own code relies on."""
        return [s.layer for s in self.steps if s.kept]

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
            "order": self.order,
            "note": self.note,
            "unknown": list(self.unknown),
            "kept": self.kept,
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
    if name == "unknown":
        g = follower.gain if follower.gain is not None and math.isfinite(follower.gain) else 1.0
        return (
            f"variance_scaling(scale={g * g:.6g}, mode=fan_in, distribution=normal)",
            f"followed by an activation initlab does not know ({via}): He-style, std gain/sqrt(fan_in) "
            f"with its numerical variance-preserving gain {g:.4g}",
        )
    if name == "selu":
        return "lecun_normal", f"followed by SELU ({via}): LeCun normal (self-normalising)"
    if name in _XAVIER:
        what = "no nonlinearity" if name == "linear" else name
        return "xavier_normal", f"{what} ({via}): Xavier normal, gain 1"
    raise InitlabError(f"no auto-init rule for nonlinearity {name!r}")  # pragma: no cover


def auto_init_(
    model: nn.Module,
    *,
    example: Any = None,
    generator: torch.Generator | None = None,
    keep_scales: bool = True,
) -> AutoInitPlan:
    """Initialise every layer of ``model`` for the nonlinearity that follows it; return the plan.

    ``example``: an input for one forward pass (a tensor, a tuple of positional arguments or a dict
    of keyword arguments), used to follow the network as it runs when ``torch.fx`` cannot trace it;
    without it such a model's order is guessed from its definitions (``plan.order ==
    "definition"``, said in ``plan.note``). ``keep_scales``: keep weights whose scale the model's own
    code set on purpose (:mod:`._scales`), listed with ``kept=True``.

    >>> import torch, initlab
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> plan = initlab.auto_init_(net, generator=torch.Generator().manual_seed(0))
    >>> [(s.layer, s.scheme) for s in plan.steps]
    [('0', 'he_normal'), ('2', 'xavier_normal')]
    """
    if not isinstance(model, nn.Module):
        raise InitlabError(f"auto init needs an nn.Module, got {type(model).__name__}")
    found = followers(model, example)
    slots = [s for s in weight_slots(model) if s.kind in LAYER_KINDS]
    if not slots:
        raise InitlabError(
            f"{type(model).__name__} has no nn.Linear or nn.ConvNd layer to initialise "
            f"(nor a Conv1D or MultiheadAttention)"
        )
    chosen: dict[str, tuple[str, str, Follower]] = {}
    for slot in slots:
        follower = found.layers.get(slot.name, Follower("linear", via="not reached"))
        spec, reason = choose(follower)
        chosen[slot.name] = (spec, reason, follower)
    keep: dict[str, float] = {}
    if keep_scales:
        current = {s.name: current_std(s.view(model)) for s in slots}
        implied = {s.name: scheme(chosen[s.name][0]).std(tuple(s.view(model).shape)) for s in slots}
        keep = deliberate(current, implied)
    steps: list[AutoInitStep] = []
    records: list[ParamInit] = []
    drawn: list[tuple[torch.Tensor, torch.Tensor]] = []  # (view of the parameter, new values): written last
    for slot in slots:
        spec, reason, follower = chosen[slot.name]
        if slot.name in keep:
            why = (
                f"kept: its std is x{keep[slot.name]:.3g} the model's scale for its position "
                f"(beyond x{KEEP_FACTOR:g} either way): a scale the model's code relies on; "
                f"{spec} not applied"
            )
            steps.append(AutoInitStep(slot.name, "kept", follower.spec, why, kept=True))
            continue
        steps.append(AutoInitStep(slot.name, spec, follower.spec, reason))
        view = slot.view(model)
        w = torch.empty(
            view.shape, dtype=view.dtype, device=view.device
        )  # a failed draw leaves the model as is
        (rec,) = init_(w, spec, generator=generator)
        records.append(dataclasses.replace(rec, name=slot.param if slot.rows is None else slot.name))
        drawn.append((view, w))
        bias = slot.bias_view(model)
        if bias is not None:
            b = torch.zeros_like(bias)
            (brec,) = init_(b, "zeros")
            rows = slot.bias_rows
            bname = str(slot.bias) if rows is None else f"{slot.bias}[{rows[0]}:{rows[1]}]"
            records.append(dataclasses.replace(brec, name=bname))
            drawn.append((bias, b))
    with torch.no_grad():
        for param, values in drawn:
            param.copy_(values)
    return residual_aware(
        model, AutoInitPlan(steps, records, found.traced, found.note, found.order, found.unknown)
    )
