"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas 2016, *All you need is a good init*).

1. Orthogonal pre-init of every ``nn.Linear``/``nn.ConvNd`` weight (``orthogonal``, from
   ``generator``), biases zero.
2. For each of those layers in the order the forward pass first calls them: run the batch, measure
   the std of the layer's output (over all entries), and multiply the layer's weight *and* bias by
   ``target_std / std`` -- the output scales exactly by that factor -- until
   ``|std - target_std| <= tol * target_std`` or ``max_iter`` updates. With ``center=True`` the bias
   first absorbs each unit's mean (units: the last axis for Linear, the channel axis for ConvNd), so
   the output is centred and its std is the within-unit std.

Each measurement stops the forward pass right after the layer (no wasted compute). The model runs
in ``eval()`` mode for the measurements (dropout off, BatchNorm on its running statistics, which
are not updated) and gets its modes back afterwards. Other parameterised modules (BatchNorm,
LayerNorm, Embedding, ...) are skipped and listed with the reason, as are layers whose output std is
0 or not finite, and layers the forward pass never calls.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..core import html
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..measure import first_tensor, units_view
from ..schemes import WEIGHTED, ParamInit, init_


@dataclass(frozen=True)
class LSUVLayer:
    """One module: updates made (``iterations``), its final output ``std``, or why it was ``skipped``."""

    name: str
    type: str
    iterations: int
    std: float | None
    scale: float
    converged: bool
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass(frozen=True)
class LSUVResult:
    """Per-module outcome (forward order, skipped modules last) and the pre-init records."""

    layers: list[LSUVLayer]
    records: list[ParamInit]
    target_std: float
    tol: float

    @property
    def converged(self) -> bool:
        """Whether every layer that was not skipped (at least one) reached the target within tolerance."""
        fitted = [la for la in self.layers if la.skipped is None]
        return bool(fitted) and all(la.converged for la in fitted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_std": self.target_std,
            "tol": self.tol,
            "converged": self.converged,
            "layers": [la.to_dict() for la in self.layers],
        }

    def _repr_html_(self) -> str:
        """Jupyter's display: one row per module, its updates and final std (:mod:`initlab.core.html`)."""
        rows = [
            [
                la.name,
                la.type,
                la.iterations,
                la.std,
                la.scale,
                f"skipped: {la.skipped}"
                if la.skipped
                else ("converged" if la.converged else "not converged"),
            ]
            for la in self.layers
        ]
        table = html.table(["layer", "type", "updates", "output std", "scale", "outcome"], rows)
        facts = [
            f"target std {html.number(self.target_std)} ± {html.number(self.tol * self.target_std)}",
            "converged" if self.converged else "not converged",
        ]
        return str(html.card("initlab LSUV", table, facts=facts))


class _Stop(Exception):
    """Raised by the measuring hook to end the forward pass right after the measured layer."""


def lsuv_(
    model: nn.Module,
    batch: Tensor | Sequence[Tensor],
    *,
    target_std: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
    center: bool = False,
    generator: torch.Generator | None = None,
) -> LSUVResult:
    """LSUV-initialise ``model`` in place on ``batch`` (``model(*batch)`` for a sequence).

    >>> import torch, initlab
    >>> net = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.Tanh(), torch.nn.Linear(30, 5))
    >>> x = torch.randn(64, 20, generator=torch.Generator().manual_seed(0))
    >>> res = initlab.lsuv_(net, x, generator=torch.Generator().manual_seed(1))
    >>> [round(la.std, 2) for la in res.layers]
    [1.0, 1.0]
    """
    if not (target_std > 0 and math.isfinite(target_std)) or not (tol > 0) or int(max_iter) < 1:
        raise InitlabError(
            f"lsuv_ needs target_std > 0, tol > 0, max_iter >= 1; got {target_std}, {tol}, {max_iter}"
        )
    xs = [batch] if isinstance(batch, Tensor) else list(batch)
    records: list[ParamInit] = []
    named = dict(model.named_modules())
    for name, mod in named.items():
        if isinstance(mod, WEIGHTED):
            prefix = f"{name}." if name else ""
            (rec,) = init_(mod.weight, "orthogonal", generator=generator)
            records.append(dataclasses.replace(rec, name=prefix + "weight"))
            if mod.bias is not None:
                (brec,) = init_(mod.bias, "zeros")
                records.append(dataclasses.replace(brec, name=prefix + "bias"))
    if not records:
        raise InitlabError(f"{type(model).__name__} has no nn.Linear or nn.ConvNd layer for LSUV")
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        order = _call_order(model, xs)
        layers = [_fit(model, xs, named[n], n, target_std, tol, int(max_iter), center) for n in order]
    finally:
        for m, mode in modes.items():
            m.training = mode
    for name, mod in named.items():
        if isinstance(mod, WEIGHTED) and name not in order:
            layers.append(
                LSUVLayer(name, type(mod).__name__, 0, None, 1.0, False, "not called by the forward pass")
            )
        elif not isinstance(mod, WEIGHTED) and any(True for _ in mod.parameters(recurse=False)):
            why = "not a Linear/ConvNd: LSUV scales only those"
            layers.append(LSUVLayer(name, type(mod).__name__, 0, None, 1.0, False, why))
    return LSUVResult(layers, records, float(target_std), float(tol))


