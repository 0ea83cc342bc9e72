"""The bootstrap interval of a mean: against scipy's, its coverage, its seeds and its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps

from initlab.measure import bootstrap_mean


def test_matches_scipy_percentile_bootstrap() -> None:
    x = np.random.default_rng(1).normal(0.9, 0.02, size=12)
    ours = bootstrap_mean(x.tolist(), generator=torch.Generator().manual_seed(0), resamples=20000)
    ref = sps.bootstrap((x,), np.mean, n_resamples=20000, method="percentile", random_state=0)
    assert ours.mean == pytest.approx(float(x.mean()), abs=1e-15)
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert abs(ours.low - ref.confidence_interval.low) < 0.03 * width
    assert abs(ours.high - ref.confidence_interval.high) < 0.03 * width


def test_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2)
    g = torch.Generator().manual_seed(3)
    hits = 0
    for _ in range(300):
        iv = bootstrap_mean(rng.normal(5.0, 1.0, size=20).tolist(), generator=g, resamples=1000)
        hits += iv.low <= 5.0 <= iv.high
    assert 0.88 <= hits / 300 <= 0.99  # the percentile bootstrap under-covers a little at n = 20
    narrow = bootstrap_mean(rng.normal(5.0, 1.0, size=20).tolist(), generator=g, level=0.5)
    wide = bootstrap_mean(rng.normal(5.0, 1.0, size=20).tolist(), generator=g, level=0.99)
    assert narrow.high - narrow.low < wide.high - wide.low


def test_same_generator_same_interval_and_global_rng_untouched() -> None:
    state = torch.get_rng_state()
    a = bootstrap_mean([1.0, 2.0, 4.0, 3.0, 7.0, 2.5], generator=torch.Generator().manual_seed(7))
    b = bootstrap_mean([1.0, 2.0, 4.0, 3.0, 7.0, 2.5], generator=torch.Generator().manual_seed(7))
    c = bootstrap_mean([1.0, 2.0, 4.0, 3.0, 7.0, 2.5], generator=torch.Generator().manual_seed(8))
    assert a == b and (a.low, a.high) != (c.low, c.high)
    assert torch.equal(torch.get_rng_state(), state)


def test_non_finite_values_are_dropped_and_counted() -> None:
    g = torch.Generator().manual_seed(0)
    iv = bootstrap_mean([0.5, math.nan, 0.7, math.inf], generator=g)
    assert (iv.n, iv.dropped, iv.mean) == (2, 2, pytest.approx(0.6))
    one = bootstrap_mean([0.3, math.nan], generator=g)
    assert (one.low, one.mean, one.high) == (0.3, 0.3, 0.3)
    assert math.isnan(bootstrap_mean([math.nan], generator=g).mean)
