"""Issue 16: extreme scheme parameters, overflowing dtypes, half/double and meta tensors."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import initlab
from initlab import InitlabError
from initlab.schemes import TruncatedNormal

mpmath = pytest.importorskip("mpmath")  # ships with torch (via sympy): an independent reference

DTYPES = (torch.float16, torch.bfloat16, torch.float64)


def _reference(a: float, b: float) -> tuple[float, float]:
    """Mean and std of N(0, 1) truncated to [a, b] from the closed forms at 80 digits."""
    a, b = max(a, -1e5), min(b, 1e5)  # mpmath's erfc overflows far out; no mass is beyond 1e5 here
    if a > 0:  # reflect into the left tail, where ncdf keeps its digits
        m, s = _reference(-b, -a)
        return -m, s
    with mpmath.workdps(80):
        lo, hi = mpmath.mpf(a), mpmath.mpf(b)
        z = mpmath.ncdf(hi) - mpmath.ncdf(lo)
        pa, pb = mpmath.npdf(lo), mpmath.npdf(hi)
        mean = (pa - pb) / z
        var = 1 + (lo * pa - hi * pb) / z - mean * mean
        return float(mean), float(mpmath.sqrt(var))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (-2.0, 2.0),
        (8.0, 9.0),  # the closed forms in float64 gave std 2.04
        (10.0, 11.0),  # ... and divided by zero
        (-11.0, -10.0),
        (30.0, 31.0),
        (38.0, 60.0),
        (-40.0, 5.0),
        (5.0, 1e300),
        (1e3, 1e3 + 1e-6),
        (-1e4, -1e4 + 0.01),
        (0.0, 1e-9),
    ],
)
def test_truncated_normal_moments_match_an_independent_computation_in_far_tails(a: float, b: float) -> None:
    law = TruncatedNormal(scale=1.0, low=a, high=b)
    mean, std = _reference(a, b)
    assert abs(law.mean - mean) <= 1e-12 * (abs(mean) + std)  # relative to the scale
    assert law.std == pytest.approx(std, rel=1e-10)
    scaled = TruncatedNormal(scale=2.0, low=2 * a + 1, high=2 * b + 1, loc=1.0)  # same bounds in units
    assert scaled.std == pytest.approx(2 * std, rel=1e-9)


def test_trunc_normal_scheme_reports_the_true_std_far_out() -> None:
    assert initlab.scheme("trunc_normal(a=8, b=9)").std((10, 10)) == pytest.approx(0.1189476472350, rel=1e-9)
    assert math.isfinite(initlab.scheme("trunc_normal(a=10, b=11)").std((10, 10)))


@pytest.mark.parametrize(
    ("spec", "dtype"),
    [
        ("normal(std=1e39)", torch.float32),  # a parameter the dtype cannot hold
        ("normal(std=1e38)", torch.float32),  # a parameter it holds, samples it does not
        ("uniform(a=-1e6, b=1e6)", torch.float16),
        ("constant(value=1e5)", torch.float16),
        ("normal(std=1e39)", torch.bfloat16),
    ],
)
def test_samples_that_overflow_the_dtype_are_an_error_naming_it(spec: str, dtype: torch.dtype) -> None:
    model = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 8)).to(dtype)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(InitlabError, match=str(dtype).replace(".", r"\.")):
        initlab.init_(model, spec, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))  # untouched
    with pytest.raises(InitlabError, match=str(dtype).replace(".", r"\.")):
        initlab.init_(torch.empty(64, 64, dtype=dtype), spec, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", initlab.schemes())
def test_every_scheme_initialises_every_float_dtype(name: str, dtype: torch.dtype) -> None:
    model = nn.Sequential(nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 24)).to(dtype)
    records = initlab.init_(model, name, generator=torch.Generator().manual_seed(0))
    for p in model.parameters():
        assert p.dtype == dtype
        assert bool(torch.isfinite(p).all())
    for r in records:
        if r.std > 0:  # the drawn values have the law's scale (loose: few entries, rounded values)
            assert r.empirical_std == pytest.approx(r.std, rel=0.5)


@pytest.mark.parametrize("spec", ["he_normal", "orthogonal", "auto", "zeros"])
def test_init_on_the_meta_device_says_it_cannot(spec: str) -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    with pytest.raises(InitlabError, match="meta device"):
        initlab.init_(model, spec, generator=torch.Generator().manual_seed(0))
    with pytest.raises(InitlabError, match="meta device"):
        initlab.init_(torch.empty(4, 4, device="meta"), "normal")


def test_fan_based_schemes_on_a_zero_size_weight_are_an_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own init warns about the zero-element weight
        layer = nn.Linear(0, 4)
    for spec in ("he_normal", "lecun_uniform", "variance_scaling", "xavier_normal"):
        with pytest.raises(InitlabError, match=r"zero-size weight of shape \(4, 0\)"):
            initlab.init_(layer, spec)
    assert initlab.init_(layer, "normal(std=0.1)")[0].shape == (4, 0)  # nothing to scale, nothing drawn


@pytest.mark.parametrize(("a", "b"), [(2.5, 3.0), (8.0, 9.0), (-12.0, -10.0), (30.0, 1e300), (3.0, 1e5)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_far_tail_samples_follow_the_truncated_law(a: float, b: float, dtype: torch.dtype) -> None:
    stats = pytest.importorskip("scipy.stats")
    spec = f"trunc_normal(mean=1, std=2, a={a:g}, b={b:g})"
    t = torch.empty(200, 100, dtype=dtype)
    (rec,) = initlab.init_(t, spec, generator=torch.Generator().manual_seed(1))  # no torch warning either
    z = (t.double().flatten().numpy() - 1.0) / 2.0
    assert stats.kstest(z, stats.truncnorm(a, min(b, 1e5)).cdf).pvalue > 1e-3
    assert rec.empirical_std == pytest.approx(rec.std, rel=0.05)
    law = initlab.scheme(spec).law((200, 100))
    assert float(t.double().mean()) == pytest.approx(law.mean, abs=5 * law.std / 100)
