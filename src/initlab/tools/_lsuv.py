"""LSUV: layer-sequential unit-variance initialization (Mishkin & Matas 2016, *All you need is a good init*).

1. Orthogonal pre-init of every layer weight of :func:`initlab.tools.weight_slots` but embeddings
   (Linear, ConvNd, Hugging Face's ``Conv1D`` on its transposed view, ``nn.MultiheadAttention``'s q/k/v
   blocks and ``out_proj``), from ``generator``, biases zero.
2. For each of those layers in the order the forward pass first calls them: measure the std of the
   layer's output (over all entries), and multiply the layer's weight *and* bias by
   ``target_std / std`` -- the output scales exactly by that factor -- until
   ``|std - target_std| <= tol * target_std`` or ``max_iter`` updates. With ``center=True`` the bias
   first absorbs each unit's mean (units: the last axis for Linear/Conv1D, the channel axis for
   ConvNd), so the output is centred and its std is the within-unit std.

All layers are fitted in **one** forward pass (``LSUVResult.passes == 1``; the paper's loop runs one
pass per update, up to ``1 + layers * (max_iter + 1)``): a hook on each layer fits it on its first
call, re-running only that layer on the input it was called with (``module.forward``, no hooks), and
hands the fitted output on, so every later layer sees the earlier ones fitted -- the same sequential
result, since a layer's input depends only on the layers called before it. The q/k/v blocks are
fitted on the attention's query/key/value inputs before it runs, its ``out_proj`` on its output.

The model runs in ``eval()`` mode (dropout off, BatchNorm on its running statistics, which are not
updated) and gets its modes back afterwards. Other parameterised modules (BatchNorm, LayerNorm,
Embedding, ...) are skipped and listed with the reason, as are layers whose output std is 0 or not
finite, layers the forward pass never calls, and weights whose scale the model's own code set
(``keep_scales``, :mod:`initlab.tools._scales`, with the orthogonal scheme as the implied scale).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import html
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..measure import first_tensor, units_view
from ..schemes import ParamInit, init_, scheme
from ._layers import LAYER_KINDS, Slot, weight_slots
from ._scales import KEEP_FACTOR, current_std, deliberate


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
    passes: int = 1  #: forward passes of the whole model (the layers' own re-runs not counted)

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
            "passes": self.passes,
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


def lsuv_(
    model: nn.Module,
    batch: Tensor | Sequence[Tensor],
    *,
    target_std: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
    center: bool = False,
    generator: torch.Generator | None = None,
    keep_scales: bool = True,
) -> LSUVResult:
    """LSUV-initialise ``model`` in place on ``batch`` (``model(*batch)`` for a sequence).

    >>> import torch, initlab
    >>> net = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.Tanh(), torch.nn.Linear(30, 5))
    >>> x = torch.randn(64, 20, generator=torch.Generator().manual_seed(0))
    >>> res = initlab.lsuv_(net, x, generator=torch.Generator().manual_seed(1))
    >>> [round(la.std, 2) for la in res.layers], res.passes
    ([1.0, 1.0], 1)
    """
    if not (target_std > 0 and math.isfinite(target_std)) or not (tol > 0) or int(max_iter) < 1:
        raise InitlabError(
            f"lsuv_ needs target_std > 0, tol > 0, max_iter >= 1; got {target_std}, {tol}, {max_iter}"
        )
    xs = [batch] if isinstance(batch, Tensor) else list(batch)
    slots = [s for s in weight_slots(model) if s.kind in LAYER_KINDS]
    if not slots:
        raise InitlabError(f"{type(model).__name__} has no nn.Linear or nn.ConvNd layer for LSUV")
    kept: dict[str, float] = {}
    if keep_scales:
        views = {s.name: s.view(model) for s in slots}
        current = {n: current_std(v) for n, v in views.items()}
        implied = {n: scheme("orthogonal").std(tuple(v.shape)) for n, v in views.items()}
        kept = deliberate(current, implied)
    records: list[ParamInit] = []
    for slot in slots:
        if slot.name in kept:
            continue
        (rec,) = init_(slot.view(model), "orthogonal", generator=generator)
        records.append(dataclasses.replace(rec, name=slot.param if slot.rows is None else slot.name))
        bias = slot.bias_view(model)
        if bias is not None:
            (brec,) = init_(bias, "zeros")
            rows = slot.bias_rows
            records.append(
                dataclasses.replace(
                    brec, name=str(slot.bias) if rows is None else f"{slot.bias}[{rows[0]}:{rows[1]}]"
                )
            )
    fit = _Fitter(model, target_std, tol, int(max_iter), center, set(kept))
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        fit.run(xs, slots)
    finally:
        for m, mode in modes.items():
            m.training = mode
    layers = list(fit.done)
    for slot in slots:
        if slot.name in kept:
            why = (
                f"kept: its std is x{kept[slot.name]:.3g} the model's scale for its position (beyond "
                f"x{KEEP_FACTOR:g}): a scale the model's code relies on"
            )
            layers.append(LSUVLayer(slot.name, slot.kind, 0, None, 1.0, False, why))
        elif slot.name not in fit.fitted:
            layers.append(
                LSUVLayer(slot.name, slot.kind, 0, None, 1.0, False, "not called by the forward pass")
            )
    units = {s.module for s in slots}
    for name, mod in model.named_modules():
        if (
            name not in units
            and not isinstance(mod, nn.MultiheadAttention)
            and any(True for _ in mod.parameters(recurse=False))
        ):
            why = "not a Linear/ConvNd: LSUV scales only those"
            layers.append(LSUVLayer(name, type(mod).__name__, 0, None, 1.0, False, why))
    return LSUVResult(layers, records, float(target_std), float(tol), fit.passes)


def _stats(t: Tensor, channels_last: bool) -> tuple[float, Tensor, float]:
    """Output std, per-unit means ``(C,)`` and within-unit std."""
    u = units_view(t.detach(), channels_last)[0].double()  # (N, C)
    means = u.mean(dim=0)  # (C,)
    within = float((u - means).pow(2).mean().sqrt())
    return float(u.std(unbiased=False)), means, within


class _Fitter:
    """The hooks of the one forward pass: each layer fitted on its first call (module docstring)."""

    def __init__(
        self, model: nn.Module, target: float, tol: float, max_iter: int, center: bool, kept: set[str]
    ) -> None:
        self.model, self.target, self.tol, self.max_iter, self.center = model, target, tol, max_iter, center
        self.kept = kept
        self.done: list[LSUVLayer] = []
        self.fitted: set[str] = set()
        self.passes = 0
        self.types: dict[str, str] = {}

    def run(self, xs: list[Tensor], slots: list[Slot]) -> None:
        mods = dict(self.model.named_modules())
        self.types = {s.name: type(mods[s.module]).__name__ for s in slots}
        handles = []
        by_module: dict[str, list[Slot]] = {}
        for slot in slots:
            by_module.setdefault(slot.module, []).append(slot)
        try:
            for name, group in by_module.items():
                mod = mods[name]
                if isinstance(mod, nn.MultiheadAttention):
                    handles.append(mod.register_forward_pre_hook(self._attention_in(group), with_kwargs=True))
                else:
                    handles.append(
                        mod.register_forward_hook(
                            self._after(group[0], group[0].kind in ("linear", "conv1d")), with_kwargs=True
                        )
                    )
            for name, mod in mods.items():  # the output projection runs inside the attention
                if isinstance(mod, nn.MultiheadAttention):
                    out_name = f"{name}.out_proj" if name else "out_proj"
                    for slot in [s for s in slots if s.name == out_name]:
                        handles.append(mod.register_forward_hook(self._after(slot, True), with_kwargs=True))
            self.passes += 1
            with torch.no_grad():
                self.model(*xs)
        except InitlabError:
            raise
        except Exception as err:
            shapes = ", ".join(str(tuple(x.shape)) for x in xs)
            raise InitlabError(
                f"lsuv_: the forward pass failed on a batch of shape {shapes}: {type(err).__name__}: {err}"
            ) from err
        finally:
            for h in handles:
                h.remove()

    def _fit(self, slot: Slot, first: Tensor, again: Callable[[], Tensor], channels_last: bool) -> None:
        """Scale ``slot`` until its output (``first``, then ``again()`` after each update) hits the target."""
        weight = slot.view(self.model)
        bias = slot.bias_view(self.model)
        out, total, it = first, 1.0, 0
        target, tol = self.target, self.tol
        self.fitted.add(slot.name)
        while True:
            std, means, within = _stats(out, channels_last)
            if not math.isfinite(std) or std == 0:
                why = "output std is 0 (dead or constant output)" if std == 0 else "output std is not finite"
                self.done.append(LSUVLayer(slot.name, self.types[slot.name], it, std, total, False, why))
                return
            if abs(std - target) <= tol * target or it >= self.max_iter:
                self.done.append(
                    LSUVLayer(
                        slot.name, self.types[slot.name], it, std, total, abs(std - target) <= tol * target
                    )
                )
                return
            with torch.no_grad():
                if self.center and bias is not None and means.numel() == bias.numel():
                    bias.sub_(means.to(bias.dtype).reshape(bias.shape))
                    std = within
                k = target / std if std > 0 else 1.0
                weight.mul_(k)
                if bias is not None:
                    bias.mul_(k)
            total *= k
            it += 1
            out = again()

    def _after(self, slot: Slot, channels_last: bool) -> Callable[..., Any]:
        """Forward hook fitting ``slot`` on its module's output (a layer, or an attention's out_proj)."""

        def hook(m: nn.Module, args: Any, kwargs: Any, out: Any) -> Any:
            if slot.name in self.fitted or slot.name in self.kept or first_tensor(out) is None:
                return None
            last = [out]

            def again() -> Tensor:
                last[0] = m.forward(*args, **kwargs)  # this module only, on the input it was called with
                t = first_tensor(last[0])
                assert t is not None  # it gave a tensor the first time
                return t

            t = first_tensor(out)
            assert t is not None
            self._fit(slot, t, again, channels_last)
            return None if last[0] is out else last[0]  # the fitted output, handed on

        return hook

    def _attention_in(self, group: list[Slot]) -> Callable[..., Any]:
        def hook(m: nn.Module, args: Any, kwargs: Any) -> None:
            inputs = list(args[:3]) + [kwargs.get(k) for k in ("query", "key", "value")][len(args[:3]) :]
            for slot, x in zip([s for s in group if s.kind == "attention"], inputs, strict=False):
                if slot.name in self.fitted or slot.name in self.kept or not isinstance(x, Tensor):
                    continue

                def again(slot: Slot = slot, x: Tensor = x) -> Tensor:
                    return F.linear(x, slot.view(self.model), slot.bias_view(self.model))

                self._fit(slot, again(), again, True)

        return hook
