"""Fans of a weight tensor.

Linear weights are ``(out, in)``; ConvNd weights are ``(out, in / groups, *kernel)``. With
``receptive = prod(kernel)``: ``fan_in = (in / groups) * receptive`` and ``fan_out = out * receptive``
-- the same convention as ``torch.nn.init._calculate_fan_in_and_fan_out``. A stacked weight with a
leading model axis ``(M, out, in)`` passes ``model_axis=True`` so that axis is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from ..core.errors import InitlabError

FanMode = Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]


def fans(shape: Sequence[int], *, model_axis: bool = False) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of this shape; needs at least 2 dims (after the model axis)."""
    dims = tuple(int(d) for d in shape)
    if model_axis:
        dims = dims[1:]
    if len(dims) < 2:
        raise InitlabError(
            f"fan_in/fan_out need a weight with at least 2 dims (out, in, *kernel); got shape {dims}"
        )
    receptive = math.prod(dims[2:])
    return dims[1] * receptive, dims[0] * receptive


def fan(shape: Sequence[int], mode: FanMode) -> float:
    """The fan a variance-scaling rule divides by: ``fan_in``, ``fan_out``, their mean or geometric mean."""
    fan_in, fan_out = fans(shape)
    if mode == "fan_in":
        return float(fan_in)
    if mode == "fan_out":
        return float(fan_out)
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    if mode == "fan_geo_avg":
        return math.sqrt(fan_in * fan_out)
    raise InitlabError(f"unknown mode {mode!r}; use fan_in, fan_out, fan_avg or fan_geo_avg")
