"""The probe of any ensemble: per-tap forward and backward statistics from hooks inside the vmapped call.

:func:`probe_ensemble` runs every model of an :class:`~initlab.ensemble.Ensemble` on one shared batch
``x: (B, ...)`` and back from the loss ``L = sum(g * logits)`` with a cotangent ``g`` shared by all
models, and records every tap (:mod:`initlab.measure.taps`: weighted layers, norms, activations,
attention, residual stream and branches) per model. How, under ``torch.func``:

1. **Scout** (forward only, no grad): ``vmap(functional_call)`` with a forward hook on every module;
   the tap hooks note each call's output shape (one model's shape: inside vmap a hook sees the
   per-model tensor) and return a strided sample of its values as an output of the vmapped function
   -- from these the histogram range of each tap is fitted (:func:`initlab.measure.probe.auto_range`,
   per group of models, e.g. per init spec) unless one is forced.
2. **Measure**: per model, ``torch.func.vjp`` of a function of ``(params, probes)``, vmapped over the
   model axis. A zero *probe* tensor ``e_k`` (the shape noted in step 1) is added to the output of
   tap call ``k`` by its forward hook, so ``dL/de_k`` is the gradient w.r.t. that output -- the one
   way to read an intermediate gradient under ``vjp`` inside ``vmap`` (``Tensor.register_hook``
   and ``torch.autograd.grad`` do not reach inside the transforms). The forward hook reduces its
   output to per-model statistics at once and returns them through ``vjp``'s auxiliary output; the
   gradients are reduced after the pullback. Only reductions leave the vmapped function, so no
   batched tensor escapes and no full activation is kept beyond what autograd keeps.

Buffers are cloned inside the function: BatchNorm in training mode normalises with the batch's
statistics, and the ensemble's running statistics are left untouched. Random layers (Dropout) see
the same random numbers in both steps (the default generator is forked, reset between the steps and
restored after). Statistics (:mod:`initlab.measure.stats`, branch-free variants; float64):

* forward, per tap call: ``mean``, ``std`` (finite entries), ``signal_std`` (root-mean-square over
  units of each unit's std over the samples), ``zero_fraction``, ``dead_fraction`` (units exactly 0
  for every sample), ``saturated_fraction`` (activations bounded on both sides), ``nonfinite``,
  the histogram (share of entries per bin) and the shares below and above its range;
* backward: ``grad_std`` (per entry), ``grad_norm`` (root-mean-square over the leading axis of the
  per-row Euclidean norm, as :mod:`initlab.measure.hooks`), ``grad_nonfinite``, and
  ``weight_grad_std`` for a tap with a weight. Each equals what hooks on that model alone give.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vjp, vmap
from torch.utils.hooks import RemovableHandle

from ..ensemble import Ensemble
from . import stats
from .hooks import channels_last, first_tensor, units_view
from .probe import auto_range
from .taps import Tap, find_taps, weight_name

#: Forward statistics, in the order of :attr:`EnsembleProbe.forward`'s last axis.
FORWARD_STATS = (
    "mean",
    "std",
    "signal_std",
    "zero_fraction",
    "dead_fraction",
    "saturated_fraction",
    "nonfinite",
    "below_range",
    "above_range",
)
#: Backward statistics, in the order of :attr:`EnsembleProbe.backward`'s last axis.
BACKWARD_STATS = ("grad_std", "grad_norm", "grad_nonfinite", "weight_grad_std")
SAMPLE_CAP = 1 << 16  #: values sampled per tap (over all models) to fit a histogram range


@dataclass(frozen=True)
class Record:
    """One call of one tap: ``name`` (``block.conv#2`` for a module's second call), the tap, and
    one model's output ``shape``, its ``units`` and whether they are on the last axis."""

    name: str
    tap: Tap
    call: int
    shape: tuple[int, ...]
    units: int
    channels_last: bool


@dataclass(frozen=True)
class EnsembleProbe:
    """What :func:`probe_ensemble` measured; ``R`` records, ``M`` models.

    ``forward: (M, R, len(FORWARD_STATS))`` and ``backward: (M, R, len(BACKWARD_STATS))`` (float64;
    NaN where a statistic does not apply, e.g. ``saturated_fraction`` of an unbounded output or
    ``weight_grad_std`` of a tap without a weight), ``histograms: (M, R, bins)`` (share of the
    entries per bin), ``ranges: (M, R, 2)`` (each model's histogram range), ``logits`` the output
    shape of one model.
    """

    records: tuple[Record, ...]
    forward: Tensor
    backward: Tensor
    histograms: Tensor
    ranges: Tensor
    logits: tuple[int, ...]

    def stat(self, name: str) -> Tensor:
        """One statistic for every model and record: ``(M, R)``."""
        if name in FORWARD_STATS:
            return self.forward[..., FORWARD_STATS.index(name)]
        return self.backward[..., BACKWARD_STATS.index(name)]


# -- hooks ----------------------------------------------------------------------------------------


def _replace_first(out: Any, old: Tensor, new: Tensor) -> Any:
    """``out`` with the tensor ``old`` (its first floating-point tensor) replaced by ``new``."""
    if out is old:
        return new
    if isinstance(out, tuple | list):
        items = [_replace_first(item, old, new) for item in out]
        return type(out)(items)
    if isinstance(out, dict):
        return {k: _replace_first(v, old, new) for k, v in out.items()}
    return out


@contextmanager
def _hooked(
    model: nn.Module, taps: dict[str, Tap], on_tap: Callable[[str, nn.Module, Tensor, bool], Tensor | None]
) -> Iterator[None]:
    """A forward hook on every module: tracks the units layout of each output (as the Recorder
    does) and calls ``on_tap(name, module, output, channels_last)`` for taps; a tensor it returns
    replaces the output. Every hook is removed on exit."""
    handles: list[RemovableHandle] = []
    layout: list[tuple[int, bool] | None] = [None]

    def make(name: str) -> Any:
        def hook(mod: nn.Module, args: Any, output: Any) -> Any:
            t = first_tensor(output)
            if t is None:
                return None
            last = channels_last(mod, t.dim(), layout[0])
            layout[0] = (t.dim(), last)
            if name not in taps:
                return None
            new = on_tap(name, mod, t, last)
            return None if new is None else _replace_first(output, t, new)

        return hook

    try:
        for name, mod in model.named_modules():
            handles.append(mod.register_forward_hook(make(name)))
        yield
    finally:
        for h in handles:
            h.remove()


def _forward_stats(t: Tensor, last: bool, tap: Tap, rng: Tensor, bins: int) -> tuple[Tensor, Tensor]:
    """Statistics of one model's output ``t``: ``(len(FORWARD_STATS),)`` and the histogram ``(bins,)``."""
    u = units_view(t.detach(), last)  # (1, N, C)
    st = stats.summary(u, tap.bounds, bins, rng[0], rng[1])
    row = torch.cat([st[name].reshape(1) for name in FORWARD_STATS])  # (len(FORWARD_STATS),)
    return row, st["histogram"][0]


def _grad_stats(grad: Tensor) -> Tensor:
    """``(grad_std, grad_norm, grad_nonfinite)`` of the gradient w.r.t. one output."""
    st = stats.gradient_summary(grad.detach().unsqueeze(0))  # each (1,)
    return torch.cat([st[name].reshape(1) for name in BACKWARD_STATS[:3]])


# -- the two steps --------------------------------------------------------------------------------


def _scout(
    model: nn.Module,
    taps: dict[str, Tap],
    params: dict[str, Tensor],
    buffers: dict[str, Tensor],
    x: Tensor,
    models: int,
) -> tuple[list[Record], list[torch.dtype], list[Tensor]]:
    """Step 1: the records in call order, their dtypes, and each one's sampled values ``(M, k)``."""
    records: list[Record] = []
    dtypes: list[torch.dtype] = []
    counts: dict[str, int] = {}

    def one(p: dict[str, Tensor], b: dict[str, Tensor], xx: Tensor) -> tuple[Tensor, ...]:
        samples: list[Tensor] = []
        records.clear()
        dtypes.clear()
        counts.clear()

        def on_tap(name: str, mod: nn.Module, t: Tensor, last: bool) -> None:
            counts[name] = counts.get(name, 0) + 1
            u = units_view(t.detach(), last)  # (1, N, C)
            records.append(Record(name, taps[name], counts[name], tuple(t.shape), int(u.shape[2]), last))
            dtypes.append(t.dtype)
            flat = t.detach().reshape(-1)
            step = max(1, -(-flat.numel() // max(1, SAMPLE_CAP // models)))
            samples.append(flat[::step])
            return None

        with _hooked(model, taps, on_tap):
            functional_call(model, (p, {k: v.clone() for k, v in b.items()}), (xx,))
        return tuple(samples)

    with torch.no_grad():
        sampled = vmap(one, in_dims=(0, 0, None), randomness="different")(params, buffers, x)
    names = [r.name for r in records]
    count = {n: names.count(n) for n in names}
    named = [
        r
        if count[r.name] == 1
        else Record(f"{r.name}#{r.call}", r.tap, r.call, r.shape, r.units, r.channels_last)
        for r in records
    ]
    return named, list(dtypes), list(sampled)


def _measure(
    model: nn.Module,
    taps: dict[str, Tap],
    records: Sequence[Record],
    dtypes: Sequence[torch.dtype],
    params: dict[str, Tensor],
    buffers: dict[str, Tensor],
    x: Tensor,
    g: Tensor,
    ranges: Tensor,
    bins: int,
) -> tuple[Tensor, Tensor, Tensor, tuple[int, ...]]:
    """Step 2: ``forward (M, R, F)``, ``histograms (M, R, bins)``, ``backward (M, R, K)``."""
    weights = [weight_name(model, r.tap) for r in records]
    out_shape: list[tuple[int, ...]] = []

    def one(
        p: dict[str, Tensor], b: dict[str, Tensor], xx: Tensor, gg: Tensor, rng: Tensor, probes: list[Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        def forward(
            p: dict[str, Tensor], e: list[Tensor]
        ) -> tuple[Tensor, tuple[list[Tensor], list[Tensor]]]:
            rows: list[Tensor] = []
            hists: list[Tensor] = []

            def on_tap(name: str, mod: nn.Module, t: Tensor, last: bool) -> Tensor:
                k = len(rows)
                row, hist = _forward_stats(t, last, taps[name], rng[k], bins)
                rows.append(row)
                hists.append(hist)
                return t + e[k]  # dL/de_k is the gradient w.r.t. this output

            with _hooked(model, taps, on_tap):
                out = functional_call(model, (p, {k: v.clone() for k, v in b.items()}), (xx,))
            return out, (rows, hists)

        out, pullback, aux = vjp(forward, p, probes, has_aux=True)  # type: ignore[misc]
        rows, hists = aux
        out_shape[:] = [tuple(out.shape)]
        dparams, dprobes = pullback(gg.to(out.dtype).expand_as(out))
        nan = torch.full((1,), math.nan, dtype=torch.float64, device=xx.device)
        back = []
        for k, de in enumerate(dprobes):
            w = weights[k]
            wg = dparams.get(w) if w is not None else None
            wstd = stats.finite_mean_std(wg.unsqueeze(0), branchless=True)[1] if wg is not None else nan
            back.append(torch.cat([_grad_stats(de), wstd]))
        if not rows:
            empty = torch.zeros(0, dtype=torch.float64, device=xx.device)
            return empty.reshape(0, len(FORWARD_STATS)), empty.reshape(0, bins), empty.reshape(0, 4)
        return torch.stack(rows), torch.stack(hists), torch.stack(back)

    probes = [torch.zeros(r.shape, dtype=dt, device=x.device) for r, dt in zip(records, dtypes, strict=True)]
    fwd, hist, back = vmap(one, in_dims=(0, 0, None, None, 0, None), randomness="different")(
        params, buffers, x, g, ranges, probes
    )
    return fwd, hist, back, out_shape[0]


@contextmanager
def _same_randomness(device: torch.device) -> Iterator[Callable[[], None]]:
    """Fork the default generator of ``device``; the yielded function resets it to the fork's start."""
    cuda = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        cpu_state = torch.get_rng_state()
        dev_state = torch.cuda.get_rng_state(device) if cuda else None

        def reset() -> None:
            torch.set_rng_state(cpu_state)
            if dev_state is not None:
                torch.cuda.set_rng_state(dev_state, device)

        yield reset


def probe_ensemble(
    ensemble: Ensemble,
    x: Tensor,
    cotangent: Tensor,
    *,
    bins: int = 30,
    groups: Sequence[slice] | None = None,
    hist_range: tuple[float, float] | None = None,
) -> EnsembleProbe:
    """Forward ``x: (B, ...)`` through every model of ``ensemble`` and back from ``sum(cotangent * out)``.

    ``cotangent`` has one model's output shape (``(B, classes)`` for logits) and is shared by every
    model. Histogram ranges: ``hist_range`` for every tap, else fitted per tap and per group of
    models (``groups``: slices of the model axis, default all models together) by
    :func:`~initlab.measure.probe.auto_range` from the tap's bounds and the values seen.
    """
    model = ensemble.base
    taps = find_taps(model)
    params: dict[str, Tensor] = {k: v.detach() for k, v in ensemble.params.items()}
    buffers: dict[str, Tensor] = ensemble.buffers
    M = ensemble.M
    parts = list(groups) if groups is not None else [slice(0, M)]
    with _same_randomness(x.device) as reset:
        records, dtypes, samples = _scout(model, taps, params, buffers, x, M)
        ranges = torch.zeros(M, len(records), 2, dtype=torch.float64)  # (M, R, 2), filled on the CPU
        for k, rec in enumerate(records):
            for part in parts:
                lo, hi = hist_range or auto_range(rec.tap.bounds, [samples[k][part]])
                ranges[part, k, 0], ranges[part, k, 1] = lo, hi
        reset()
        fwd, hist, back, logits = _measure(
            model, taps, records, dtypes, params, buffers, x, cotangent, ranges.to(x.device), bins
        )
    return EnsembleProbe(tuple(records), fwd, back, hist, ranges, logits)
