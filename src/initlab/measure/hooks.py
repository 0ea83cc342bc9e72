"""The hook recorder: per-call statistics of every module's output, streamed (only scalars are kept).

A forward hook on each leaf module (``containers=True``: every module) summarises its output right
away with :mod:`initlab.measure.stats` and registers a tensor hook on that output for the gradient; neither
keeps the tensor. Tensor hooks (not ``register_full_backward_hook``) survive in-place modules such
as ``nn.ReLU(inplace=True)``: a hook registered before an in-place op receives the gradient with
respect to the value before it. :class:`Recorder` is a context manager that removes every handle --
module and tensor hooks -- in ``finally``, also when the forward raises. With ``bins > 0`` each record
also holds fixed-size histograms (:mod:`initlab.measure.histogram`) of the output and of its gradient
in ``extra["histogram"]`` and ``extra["grad_histogram"]``; :meth:`Recorder.release_modules` removes
the module hooks only, so that a monitor records one forward pass and still receives its gradients.

What is recorded for an output:

* a module returning a tuple, list or dict is summarised by its first floating-point tensor
  (depth-first), e.g. ``nn.LSTM``'s output sequence;
* units are the last axis for 2-D outputs and for Linear, LayerNorm, Embedding, attention and
  recurrent layers (``(B, T, C)``), and the channel axis (dim 1) for conv, norm and pooling outputs
  (``(B, C, *spatial)``); other modules (activations, dropout) keep the layout of the previous
  output of the same rank, else dim 1. A conv channel is *dead* when it is exactly 0 at every
  position of every sample;
* a module called ``k > 1`` times gives ``k`` records, named ``name#1`` ... ``name#k``;
* for the gradient w.r.t. the output: its std over all entries (``grad_std``) and its norm per
  sample (``grad_norm``: root-mean-square over the leading axis of the per-row Euclidean norm), the
  quantity He's fan_in rule keeps constant through layers of different widths and through pooling.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ..activations import activation
from . import stats
from .histogram import histogram

#: Modules whose output has its units on the last axis, whatever its rank.
CHANNELS_LAST: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Bilinear,
    nn.LayerNorm,
    nn.Embedding,
    nn.MultiheadAttention,
    nn.RNNBase,
)
#: Modules whose output has its units (channels) on axis 1: ``(B, C, *spatial)``.
CHANNELS_FIRST: tuple[type[nn.Module], ...] = (
    nn.modules.conv._ConvNd,
    nn.modules.batchnorm._NormBase,
    nn.GroupNorm,
    nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd,
)


def channels_last(mod: nn.Module, rank: int, previous: tuple[int, bool] | None) -> bool:
    """Where ``mod``'s output units are: by its type, else as the previous output of the same rank."""
    if isinstance(mod, CHANNELS_LAST):
        return True
    if isinstance(mod, CHANNELS_FIRST):
        return False
    if previous is not None and previous[0] == rank:
        return previous[1]  # elementwise modules (activations, dropout) keep their input's layout
    return rank <= 2


