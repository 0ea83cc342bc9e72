"""How an ensemble takes a training step: the backend protocol, and the divergence guard's tensors.

The training loop (:func:`initlab.train.train`) is written once over :class:`Backend`:

* ``step(x, y, observe)`` -- one optimisation step of every model on the shared batch ``x: (B, ...)``,
  ``y: (B,)``; returns the per-model losses ``(M,)`` (mean cross-entropy, on the device) with every
  parameter updated. ``observe(loss)``, if given, is called after the backward pass and before
  the update with this step's losses, and with the ensemble's ``params`` holding this step's
  weights and their ``.grad`` the gradients (model ``m``'s is that of its own mean loss);
* ``evaluate(x, y, batch)`` -- summed cross-entropy ``(M,)`` float64 and correct predictions ``(M,)``
  int64 on the device, in evaluation mode (BatchNorm's running statistics, no dropout);
* ``finite()`` -- ``(M,)`` bool on the device: are all of model ``m``'s parameters finite (no host
  sync: it is a device tensor the loop combines with others);
* ``snapshot(keep)`` -- copy the models where ``keep: (M,)`` is True into the saved copy
  (parameters, per-model buffers and the optimizer state; ``torch.where`` on the device, every step);
* ``restore(keep)`` -- put the saved copy back into the models where ``keep`` is False (called when
  the loop reads the losses, only once a model has diverged);
* ``close()`` -- leave the trained parameters in the ensemble.

Two backends implement it: :class:`~initlab.train._autograd.AutogradBackend` (the default: any
module, any device, ``torch.optim``) and :class:`~initlab.train._fastpath.EngineBackend` (dense
MLPs on the CPU, the hand-written engine), chosen by :func:`initlab.train.trainer.make_backend`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import torch
from torch import Tensor

#: ``observe(loss)``: see :class:`Backend`.
Observe = Callable[[Tensor], None]
#: The backends :func:`initlab.train.train` can be asked for (``"auto"`` chooses).
BACKENDS: tuple[str, ...] = ("auto", "autograd", "engine")


class Backend(Protocol):
    """What the training loop needs from a way of stepping M models at once (see the module doc)."""

    name: str
    M: int
    device: torch.device
    dtype: torch.dtype  #: of the parameters

    def step(self, x: Tensor, y: Tensor, observe: Observe | None = None) -> Tensor: ...

    def evaluate(self, x: Tensor, y: Tensor, batch: int) -> tuple[Tensor, Tensor]: ...

    def finite(self) -> Tensor: ...

    def snapshot(self, keep: Tensor) -> None: ...

    def restore(self, keep: Tensor) -> None: ...

    def close(self) -> None: ...


def _per_model(keep: Tensor, t: Tensor) -> Tensor:
    return keep.view(-1, *([1] * (t.dim() - 1)))  # (M, 1, ...)


def models_finite(tensors: Sequence[Tensor], M: int) -> Tensor:
    """``(M,)`` bool: every entry of model ``m`` in ``tensors`` (each ``(M, ...)``) is finite.

    One read pass per tensor: model ``m``'s sum is finite when its entries are, and not when one is
    NaN or infinite. (A sum can also overflow: weights whose sum exceeds the dtype's range, about
    3e38 in float32, count as non-finite -- a model that far gone has diverged anyway.)
    """
    sums = [t.detach().reshape(M, -1).sum(1) for t in tensors]  # each (M,)
    if not sums:
        return torch.ones(M, dtype=torch.bool)
    return torch.isfinite(torch.stack(sums)).all(0)  # (M,)


class Saved:
    """A masked copy of a changing list of per-model tensors (``(M, ...)`` each), for divergence freezing.

    ``take(tensors, keep)`` sets ``saved[m] = tensor[m]`` where ``keep[m]``; ``put(tensors, keep)``
    sets ``tensor[m] = saved[m]`` where not ``keep[m]``. A tensor seen for the first time (optimizer
    state is created at the first step) starts from zeros in the copy: the state before any step.
    """

    def __init__(self) -> None:
        self.saved: list[Tensor] = []

    def _grow(self, tensors: Sequence[Tensor]) -> None:
        for t in tensors[len(self.saved) :]:
            self.saved.append(torch.zeros_like(t, memory_format=torch.contiguous_format))

    @torch.no_grad()
    def take(self, tensors: Sequence[Tensor], keep: Tensor) -> None:
        self._grow(tensors)
        for t, s in zip(tensors, self.saved, strict=False):
            torch.where(_per_model(keep, t), t, s, out=s)

    @torch.no_grad()
    def put(self, tensors: Sequence[Tensor], keep: Tensor) -> None:
        self._grow(tensors)
        idx = torch.nonzero(~keep).flatten()  # the models to put back (a host sync: called at reads only)
        if len(idx) == 0:
            return
        for t, s in zip(tensors, self.saved, strict=False):
            t.index_copy_(0, idx, s.index_select(0, idx))
