"""A fixed-size histogram of one tensor's finite values, with the non-finite ones counted apart.

:func:`histogram` summarises any tensor (an activation, a gradient, a weight) in ``bins`` equal-width
bins spanning its finite range ``[min, max]``, plus the moments a histogram viewer shows beside the
bars (TensorBoard's ``HistogramProto``: ``min``, ``max``, ``num``, ``sum``, ``sum_squares``). Its
size is ``bins`` whatever the tensor's, so a long run keeps a bounded amount of it. NaN/Inf entries
never reach the bins (TensorBoard's own ``add_histogram`` fails on them): they are counted in
``nonfinite``. A tensor whose finite values are all equal gets one unit-wide range around the value;
one without finite values has ``num == 0`` and all-zero counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from . import stats


@dataclass(frozen=True)
class Histogram:
    """``counts[i]`` finite values in ``[edges[i], edges[i + 1])`` (the last bin closed); bins + 1 edges."""

    edges: tuple[float, ...]
    counts: tuple[float, ...]
    num: int  #: finite values (the sum of ``counts``)
    min: float
    max: float
    sum: float
    sum_squares: float
    nonfinite: int  #: NaN/Inf values left out

    @property
    def bins(self) -> int:
        return len(self.counts)


def histogram(t: Tensor, bins: int = 30) -> Histogram:
    """The histogram of ``t``'s finite values in ``bins`` equal bins over their range (two host syncs).

    All finite (the common case, told by the range: NaN and Inf reach ``aminmax``): each value's
    bin ``floor((x - min) / (max - min) * bins)`` (the maximum in the last bin) in ``t``'s dtype,
    counted by ``torch.bincount`` (faster than ``torch.histc`` on the CPU), sums accumulated in
    float64. Otherwise the finite values are masked out first, in float64, and binned by
    :func:`initlab.measure.stats.histograms`.

    >>> h = histogram(torch.tensor([0.0, 1.0, 1.0, 4.0, float("nan")]), bins=4)
    >>> h.counts, h.edges, h.nonfinite
    ((1.0, 2.0, 0.0, 1.0), (0.0, 1.0, 2.0, 3.0, 4.0), 1)
    >>> histogram(torch.tensor([0.0, 1.0, 1.0, 4.0]), bins=4).counts
    (1.0, 2.0, 0.0, 1.0)
    """
    if bins < 1:
        raise ValueError(f"a histogram needs at least one bin, got {bins}")
    with torch.no_grad():
        x = t.detach().reshape(t.numel())  # (N,)
        if not x.is_floating_point():
            x = x.double()
        if x.numel() == 0:
            edges = tuple(float(i) / bins for i in range(bins + 1))
            return Histogram(edges, (0.0,) * bins, 0, math.nan, math.nan, 0.0, 0.0, 0)
        lo, hi = (float(v) for v in torch.stack(torch.aminmax(x)).tolist())  # the first sync
        if math.isfinite(lo) and math.isfinite(hi):  # every value is finite
            a, b = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
            idx = x.sub(a).mul_(bins / (b - a)).to(torch.int32).clamp_(0, bins - 1)  # (N,), >= 0: floor
            counts_t = torch.bincount(idx, minlength=bins).double()  # (bins,)
            s = x.sum(dtype=torch.float64)
            ss = torch.linalg.vector_norm(x, dtype=torch.float64).square()
            packed = torch.cat([counts_t, torch.stack([s, ss])]).tolist()  # the second sync
            edges = (*(a + (b - a) * i / bins for i in range(bins)), b)
            return Histogram(
                edges, tuple(packed[:bins]), x.numel(), lo, hi, packed[bins], packed[bins + 1], 0
            )
        return _masked(x.double().reshape(1, x.numel()), bins)


def _masked(x: Tensor, bins: int) -> Histogram:
    """The slow path of :func:`histogram`: ``x: (1, N)`` float64 holding NaN or Inf."""
    ok = torch.isfinite(x)  # (1, N)
    big = torch.finfo(torch.float64).max
    lo = torch.where(ok, x, torch.full_like(x, big)).amin()
    hi = torch.where(ok, x, torch.full_like(x, -big)).amax()
    xz = torch.where(ok, x, torch.zeros_like(x))  # (1, N)
    packed = torch.stack([lo, hi, xz.sum(), (xz * xz).sum(), ok.sum().double()])  # (5,)
    vlo, vhi, s, ss, n = packed.tolist()
    num = int(n)
    nonfinite = x.shape[1] - num
    if num == 0:
        edges = tuple(float(i) / bins for i in range(bins + 1))
        return Histogram(edges, (0.0,) * bins, 0, math.nan, math.nan, 0.0, 0.0, nonfinite)
    a, b = (vlo - 0.5, vhi + 0.5) if vlo == vhi else (vlo, vhi)
    counts = stats.histograms(x, bins, a, b)[0].tolist()  # (bins,)
    edges = (*(a + (b - a) * i / bins for i in range(bins)), b)
    return Histogram(edges, tuple(counts), num, vlo, vhi, s, ss, nonfinite)


__all__ = ["Histogram", "histogram"]
