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

    >>> h = histogram(torch.tensor([0.0, 1.0, 1.0, 4.0, float("nan")]), bins=4)
    >>> h.counts, h.edges, h.nonfinite
    ((1.0, 2.0, 0.0, 1.0), (0.0, 1.0, 2.0, 3.0, 4.0), 1)
    """
    if bins < 1:
        raise ValueError(f"a histogram needs at least one bin, got {bins}")
    with torch.no_grad():
        x = t.detach().reshape(1, t.numel()).double()  # (1, N)
        ok = torch.isfinite(x)  # (1, N)
        big = torch.finfo(torch.float64).max
        lo = torch.where(ok, x, torch.full_like(x, big)).amin() if x.numel() else x.new_zeros(())
        hi = torch.where(ok, x, torch.full_like(x, -big)).amax() if x.numel() else x.new_zeros(())
        xz = torch.where(ok, x, torch.zeros_like(x))  # (1, N)
        packed = torch.stack([lo, hi, xz.sum(), (xz * xz).sum(), ok.sum().double()])  # (5,)
        vlo, vhi, s, ss, n = packed.tolist()  # one sync
        num = int(n)
        nonfinite = t.numel() - num
        if num == 0:
            edges = tuple(float(i) / bins for i in range(bins + 1))
            return Histogram(edges, (0.0,) * bins, 0, math.nan, math.nan, 0.0, 0.0, nonfinite)
        a, b = (vlo - 0.5, vhi + 0.5) if vlo == vhi else (vlo, vhi)
        counts = stats.histograms(x, bins, a, b)[0].tolist()  # (bins,), the second sync
        edges = (*tuple(a + (b - a) * i / bins for i in range(bins)), b)
        return Histogram(edges, tuple(counts), num, vlo, vhi, s, ss, nonfinite)


__all__ = ["Histogram", "histogram"]
