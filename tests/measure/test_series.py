"""The one moving average and the one spread convention, against slow, obvious loops."""

from __future__ import annotations

import math
import statistics

import pytest
import torch

from initlab.measure.series import as_series, final_mean, first_at_most, moving_average, sample_std


def _slow_trailing(xs: list[float], w: int) -> list[float]:
    out = []
    for t in range(len(xs)):
        win = xs[max(0, t - w + 1) : t + 1]
        out.append(math.nan if any(not math.isfinite(v) for v in win) else math.fsum(win) / len(win))
    return out


@pytest.mark.parametrize("window", [1, 2, 5, 25, 400])
def test_moving_average_matches_a_loop(window: int) -> None:
    g = torch.Generator().manual_seed(3)
    xs = (torch.rand(300, generator=g, dtype=torch.float64) * 3).tolist()
    xs[120] = math.nan
    got = moving_average(torch.tensor(xs, dtype=torch.float64), window).tolist()
    want = _slow_trailing(xs, window)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_moving_average_is_trailing_not_centred() -> None:
    x = torch.tensor([0.0, 0.0, 0.0, 9.0, 0.0])
    got = moving_average(x, 3).tolist()
    assert got == [0.0, 0.0, 0.0, 3.0, 3.0]  # a centred average would already be 3 at index 2
    assert moving_average(torch.ones(4, 2), 2).shape == (4, 2)
    with pytest.raises(ValueError, match="window"):
        moving_average(x, 0)


def test_first_at_most_is_where_the_curve_crosses() -> None:
    losses = [2.0] * 30 + [0.3] * 30
    t = first_at_most(losses, 0.5, 10)
    curve = moving_average(as_series(losses), 10)
    assert t is not None and float(curve[t - 1]) <= 0.5 < float(curve[t - 2])
    assert first_at_most([0.1, 0.1], 0.5, 3) is None  # never a full window
    assert first_at_most([0.1, 0.1, 0.1, None], 0.5, 3) == 3
    assert first_at_most([2.0, None, 0.1, 0.1], 0.5, 1) is None  # diverged before


def test_final_mean_is_the_last_point_of_the_curve() -> None:
    xs = [5.0, 4.0, 3.0, 2.0]
    assert final_mean(xs, 3) == float(moving_average(as_series(xs), 3)[-1]) == 3.0
    assert final_mean([], 3) is None and final_mean([1.0, None], 1) is None


def test_sample_std_uses_bessels_correction() -> None:
    xs = [97.1, 97.4, 96.9, 97.8]
    assert sample_std(xs) == pytest.approx(statistics.stdev(xs), rel=1e-12)
    assert sample_std(xs) != pytest.approx(statistics.pstdev(xs), rel=1e-6)  # negative control
    assert sample_std([3.0]) == 0.0
    with pytest.raises(ValueError):
        sample_std([])


def test_a_huge_early_value_does_not_leak_rounding_error_into_later_windows() -> None:
    xs = [2.3, 2.5e12] + [2.3 - 1e-3 * t for t in range(400)]
    got = moving_average(torch.tensor(xs, dtype=torch.float64), 20).tolist()
    exact = _slow_trailing(xs, 20)
    assert max(abs(a - b) for a, b in zip(got[21:], exact[21:], strict=True)) < 1e-13
