"""core.quadrature: the one Gaussian-expectation rule, against closed forms and scipy, and its cache."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import integrate, special

from initlab.core import quadrature as quad


def _scipy(f, scale: float) -> float:  # type: ignore[no-untyped-def]
    """Reference ``E[f(scale z)]`` by adaptive quadrature, with the kinks at 0 and +-1/scale marked."""
    pts = [p for p in (-1.0 / scale, 0.0, 1.0 / scale) if abs(p) < 12]
    val, _ = integrate.quad(
        lambda z: f(scale * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -12, 12, points=pts, limit=400
    )
    return float(val)


@pytest.mark.parametrize("scale", [1e-3, 0.1, 1.0, 3.7, 50.0, 1e3])
def test_closed_forms_at_every_scale(scale: float) -> None:
    e = quad.gaussian_expectation
    assert e(lambda x: x * x, scale=scale) == pytest.approx(scale**2, rel=1e-12)
    assert e(lambda x: x**4, scale=scale) == pytest.approx(3 * scale**4, rel=1e-12)
    assert e(lambda x: torch.relu(x) ** 2, scale=scale) == pytest.approx(scale**2 / 2, rel=1e-12)
    assert e(lambda x: x.abs(), scale=scale) == pytest.approx(scale * math.sqrt(2 / math.pi), rel=1e-12)
    assert e(lambda x: (x > 0).double(), scale=scale) == pytest.approx(0.5, rel=1e-12)
    assert e(lambda x: torch.ones_like(x), scale=scale) == pytest.approx(1.0, rel=1e-13)


@pytest.mark.parametrize("scale", [0.05, 1.0, 2.3, 30.0, 400.0])
@pytest.mark.parametrize("name", ["tanh2", "sigmoid", "elu2", "softsign2"])
def test_saturating_activations_match_scipy(name: str, scale: float) -> None:
    torch_f, py_f = {
        "tanh2": (lambda x: torch.tanh(x) ** 2, lambda u: math.tanh(u) ** 2),
        "sigmoid": (torch.sigmoid, special.expit),
        "elu2": (lambda x: torch.nn.functional.elu(x) ** 2, lambda u: (u if u > 0 else math.expm1(u)) ** 2),
        "softsign2": (lambda x: (x / (1 + x.abs())) ** 2, lambda u: (u / (1 + abs(u))) ** 2),
    }[name]
    got = quad.gaussian_expectation(torch_f, scale=scale)
    assert got == pytest.approx(_scipy(py_f, scale), rel=1e-10, abs=1e-14)


def test_without_scaled_panels_the_steep_part_is_missed() -> None:
    """Negative control for the panels: a plain Gauss-Legendre rule on [-9, 9] without breaks."""
    t, w = quad.legendre(quad.NODES * 20)
    x = 9.0 * t  # (n,)
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    naive = float((9.0 * w * pdf * torch.tanh(300.0 * x) ** 2).sum())
    exact = _scipy(lambda u: math.tanh(u) ** 2, 300.0)
    good = quad.gaussian_expectation(lambda v: torch.tanh(v) ** 2, scale=300.0)
    assert abs(naive - exact) > 1e3 * abs(good - exact)


def test_the_cache_is_keyed_on_integers_and_hits() -> None:
    quad.panel_rule.cache_clear()
    scales = [math.sqrt(q) for q in torch.linspace(0.5, 0.6, 200).tolist()]  # 200 distinct floats
    for s in scales:
        quad.gaussian_expectation(torch.tanh, scale=s)
    info = quad.panel_rule.cache_info()
    levels = {quad.scale_level(s) for s in scales}
    assert all(isinstance(lv, int) for lv in levels)
    assert info.misses == len(levels) <= 3 and info.hits == len(scales) - len(levels)


@pytest.mark.parametrize(
    ("scale", "level"),
    [
        (1.0, 0),
        (2.0, 8),
        (0.5, -8),
        (2 ** (1 / 16) * 1.001, 1),
        (0.0, quad.LEVEL_MIN),
        (1e-300, quad.LEVEL_MIN),
    ],
)
def test_scale_levels(scale: float, level: int) -> None:
    assert quad.scale_level(scale) == level
    assert quad.scale_level(math.inf) == quad.scale_level(1e300) == quad.LEVEL_MAX


def test_rules_are_shared_within_a_level_and_differ_across() -> None:
    a, b = quad.panel_rule(quad.scale_level(1.0)), quad.panel_rule(quad.scale_level(1.02))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    c = quad.panel_rule(quad.scale_level(1.2))
    assert not torch.equal(a[0], c[0])
    # below LEVEL_MIN no scale-dependent break is inside [-9, 9]: the rule no longer changes
    lo, lower = quad.panel_rule(quad.LEVEL_MIN), quad.panel_rule(quad.LEVEL_MIN - 40)
    assert torch.equal(lo[0], lower[0])
    assert float(a[1].sum()) == pytest.approx(1.0, abs=1e-15)


def test_scale_zero_is_f_of_zero() -> None:
    assert quad.gaussian_expectation(lambda x: torch.cos(x), scale=0.0) == pytest.approx(1.0, rel=1e-14)
