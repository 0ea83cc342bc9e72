"""The network's main path: the repeated blocks whose outputs carry the signal (the residual stream).

A *block class* is a module class (not a plain ``nn.Sequential``/``nn.ModuleList``/``nn.ModuleDict``,
not a leaf, not the model itself) that holds a weight matrix (a parameter of 2 or more dims: Linear,
ConvNd, Hugging Face's ``Conv1D``, attention projections) and has at least ``MIN_BLOCKS`` (3)
instances in the model: a ResNet's ``Bottleneck``, a ViT's ``EncoderBlock``, a Mixer's
``MixerBlock``, a transformer's ``DecoderLayer``. A class is *dominated* when most of its instances sit
inside instances of another block class (a Mixer's ``Mlp`` inside its ``MixerBlock``, an attention
module inside its transformer layer); the main path is the class, among those not dominated, with
the most instances (ties: the outermost), and its points are its instances' outputs in call order.
A model with no block class (a plain MLP or CNN) has no block path; the findings then use the
weighted layers (:mod:`._findings`).

:class:`BlockRecorder` hooks only those modules and keeps scalars per call: the *signal std* of the
output (per feature -- every index but the leading batch axis -- the std across the batch,
root-mean-squared over the features; layout-free, so a ``(B, C, H, W)`` and a ``(B, T, C)`` block are
treated alike) and the gradient norm per sample (as :mod:`initlab.measure.hooks`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ..measure import first_tensor

MIN_BLOCKS = 3  #: instances of a module class that make it a repeated block
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def blocks(model: nn.Module) -> list[str]:
    """The names of the main path's block modules (``[]`` when the model has no block class)."""
    mods = dict(model.named_modules())
    groups: dict[type[nn.Module], list[str]] = {}
    for name, mod in mods.items():
        if not name or type(mod) in _CONTAINERS or next(mod.children(), None) is None:
            continue
        if any(p.dim() >= 2 for p in mod.parameters()):  # holds a weight matrix (Linear, Conv1D, ...)
            groups.setdefault(type(mod), []).append(name)
    cands = {cls: names for cls, names in groups.items() if len(names) >= MIN_BLOCKS}

    def inside(name: str, others: list[str]) -> bool:
        return any(name.startswith(o + ".") for o in others)

    free = [
        (cls, names)
        for cls, names in cands.items()
        if not any(
            other is not cls and 2 * sum(inside(n, onames) for n in names) > len(names)
            for other, onames in cands.items()
        )
    ]
    if not free:
        return []
    best = max(free, key=lambda cn: (len(cn[1]), -min(n.count(".") for n in cn[1])))
    return list(best[1])


@dataclass
class Point:
    """One call of one block: its output's signal std and gradient norm per sample (``None`` if none)."""

    name: str
    signal: float
    grad_norm: float | None = None


def signal_std(t: Tensor) -> float:
    """Per feature, the std across the leading (batch) axis; root-mean-squared over the features."""
    x = t.detach()
    if x.dim() == 0 or x.shape[0] < 2 or x.numel() == 0:
        return float(x.double().std(unbiased=False)) if x.numel() else math.nan
    var = x.reshape(x.shape[0], -1).double().var(dim=0, unbiased=False)  # (features,)
    return float(var.mean().sqrt())


class BlockRecorder:
    """Context manager hooking ``names`` (block modules) of ``model``; removes every hook on exit."""

    def __init__(self, model: nn.Module, names: list[str]) -> None:
        self.model = model
        self.names = names
        self.points: list[Point] = []
        self.handles: list[RemovableHandle] = []
        self._count: dict[str, int] = {}

    def __enter__(self) -> BlockRecorder:
        mods = dict(self.model.named_modules())
        try:
            for name in self.names:
                self.handles.append(mods[name].register_forward_hook(self._hook(name)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    def remove(self) -> None:
        while self.handles:
            self.handles.pop().remove()

    def _hook(self, name: str) -> Any:
        def hook(mod: nn.Module, args: Any, output: Any) -> None:
            t = first_tensor(output)
            if t is None:
                return
            k = self._count[name] = self._count.get(name, 0) + 1
            with torch.no_grad():
                point = Point(name if k == 1 else f"{name}#{k}", signal_std(t))
            self.points.append(point)
            if t.requires_grad:
                self.handles.append(t.register_hook(_grad_hook(point)))  # type: ignore[no-untyped-call]

        return hook


def _grad_hook(point: Point) -> Any:
    def hook(grad: Tensor) -> None:
        with torch.no_grad():
            b = max(grad.shape[0], 1) if grad.dim() else 1
            rows = grad.detach().reshape(b, grad.numel() // b).double()  # (B, features)
            sq = torch.where(torch.isfinite(rows), rows * rows, torch.zeros_like(rows)).sum(dim=1)  # (B,)
            point.grad_norm = float(sq.mean().sqrt())

    return hook