def bounds_of(mod: nn.Module) -> tuple[float | None, float | None]:
    """The output range of a bounded activation module (for the saturated fraction), else unbounded."""
    for cls, name in ((nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"), (nn.Softsign, "softsign")):
        if isinstance(mod, cls):
            return activation(name).bounds
    if isinstance(mod, nn.Hardsigmoid):
        return (0.0, 1.0)
    if isinstance(mod, nn.Hardtanh) and not isinstance(mod, nn.ReLU6):  # ReLU6's 0 side is "dead"
        return (float(mod.min_val), float(mod.max_val))
    return (None, None)


def first_tensor(out: Any) -> Tensor | None:
    """The first floating-point tensor in a (nested) tuple/list/dict output, depth-first."""
    if isinstance(out, Tensor):
        return out if out.is_floating_point() else None
    items = out.values() if isinstance(out, dict) else out if isinstance(out, list | tuple) else ()
    for item in items:
        found = first_tensor(item)
        if found is not None:
            return found
    return None


def units_view(t: Tensor, channels_last: bool) -> Tensor:
    """``t`` as ``(1, N, C)`` with the units ``C`` last (``stats``' single-model layout)."""
    if t.dim() == 0:
        return t.reshape(1, 1, 1)
    if t.dim() == 1:
        return t.reshape(1, -1, 1)  # (1, B, 1)
    if t.dim() == 2 or channels_last:  # sizes spelled out: "-1" is ambiguous for a zero-size output
        return t.reshape(1, math.prod(t.shape[:-1]), t.shape[-1])  # (1, B * ..., C)
    moved = t.movedim(1, -1)  # (B, *spatial, C)
    return moved.reshape(1, math.prod(moved.shape[:-1]), t.shape[1])  # (1, B * spatial, C)


@dataclass
class Call:
    """Scalars recorded for one call of one module (mutable while the pass runs)."""

    module: str
    call: int
    type: str
    shape: tuple[int, ...]
    units: int
    mean: float
    std: float
    signal_std: float | None
    zero_fraction: float
    dead_fraction: float
    saturated_fraction: float | None
    nonfinite: int
    grad_std: float | None = None
    grad_norm: float | None = None
    grad_nonfinite: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def summarise(name: str, call: int, mod: nn.Module, t: Tensor, last: bool = False) -> Call:
    """Per-call statistics of the output ``t`` of ``mod``, units last if ``last`` (no tensor is kept)."""
    with torch.no_grad():
        u = units_view(t.detach(), last)  # (1, N, C)
        m = stats.moments(u, bounds_of(mod))
        signal: float | None = None
        if u.shape[1] >= 2:
            _, per_unit = stats.finite_mean_std(u[0].transpose(0, 1))  # (C,)
            ok = per_unit[torch.isfinite(per_unit)]
            signal = float(ok.pow(2).mean().sqrt()) if ok.numel() else math.nan
        sat = None if m.saturated_fraction is None else float(m.saturated_fraction[0])
        return Call(
            module=name,
            call=call,
            type=type(mod).__name__,
            shape=tuple(t.shape),
            units=int(u.shape[2]),
            mean=float(m.mean[0]),
            std=float(m.std[0]),
            signal_std=signal,
            zero_fraction=float(m.zero_fraction[0]),
            dead_fraction=float(m.dead_fraction[0]),
            saturated_fraction=sat,
            nonfinite=int(m.nonfinite[0]),
        )


class Recorder:
    """Context manager recording :class:`Call` s for ``model``'s modules; removes all hooks on exit."""

    def __init__(self, model: nn.Module, *, containers: bool = False, bins: int = 0) -> None:
        self.model = model
        self.containers = containers
        self.bins = bins
        self.calls: list[Call] = []
        self.handles: list[RemovableHandle] = []  #: tensor hooks (the gradients of recorded outputs)
        self.module_handles: list[RemovableHandle] = []
        self._count: dict[str, int] = {}
        self._layout: tuple[int, bool] | None = None  # (rank, channels last) of the previous output

    def __enter__(self) -> Recorder:
        try:
            for name, mod in self.model.named_modules():
                if self.containers or next(mod.children(), None) is None:
                    self.module_handles.append(mod.register_forward_hook(self._forward_hook(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every module and tensor hook this recorder registered."""
        self.release_modules()
        while self.handles:
            self.handles.pop().remove()

    def release_modules(self) -> None:
        """Remove the module hooks (record no further calls); the gradient hooks stay until :meth:`remove`."""
        while self.module_handles:
            self.module_handles.pop().remove()

    def _forward_hook(self, name: str) -> Any:
        def hook(mod: nn.Module, args: Any, output: Any) -> None:
            t = first_tensor(output)
            if t is None:
                return
            self._count[name] = self._count.get(name, 0) + 1
            last = channels_last(mod, t.dim(), self._layout)
            self._layout = (t.dim(), last)
            rec = summarise(name or "(model)", self._count[name], mod, t, last)
            if self.bins:
                rec.extra["histogram"] = histogram(t, self.bins)
            self.calls.append(rec)
            if t.requires_grad:
                self.handles.append(t.register_hook(_grad_hook(rec, self.bins)))  # type: ignore[no-untyped-call]

        return hook


def _grad_hook(rec: Call, bins: int = 0) -> Any:
    def hook(grad: Tensor) -> None:
        with torch.no_grad():
            g = grad.detach().unsqueeze(0).double()  # (1, ...): converted once, for all three
            _, std = stats.finite_mean_std(g)
            finite = stats.surely_finite(g)
            rec.grad_std = float(std[0])
            rec.grad_nonfinite = 0 if finite else int(stats.nonfinite(g)[0])
            b = max(grad.shape[0], 1) if grad.dim() else 1
            rows = g.reshape(b, grad.numel() // b)  # (B, features)
            sq = rows * rows  # (B, features)
            if not finite:
                sq = torch.where(torch.isfinite(rows), sq, torch.zeros_like(rows))
            rec.grad_norm = float(sq.sum(dim=1).mean().sqrt())  # the rows' norms, root-mean-squared
            if bins:
                rec.extra["grad_histogram"] = histogram(grad, bins)

    return hook


@contextmanager
def frozen_buffers(model: nn.Module) -> Iterator[None]:
    """Restore every buffer (BatchNorm running statistics, counters) on exit: a pass leaves no trace."""
    saved = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)
