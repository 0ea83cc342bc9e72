"""Laws as a sum type: each law's std follows from the parameters it samples with, a user-registered
scheme is sampled, recorded and predicted consistently, and an inconsistent law cannot be built."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest
import torch
from scipy import stats as sps
from torch import nn

import initlab
from initlab import theory
from initlab.ensemble.stack import Stack
from initlab.schemes import (
    LAWS,
    SCHEMES,
    Constant,
    DeltaOrthogonal,
    Identity,
    Law,
    Normal,
    Orthogonal,
    Sparse,
    TruncatedNormal,
    Uniform,
    fans,
    sample_law,
)

BIG = (400, 300)  # (out, in)

#: One instance of every law type, built for BIG where the law depends on the shape.
EXAMPLES: list[Law] = [
    Constant(0.25),
    Normal(std=0.1, mean=0.5),
    Uniform(-0.3, 0.5),
    TruncatedNormal(scale=0.2, low=-0.1, high=0.5, loc=0.1),  # asymmetric: mean != loc
    Orthogonal(1.5, BIG),
    DeltaOrthogonal(1.5, BIG),
    Identity(BIG),
    Sparse(0.3, 0.2, BIG),
]


def test_every_law_type_has_an_example() -> None:
    assert {type(law) for law in EXAMPLES} == set(LAWS)


@pytest.mark.parametrize("law", EXAMPLES, ids=lambda law: type(law).__name__)
def test_std_and_mean_are_those_of_the_samples(law: Law, gen: torch.Generator) -> None:
    w = law.sample(BIG, generator=gen, dtype=torch.float64)  # (400, 300)
    assert w.shape == BIG
    n = w.numel()
    # sampling errors: std / sqrt(n) for the mean, ~std / sqrt(2n) for the std; allow 6 of each
    assert float(w.mean()) == pytest.approx(law.mean, abs=6 * law.std / math.sqrt(n) + 1e-12)
    assert float(w.std(unbiased=False)) == pytest.approx(law.std, rel=6 / math.sqrt(2 * n), abs=1e-12)


def test_truncated_normal_mean_and_std_match_scipy() -> None:
    law = TruncatedNormal(scale=0.2, low=-0.1, high=0.5, loc=0.1)
    ref = sps.truncnorm(*law.bounds, loc=0.1, scale=0.2)
    assert law.mean == pytest.approx(float(ref.mean()), rel=1e-12)
    assert law.std == pytest.approx(float(ref.std()), rel=1e-12)
    assert law.mean != pytest.approx(law.loc)  # negative control: asymmetric bounds move the mean


@pytest.mark.parametrize("law", EXAMPLES, ids=lambda law: type(law).__name__)
def test_laws_are_frozen_and_std_cannot_be_set(law: Law) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        law.std = 1.0  # type: ignore[misc]


def test_an_inconsistent_law_cannot_be_constructed() -> None:
    # the old Law("normal", std=0.1) sampled zeros (scale defaulted to 0) while reporting std 0.1
    with pytest.raises(TypeError):
        Law("normal", std=0.1)  # type: ignore[operator]
    with pytest.raises(TypeError):
        Normal(std=0.1, scale=0.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Uniform(-1.0, 1.0, std=5.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Constant(0.0, std=1.0)  # type: ignore[call-arg]
    assert Normal(std=0.1).sample((1000,), generator=torch.Generator().manual_seed(0)).std() > 0.09


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Normal(std=-1.0), "normal: std=-1.0 must be >= 0"),
        (lambda: Normal(std=math.nan), "normal: std=nan must be a finite number"),
        (lambda: Uniform(1.0, -1.0), "needs low <= high, got low=1.0, high=-1.0"),
        (lambda: TruncatedNormal(scale=0.0, low=-1.0, high=1.0), "scale=0.0 must be > 0"),
        (lambda: TruncatedNormal(scale=1.0, low=1.0, high=1.0), "needs low < high"),
        (lambda: Orthogonal(1.0, (5,)), r"at least 2 dims, got shape \(5,\)"),
        (lambda: Identity((2, 2, 2, 2, 2, 2)), "identity supports 2-D and conv"),
        (lambda: Sparse(1.5, 1.0, (4, 4)), "sparsity=1.5 must be in"),
        (lambda: Sparse(0.5, 1.0, (4,)), r"sparse needs a weight of at least 2 dims, got shape \(4,\)"),
        (lambda: Constant(math.inf), "constant: value=inf"),
    ],
)
def test_bad_parameters_raise_initlab_error(make: object, message: str) -> None:
    with pytest.raises(initlab.InitlabError, match=message):
        make()  # type: ignore[operator]


def test_a_shape_dependent_law_samples_only_its_shape() -> None:
    law = Orthogonal(1.0, (8, 4))
    assert law.sample((8, 4)).shape == (8, 4)
    with pytest.raises(initlab.InitlabError, match=r"built for shape \(8, 4\), cannot sample shape \(4, 8\)"):
        law.sample((4, 8))


def test_sample_law_is_law_sample() -> None:
    law = Uniform(-1.0, 2.0)
    a = sample_law(law, (5, 3), generator=torch.Generator().manual_seed(3))
    b = law.sample((5, 3), generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


# -- a scheme registered by a user ------------------------------------------------------------


@pytest.fixture
def user_scheme() -> Iterator[str]:
    """``my_uniform(scale)``: ``U(+-scale * sqrt(3 / fan_in))``, registered for this test only."""

    @initlab.register_scheme(
        distribution="uniform", formula="scale / sqrt(fan_in)", reference="test", needs_fans=True
    )
    def my_uniform(shape: tuple[int, ...], *, scale: float = 1.0) -> Law:
        """U(+-scale sqrt(3 / fan_in)).

        >>> 1
        1
        """
        bound = scale * math.sqrt(3.0 / fans(shape)[0])
        return Uniform(-bound, bound)

    try:
        yield "my_uniform"
    finally:
        SCHEMES.remove("my_uniform")


def test_user_scheme_is_sampled_recorded_and_predicted_consistently(user_scheme: str) -> None:
    spec = f"{user_scheme}(scale=1.5)"
    assert user_scheme in initlab.schemes("my_*")
    layer = nn.Linear(500, 400)
    (rec_w, rec_b) = initlab.init_(layer, spec, generator=torch.Generator().manual_seed(0))
    expected = 1.5 / math.sqrt(500)
    # recorded by init_: the analytic std is the law's, and the samples have it
    assert rec_w.std == pytest.approx(expected, rel=1e-12)
    assert rec_w.empirical_std == pytest.approx(expected, rel=0.01)
    assert float(layer.weight.detach().abs().max()) <= 1.5 * math.sqrt(3 / 500)
    assert rec_b.std == 0.0 and float(layer.bias.detach().abs().max()) == 0.0
    # predicted by theory from the same law: sigma_w^2 = fan_in Var(W) = 1.5^2
    lv = theory.layer_variances(spec, (400, 500))
    assert lv is not None and lv.exact
    assert lv.sigma_w2 == pytest.approx(2.25, rel=1e-12) and lv.backward == pytest.approx(2.25 * 400 / 500)
    # and the variance the theory predicts for a linear layer is what the layer produces
    x = torch.randn(4000, 500, generator=torch.Generator().manual_seed(1))  # (B, in)
    with torch.no_grad():
        z = layer(x)  # (B, out)
    (pred,) = theory.predict("linear", [lv])
    assert float(z.var()) == pytest.approx(pred.q, rel=0.03)
    # the ensemble draws from the same law: same seed, same weights as init_
    stack = Stack.from_schemes([500, 400], "linear", [spec], [0])
    assert torch.equal(stack.weights[0][0].detach(), layer.weight.detach())


def test_a_scheme_returning_something_else_than_a_law_is_caught() -> None:
    @initlab.register_scheme(distribution="normal", formula="-", reference="test", needs_fans=False)
    def not_a_law(shape: tuple[int, ...]) -> Law:
        """Returns a float.

        >>> 1
        1
        """
        return 0.1  # type: ignore[return-value]

    try:
        with pytest.raises(initlab.InitlabError, match=r"returned 0\.1 as its law; expected one of Constant"):
            initlab.init_(torch.empty(3, 3), "not_a_law")
    finally:
        SCHEMES.remove("not_a_law")


def test_sparse_on_a_conv_kernel_zeros_the_same_share_of_every_column() -> None:
    """A conv kernel (out, in, kh, kw) is the matrix (out, in kh kw): ceil(0.25 * 8) = 2 zeros a column."""
    w = Sparse(0.25, 1.0, (8, 3, 3, 3)).sample((8, 3, 3, 3), generator=torch.Generator().manual_seed(0))
    assert w.shape == (8, 3, 3, 3)
    assert bool(((w.reshape(8, -1) == 0).sum(dim=0) == 2).all())
