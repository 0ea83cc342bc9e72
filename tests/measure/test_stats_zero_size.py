"""Issue 16: statistics of zero-size outputs are NaN (no entries), never a crash or a warning."""

from __future__ import annotations

import math

import pytest
import torch

from initlab.measure import stats, units_view


@pytest.mark.parametrize("shape", [(1, 5, 0), (1, 0, 3), (2, 0)])
def test_moments_of_an_empty_tensor_are_nan(shape: tuple[int, ...]) -> None:
    mean, std = stats.finite_mean_std(torch.empty(shape))  # warnings are errors in the suite
    assert all(math.isnan(float(v)) for v in (*mean, *std))
    assert stats.nonfinite(torch.empty(shape)).tolist() == [0] * shape[0]


@pytest.mark.parametrize(("shape", "last"), [((256, 0), False), ((8, 0, 5, 5), False), ((8, 3, 0), True)])
def test_units_view_of_a_zero_size_output(shape: tuple[int, ...], last: bool) -> None:
    u = units_view(torch.empty(shape), last)
    assert u.dim() == 3 and u.numel() == 0
