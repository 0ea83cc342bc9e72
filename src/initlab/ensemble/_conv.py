"""Building blocks of the convolutional families: normalization by name, the plain conv stack.

Norms (``norm=``): ``none``; ``batch`` -- ``BatchNorm2d`` (Ioffe & Szegedy 2015; per-model running
statistics in an ensemble); ``layer`` -- ``GroupNorm(1, C)``, i.e. LayerNorm over ``(C, H, W)`` per
sample with a per-channel gain and bias (Ba et al. 2016, as used for conv nets); ``group`` --
``GroupNorm(gcd(C, 8), C)``: 8 groups when ``C`` is a multiple of 8 (Wu & He 2018 use 32 groups at
64 and more channels; at the small widths used here 8 keeps several channels per group), fewer
groups otherwise (one group, i.e. ``layer``, for an odd ``C``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from torch import nn

Norm = Literal["none", "batch", "layer", "group"]
Pool = Literal["max", "avg", "none"]


def norm2d(kind: Norm, channels: int) -> nn.Module:
    """The normalization layer ``kind`` over ``channels`` (``nn.Identity`` for ``none``)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(channels, 8), channels)
    return nn.Identity()


def pool_after(depth: int) -> set[int]:
    """Conv layers (1-based) followed by a 2x2 pooling: the ends of the first two of three stages.

    >>> sorted(pool_after(6)), sorted(pool_after(2)), sorted(pool_after(1))
    ([2, 4], [1], [])
    """
    return {math.ceil(depth * k / 3) for k in (1, 2)} - {depth}


def plain_cnn(
    in_shape: tuple[int, int, int],
    classes: int,
    act: Callable[[], nn.Module],
    *,
    depth: int,
    channels: int,
    kernel: int,
    norm: Norm,
    pool: Pool,
) -> nn.Sequential:
    """``depth`` x [Conv(k, padding k//2) -> norm -> act], 2x2 ``pool`` after layers :func:`pool_after`
    while the image is at least 2x2, then global average pooling and a Linear classifier.

    Shapes: ``(B, C*H*W) -> (B, C, H, W) -> (B, channels, H', W') -> (B, channels) -> (B, classes)``.
    Conv biases only without a norm (a norm's bias replaces it).
    """
    c, h, w = in_shape
    mods: list[nn.Module] = [nn.Unflatten(1, (c, h, w))]
    stops = pool_after(depth)
    for layer in range(1, depth + 1):
        mods.append(nn.Conv2d(c, channels, kernel, padding=kernel // 2, bias=norm == "none"))
        if norm != "none":
            mods.append(norm2d(norm, channels))
        mods.append(act())
        c = channels
        if pool != "none" and layer in stops and min(h, w) >= 2:
            mods.append(nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2))
            h, w = h // 2, w // 2
    mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*mods)
