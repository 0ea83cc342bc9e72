"""The mean of a few replicates with a percentile-bootstrap confidence interval (Efron & Tibshirani 1993).

Over ``n`` values ``x``: ``B`` resamples of size ``n`` drawn with replacement, each resample's mean
``m_b``; the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` empirical quantiles of
``m_b``. Randomness only from the ``generator`` given. Non-finite values (a diverged model) are left
out and counted; with one finite value the interval is that value, with none it is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..core.errors import InitlabError


@dataclass(frozen=True)
class Interval:
    """``mean`` of the ``n`` finite values and its bootstrap interval ``[low, high]`` at ``level``."""

    mean: float
    low: float
    high: float
    n: int  #: finite values used
    dropped: int  #: non-finite values left out
    level: float = 0.95


def bootstrap_mean(
    values: Sequence[float],
    *,
    generator: torch.Generator,
    resamples: int = 2000,
    level: float = 0.95,
) -> Interval:
    """The mean of ``values`` and its percentile-bootstrap interval (see the module docstring).

    >>> g = torch.Generator().manual_seed(0)
    >>> iv = bootstrap_mean([0.90, 0.92, 0.91, 0.95], generator=g)
    >>> round(iv.mean, 3), iv.low <= iv.mean <= iv.high
    (0.92, True)
    """
    if not 0.0 < level < 1.0:
        raise InitlabError(f"level must be in (0, 1), got {level}")
    x = torch.tensor([float(v) for v in values], dtype=torch.float64)  # (n,)
    finite = x[torch.isfinite(x)]  # (k,)
    k, dropped = int(finite.numel()), int(x.numel() - finite.numel())
    if k == 0:
        return Interval(math.nan, math.nan, math.nan, 0, dropped, level)
    mean = float(finite.mean())
    if k == 1:
        return Interval(mean, mean, mean, 1, dropped, level)
    idx = torch.randint(0, k, (resamples, k), generator=generator)  # (B, k)
    means = finite[idx].mean(dim=1)  # (B,)
    q = torch.tensor([(1.0 - level) / 2.0, (1.0 + level) / 2.0], dtype=torch.float64)
    low, high = torch.quantile(means, q).tolist()
    return Interval(mean, low, high, k, dropped, level)
