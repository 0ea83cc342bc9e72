"""Time series of a training run: the one moving average and the one spread-over-seeds convention.

Shared by the compare study (its summary and figure), the symmetry figure and the reproduce report,
so that a number in a table and the curve in a figure are the same quantity.

* **Moving average** (:func:`moving_average`): *trailing*, window ``w``,
  ``m[t] = mean(x[max(0, t - w + 1)], ..., x[t])`` -- the mean of the last ``w`` values up to and
  including ``t``, fewer at the start. A non-finite value poisons exactly the windows that contain it.
  The final loss of a run is ``m[T - 1]``, and "iterations to loss ``L``" is the first iteration
  count ``t >= w`` with ``m[t - 1] <= L`` (:func:`first_at_most`), so a curve crosses ``L`` where
  the report says it does.
* **Spread over seeds** (:func:`sample_std`): the sample standard deviation with Bessel's correction,
  ``sqrt(sum((x_i - mean)^2) / (n - 1))``, 0 for a single value; bands in figures span min to max.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor


def moving_average(values: Tensor, window: int) -> Tensor:
    """Trailing moving average along dim 0 of ``values: (T, ...)`` -> ``(T, ...)`` float64.

    The window shrinks at the start (``t < window`` averages ``t + 1`` values); a NaN or Inf makes
    every window that contains it NaN, and only those.

    >>> moving_average(torch.tensor([1.0, 3.0, 5.0, 7.0]), 2).tolist()
    [1.0, 2.0, 4.0, 6.0]
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    x = values.double()  # (T, ...)
    T = x.shape[0]
    bad = ~torch.isfinite(x)  # (T, ...)
    if T == 0 or window == 1:
        return torch.where(bad, math.nan, x)
    # each window summed on its own (a view, no copy): a huge loss early on cannot leak rounding
    # error into later windows, as a running or cumulative sum would
    pad = x.new_zeros((window - 1, *x.shape[1:]))  # (w-1, ...)
    z = torch.cat([pad, torch.where(bad, 0.0, x)]).unfold(0, window, 1)  # (T, ..., w)
    nb = torch.cat([pad, bad.double()]).unfold(0, window, 1).sum(-1)  # (T, ...)
    n = torch.arange(1, T + 1).clamp(max=window).double().view(-1, *([1] * (x.dim() - 1)))  # (T, 1...)
    return torch.where(nb > 0, math.nan, z.sum(-1) / n)


def as_series(values: Sequence[float | None]) -> Tensor:
    """A JSON list of numbers (``None`` for a non-finite one) as a float64 tensor ``(T,)``."""
    return torch.tensor([math.nan if v is None else float(v) for v in values], dtype=torch.float64)


def final_mean(values: Sequence[float | None], window: int) -> float | None:
    """The moving average at the last value: the mean of the last ``window`` values (None if any of
    them is not finite, or there are none).

    >>> final_mean([9.0, 1.0, 2.0], 2), final_mean([1.0, None], 5)
    (1.5, None)
    """
    if not values:
        return None
    v = float(moving_average(as_series(values), window)[-1])
    return v if math.isfinite(v) else None


def first_at_most(values: Sequence[float | None], target: float, window: int) -> int | None:
    """The first iteration count ``t >= window`` at which the moving average of the last ``window``
    values is at most ``target``; None if never, or if a non-finite value comes first (the model
    diverged).

    >>> first_at_most([3.0, 2.0, 0.4, 0.4, 0.4], 0.5, 2)
    4
    >>> first_at_most([3.0, None, 0.1], 0.5, 1) is None   # a non-finite loss: the model diverged
    True
    """
    x = as_series(values)  # (T,)
    bad = (~torch.isfinite(x)).nonzero()
    if len(bad):
        x = x[: int(bad[0])]
    m = moving_average(x, window)  # (T,)
    hits = (m[window - 1 :] <= target).nonzero()
    return int(hits[0]) + window if len(hits) else None


def sample_std(values: Sequence[float] | Tensor) -> float:
    """Sample standard deviation (Bessel's correction, ``n - 1``) of finite values; 0 for one value.

    >>> sample_std([1.0, 3.0]), sample_std([2.0])
    (1.4142135623730951, 0.0)
    """
    x = torch.as_tensor(values, dtype=torch.float64).flatten()  # (n,)
    if x.numel() == 0:
        raise ValueError("sample_std of no values")
    if x.numel() == 1:
        return 0.0
    return float(x.std(correction=1))
