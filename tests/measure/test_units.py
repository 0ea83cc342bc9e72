"""Distinct-unit counts and effective rank on hand-built layers."""

from __future__ import annotations

import torch

from initlab.measure.units import distinct_units, effective_rank


def test_distinct_units_counts() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.empty(3, 10, 6)
    w[0] = 0.5  # constant: one unit
    w[1] = torch.randn(10, 6, generator=g)  # random: all distinct
    w[2] = 0.5
    w[2, 3, 1] += 0.01  # one unit perturbed by hand: two kinds of unit
    assert distinct_units(w).tolist() == [1, 10, 2]


def test_tolerance_scales_with_magnitude() -> None:
    w = torch.full((2, 5, 4), 1e3)
    w[0, 1] += 1e-3  # relative 1e-6: round-off, not a different unit
    w[1, 1] += 1.0  # relative 1e-3: a different unit
    assert distinct_units(w).tolist() == [1, 2]
    assert distinct_units(w * 1e-6).tolist() == [1, 2]


def test_bias_counts_too() -> None:
    w = torch.zeros(1, 4, 3)
    b = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    assert distinct_units(w).item() == 1
    assert distinct_units(w, b).item() == 2


def test_effective_rank() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 1, generator=g)
    same = x.expand(64, 16)  # every unit carries the same signal
    rand = torch.randn(64, 16, generator=g)
    r = effective_rank(torch.stack([same, rand, torch.zeros(64, 16)]))
    assert abs(float(r[0]) - 1.0) < 1e-6
    assert 12 < float(r[1]) <= 16
    assert float(r[2]) == 0.0
