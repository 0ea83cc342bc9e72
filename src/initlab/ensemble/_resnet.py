"""CIFAR-style residual networks (He et al. 2016, section 4.2) for small images such as 28x28.

``depth = 6n + 2`` weighted layers: a 3x3 stem conv, three stages of ``n`` blocks of two 3x3 convs
with ``width``, ``2 width``, ``4 width`` channels (the first block of stages 2 and 3 halves the
image: 28 -> 14 -> 7), and the Linear classifier after global average pooling. Shortcuts are
parameter-free (the paper's option A: identity, or a stride-2 subsample with zero-padded channels
where the shape changes), so ``depth`` counts every weighted layer.

* ``block="basic"`` (He et al. 2016a): ``relu(x + norm(conv(relu(norm(conv(x))))))``;
* ``block="preact"`` (He et al. 2016b, "Identity mappings"): ``x + conv(relu(norm(conv(relu(norm(x))))))``
  with a final norm + activation before pooling.

Each block is marked ``initlab_block``; its second conv ``initlab_residual`` (the branch output) and,
for the basic block with a norm, the norm after it ``initlab_residual_norm``
(:func:`initlab.schemes.branches`). The activation is the family's ``activation``.

Options for training without normalization:

* ``fixup=True`` (Zhang, Dauphin & Ma 2019; needs ``norm="none"``): Fixup's scalar biases before each
  conv and activation and a scalar multiplier on the branch (learnable; biases start at 0, the
  multiplier at 1) -- ``x + scale conv2(act(conv1(x + b1a) + b1b) + b2a) + b2b`` -- and a scalar bias
  before the classifier; the convs have no bias. Pair it with the ``fixup`` scheme.
* ``gate=True`` (SkipInit, De & Smith 2020; ReZero, Bachlechner et al. 2020): a learnable scalar
  ``alpha`` on each branch, ``x + alpha f(x)``, started at 0, so every block starts as the identity
  whatever scheme draws the convs. Its module is marked ``initlab_gate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import InitlabError
from ..schemes import mark_block, mark_gate, mark_residual, mark_residual_norm
from ._conv import Norm, norm2d

Block = Literal["basic", "preact"]


def blocks_per_stage(depth: int, spec: str) -> int:
    """``n`` for ``depth = 6n + 2``; any other depth is an ``InitlabError`` listing valid ones."""
    if depth < 8 or (depth - 2) % 6:
        below = max(8, depth - 2 - (depth - 2) % 6 + 2)
        near = f"{below} or {below + 6}" if depth > 8 else "8"
        raise InitlabError(
            f"depth={depth} in {spec!r}: a resnet has depth = 6n+2 weighted layers, n >= 1 blocks per "
            f"stage (8, 14, 20, 26, 32, ..., 56, ..., 110); nearest: {near}"
        )
    return (depth - 2) // 6


class Shortcut(nn.Module):
    """Option A: ``x[:, :, ::s, ::s]`` with the new channels zero-padded (no parameters)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.extra = cout - cin
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]  # (B, Cin, H/s, W/s)
        if self.extra:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra))  # (B, Cout, H/s, W/s)
        return x

    def extra_repr(self) -> str:
        return f"stride={self.stride}, zero_channels={self.extra}"


class Scalar(nn.Module):
    """One learnable scalar ``value`` (shape ``(1,)``), started at ``init``: Fixup's biases and
    multiplier, SkipInit's gate. ``mode="add"`` adds it, ``"mul"`` multiplies by it."""

    def __init__(self, init: float, mode: Literal["add", "mul"]) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.full((1,), float(init)))
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        return x + self.value if self.mode == "add" else x * self.value

    def extra_repr(self) -> str:
        return self.mode


def _bias(on: bool) -> nn.Module:
    return Scalar(0.0, "add") if on else nn.Identity()


class _Options(nn.Module):
    """Fixup's scalars and the SkipInit gate of one block (identities when off)."""

    def __init__(self, fixup: bool, gate: bool) -> None:
        super().__init__()
        self.bias1a, self.bias1b, self.bias2a = _bias(fixup), _bias(fixup), _bias(fixup)
        self.scale = Scalar(1.0, "mul") if fixup else nn.Identity()
        self.bias2b = _bias(fixup)
        self.gate = mark_gate(Scalar(0.0, "mul")) if gate else nn.Identity()


