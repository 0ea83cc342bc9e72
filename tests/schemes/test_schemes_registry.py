"""Every registered scheme on large tensors: analytic std, stated distribution (KS), negative controls."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps

import initlab
from initlab.schemes import (
    Constant,
    DeltaOrthogonal,
    Identity,
    Law,
    Normal,
    Orthogonal,
    Sparse,
    TruncatedNormal,
    Uniform,
)

SHAPE = (512, 256)  # (out, in): fan_in 256, fan_out 512 -- every fan-based rule differs here
ALPHA = 1e-3


def _dist(law: Law) -> object | None:
    """The scipy distribution a Law states (None where not a standard family)."""
    if isinstance(law, Normal):
        return sps.norm(loc=law.mean, scale=law.std)
    if isinstance(law, Uniform):
        return sps.uniform(loc=law.low, scale=law.high - law.low)
    if isinstance(law, TruncatedNormal):
        a, b = (law.low - law.loc) / law.scale, (law.high - law.loc) / law.scale
        return sps.truncnorm(a, b, loc=law.loc, scale=law.scale)
    return None


def _wrong(law: Law) -> object:
    """A distribution with the same mean and std but another shape: the negative control."""
    if isinstance(law, Uniform):
        return sps.norm(loc=law.mean, scale=law.std)
    half = math.sqrt(3.0) * law.std  # uniform with the same std
    return sps.uniform(loc=law.mean - half, scale=2 * half)


@pytest.mark.parametrize("name", initlab.schemes())
def test_empirical_std_matches_analytic(name: str, gen: torch.Generator) -> None:
    s = initlab.scheme(name)
    w = s.sample(SHAPE, generator=gen, dtype=torch.float64)
    assert w.shape == SHAPE
    analytic = s.std(SHAPE)
    empirical = float(w.std(unbiased=False))
    # sampling error of a std estimate is ~ std / sqrt(2 n) = 0.2% here; allow 1% (5 sigma)
    assert empirical == pytest.approx(analytic, rel=1e-2, abs=1e-12)


@pytest.mark.parametrize("name", initlab.schemes())
def test_distribution_and_negative_control(name: str, gen: torch.Generator) -> None:
    s = initlab.scheme(name)
    law = s.law(SHAPE)
    w = s.sample(SHAPE, generator=gen, dtype=torch.float64).numpy().ravel()
    dist = _dist(law)
    if dist is not None:
        assert sps.kstest(w, dist.cdf).pvalue > ALPHA  # type: ignore[attr-defined]
        assert sps.kstest(w, _wrong(law).cdf).pvalue < 1e-12  # type: ignore[attr-defined]
    elif isinstance(law, Constant):
        assert np.all(w == law.value)
        assert not np.all(w == law.value + 1e-3)
    elif isinstance(law, Orthogonal | DeltaOrthogonal):  # a 2-D delta-orthogonal is orthogonal
        m = w.reshape(SHAPE)
        gram = m.T @ m / law.gain**2  # (in, in): columns orthonormal since out > in
        assert np.allclose(gram, np.eye(SHAPE[1]), atol=1e-8)
        assert not np.allclose(m @ m.T / law.gain**2, np.eye(SHAPE[0]), atol=1e-2)
    elif isinstance(law, Identity):
        assert np.array_equal(w.reshape(SHAPE), np.eye(*SHAPE))
    elif isinstance(law, Sparse):
        m = w.reshape(SHAPE)
        zeros = math.ceil(law.sparsity * SHAPE[0])
        assert np.all((m == 0).sum(axis=0) == zeros)
        nz = m[m != 0]
        assert sps.kstest(nz, sps.norm(scale=law.scale).cdf).pvalue > ALPHA
        assert sps.kstest(nz, sps.norm(scale=2 * law.scale).cdf).pvalue < 1e-12
    else:  # pragma: no cover - a new kind needs a test here
        pytest.fail(f"no distribution test for law kind {law.kind!r}")


@pytest.mark.parametrize("name", initlab.schemes())
def test_every_scheme_is_documented(name: str) -> None:
    info = initlab.scheme(name).info
    assert info.doc, f"{name} has no docstring"
    assert ">>>" in info.doc, f"{name}'s docstring has no example"
    assert info.distribution and info.formula and info.reference


@pytest.mark.parametrize("name", initlab.schemes())
def test_same_seed_same_tensor_other_seed_other_tensor(name: str) -> None:
    s = initlab.scheme(name)
    a = s.sample((64, 32), generator=torch.Generator().manual_seed(0))
    b = s.sample((64, 32), generator=torch.Generator().manual_seed(0))
    c = s.sample((64, 32), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    if s.law((64, 32)).kind in ("constant", "identity"):
        assert torch.equal(a, c)  # deterministic schemes ignore the generator
    else:
        assert not torch.equal(a, c)


def test_library_never_touches_global_rng() -> None:
    state = torch.get_rng_state()
    for name in initlab.schemes():
        initlab.scheme(name).sample((16, 8), generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), state)


def test_registering_a_name_twice_is_an_error() -> None:
    with pytest.raises(initlab.InitlabError, match="already registered"):

        @initlab.register_scheme(distribution="normal", formula="1", reference="-", needs_fans=False)
        def normal(shape: tuple[int, ...]) -> Law:  # pragma: no cover - never called
            return Normal(std=1.0)


@pytest.mark.parametrize(
    ("spec", "shape", "expected"),
    [
        ("he_normal", (50, 200), math.sqrt(2 / 200)),
        ("he_normal(mode=fan_out)", (50, 200), math.sqrt(2 / 50)),
        ("he_uniform(nonlinearity=leaky_relu, negative_slope=0.2)", (50, 200), math.sqrt(2 / 1.04 / 200)),
        ("xavier_normal(gain=2)", (50, 200), 2 * math.sqrt(2 / 250)),
        ("lecun_normal", (50, 200), 1 / math.sqrt(200)),
        ("variance_scaling(scale=2, mode=fan_avg, distribution=uniform)", (50, 200), math.sqrt(2 / 125)),
        ("variance_scaling(mode=fan_geo_avg)", (50, 200), math.sqrt(1 / 100)),
        ("lecun_normal", (16, 8, 3, 3), 1 / math.sqrt(72)),
        ("xavier_uniform", (16, 8, 3), math.sqrt(2 / (24 + 48))),
        ("trunc_normal(std=2, a=-1, b=1)", (4, 4), 2 * float(sps.truncnorm(-1, 1).std())),
        ("torch_default", (10, 300), 1 / math.sqrt(900)),
        ("variance(w=1.5, b=0.05)", (50, 200), math.sqrt(1.5 / 200)),
        ("variance(w=2)", (16, 8, 3, 3), math.sqrt(2 / 72)),
    ],
)
def test_analytic_std_formulas(spec: str, shape: tuple[int, ...], expected: float) -> None:
    assert initlab.scheme(spec).std(shape) == pytest.approx(expected, rel=1e-6)