def _forward(model: nn.Module, xs: list[Tensor]) -> None:
    try:
        with torch.no_grad():
            model(*xs)
    except _Stop:
        pass
    except Exception as err:
        shapes = ", ".join(str(tuple(x.shape)) for x in xs)
        raise InitlabError(
            f"lsuv_: the forward pass failed on a batch of shape {shapes}: {type(err).__name__}: {err}"
        ) from err


def _call_order(model: nn.Module, xs: list[Tensor]) -> list[str]:
    order: list[str] = []
    handles = []
    try:
        for name, mod in model.named_modules():
            if isinstance(mod, WEIGHTED):

                def hook(m: nn.Module, args: Any, out: Any, name: str = name) -> None:
                    if name not in order:
                        order.append(name)

                handles.append(mod.register_forward_hook(hook))
        _forward(model, xs)
    finally:
        for h in handles:
            h.remove()
    return order


def _measure(model: nn.Module, xs: list[Tensor], mod: nn.Module) -> tuple[float, Tensor, float]:
    """Output std, per-unit means ``(C,)`` and within-unit std of ``mod``'s first call."""
    got: list[tuple[float, Tensor, float]] = []

    def hook(m: nn.Module, args: Any, out: Any) -> None:
        t = first_tensor(out)
        if t is None:
            raise _Stop
        u = units_view(t.detach(), not isinstance(m, nn.modules.conv._ConvNd))[0].double()  # (N, C)
        means = u.mean(dim=0)  # (C,)
        within = float((u - means).pow(2).mean().sqrt())
        got.append((float(u.std(unbiased=False)), means, within))
        raise _Stop

    handle = mod.register_forward_hook(hook)
    try:
        _forward(model, xs)
    finally:
        handle.remove()
    return got[0] if got else (math.nan, torch.zeros(0), math.nan)


def _fit(
    model: nn.Module,
    xs: list[Tensor],
    mod: nn.Module,
    name: str,
    target: float,
    tol: float,
    max_iter: int,
    center: bool,
) -> LSUVLayer:
    kind = type(mod).__name__
    weight: Tensor = getattr(mod, "weight")  # noqa: B009 - typed access to a WEIGHTED module's weight
    bias: Tensor | None = getattr(mod, "bias", None)
    total, it = 1.0, 0
    while True:
        std, means, within = _measure(model, xs, mod)
        if not math.isfinite(std) or std == 0:
            why = "output std is 0 (dead or constant output)" if std == 0 else "output std is not finite"
            return LSUVLayer(name, kind, it, std, total, False, why)
        if abs(std - target) <= tol * target or it >= max_iter:
            return LSUVLayer(name, kind, it, std, total, abs(std - target) <= tol * target)
        with torch.no_grad():
            if center and bias is not None and means.numel() == bias.numel():
                bias.sub_(means.to(bias.dtype).reshape(bias.shape))
                std = within
            k = target / std if std > 0 else 1.0
            weight.mul_(k)
            if bias is not None:
                bias.mul_(k)
        total *= k
        it += 1