class BasicBlock(nn.Module):
    """``act(x + norm2(conv2(act(norm1(conv1(x))))))``; ``conv2`` ends the residual branch."""

    def __init__(
        self,
        cin: int,
        cout: int,
        stride: int,
        norm: Norm,
        act: Callable[[], nn.Module],
        fixup: bool = False,
        gate: bool = False,
    ) -> None:
        super().__init__()
        bias = norm == "none" and not fixup
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias)
        self.norm1 = norm2d(norm, cout)
        self.act1 = act()
        self.conv2 = mark_residual(nn.Conv2d(cout, cout, 3, padding=1, bias=bias))
        self.norm2 = mark_residual_norm(norm2d(norm, cout)) if norm != "none" else nn.Identity()
        self.shortcut = Shortcut(cin, cout, stride)
        self.act2 = act()
        self.opt = _Options(fixup, gate)
        mark_block(self)

    def forward(self, x: Tensor) -> Tensor:
        o = self.opt
        h = o.bias1b(self.act1(self.norm1(self.conv1(o.bias1a(x)))))  # (B, Cout, H', W')
        f = o.bias2b(o.scale(self.norm2(self.conv2(o.bias2a(h)))))  # (B, Cout, H', W')
        out: Tensor = self.act2(self.shortcut(x) + o.gate(f))  # (B, Cout, H', W')
        return out


class PreActBlock(nn.Module):
    """``x + conv2(act(norm2(conv1(act(norm1(x))))))``; ``conv2`` ends the residual branch."""

    def __init__(
        self,
        cin: int,
        cout: int,
        stride: int,
        norm: Norm,
        act: Callable[[], nn.Module],
        fixup: bool = False,
        gate: bool = False,
    ) -> None:
        super().__init__()
        bias = norm == "none" and not fixup
        self.norm1 = norm2d(norm, cin)
        self.act1 = act()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias)
        self.norm2 = norm2d(norm, cout)
        self.act2 = act()
        self.conv2 = mark_residual(nn.Conv2d(cout, cout, 3, padding=1, bias=bias))
        self.shortcut = Shortcut(cin, cout, stride)
        self.opt = _Options(fixup, gate)
        mark_block(self)

    def forward(self, x: Tensor) -> Tensor:
        o = self.opt
        h = o.bias1b(self.conv1(o.bias1a(self.act1(self.norm1(x)))))  # (B, Cout, H', W')
        f = o.bias2b(o.scale(self.conv2(o.bias2a(self.act2(self.norm2(h))))))  # (B, Cout, H', W')
        out: Tensor = self.shortcut(x) + o.gate(f)  # (B, Cout, H', W')
        return out


class ResNet(nn.Module):
    """Stem, three stages of residual blocks, global average pooling, Linear (see the module doc).

    ``(B, C*H*W) -> (B, C, H, W) -> (B, w, H, W) -> (B, 2w, H/2, W/2) -> (B, 4w, H/4, W/4) -> (B, classes)``
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        classes: int,
        act: Callable[[], nn.Module],
        *,
        blocks: int,
        width: int,
        block: Block,
        norm: Norm,
        fixup: bool = False,
        gate: bool = False,
    ) -> None:
        super().__init__()
        c = in_shape[0]
        self.unflatten = nn.Unflatten(1, in_shape)
        self.stem = nn.Conv2d(c, width, 3, padding=1, bias=norm == "none")
        preact = block == "preact"
        self.stem_norm = nn.Identity() if preact else norm2d(norm, width)
        self.stem_act = nn.Identity() if preact else act()
        kind = PreActBlock if preact else BasicBlock
        layers: list[nn.Module] = []
        cin = width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for i in range(blocks):
                stride = 2 if stage > 0 and i == 0 else 1
                layers.append(kind(cin, cout, stride, norm, act, fixup, gate))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.final_norm = norm2d(norm, cin) if preact else nn.Identity()
        self.final_act = act() if preact else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc_bias = _bias(fixup)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem_act(self.stem_norm(self.stem(self.unflatten(x))))  # (B, w, H, W)
        h = self.final_act(self.final_norm(self.blocks(h)))  # (B, 4w, H/4, W/4)
        out: Tensor = self.fc(self.fc_bias(self.flatten(self.pool(h))))  # (B, classes)
        return out
