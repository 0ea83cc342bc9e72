"""The spec parser: round trips, labels, errors that quote the input, and fuzzing."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import initlab
from initlab.core.spec import parse_spec


@pytest.mark.parametrize(
    ("spec", "name", "params", "label"),
    [
        ("he_normal", "he_normal", {}, "he_normal"),
        ("normal(std=0.01)", "normal", {"std": 0.01}, "normal(std=0.01)"),
        ("uniform(a=-2, b=2)", "uniform", {"a": -2.0, "b": 2.0}, "uniform(a=-2, b=2)"),
        ("he_normal(mode=fan_out)", "he_normal", {"mode": "fan_out"}, "he_normal(mode=fan_out)"),
        ("constant(value=0.5)", "constant", {"value": 0.5}, "constant(value=0.5)"),
        ("constant(0.5)", "constant", {"value": 0.5}, "constant(0.5)"),
        ("Xavier: lecun_normal", "lecun_normal", {}, "Xavier"),
        ("std=0.01: normal(std=0.01)", "normal", {"std": 0.01}, "std=0.01"),
        ("  He  :  he_normal( mode = 'fan_in' )  ", "he_normal", {"mode": "fan_in"}, "He"),
        (
            "trunc_normal(std=1e-2, a=-3)",
            "trunc_normal",
            {"std": 0.01, "a": -3.0},
            "trunc_normal(std=1e-2, a=-3)",
        ),
    ],
)
def test_parse(spec: str, name: str, params: dict[str, object], label: str) -> None:
    s = initlab.scheme(spec)
    assert s.name == name
    assert s.params == params
    assert s.label == label


@pytest.mark.parametrize("name", initlab.schemes())
def test_canonical_spec_round_trips(name: str) -> None:
    s = initlab.scheme(name)
    again = initlab.scheme(s.spec)
    assert again.spec == s.spec and again.params == s.params
    shape = (8, 4)
    a = s.sample(shape, generator=torch.Generator().manual_seed(0))
    b = again.sample(shape, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    "spec",
    [
        "he_normal(mode=fan_out, nonlinearity=leaky_relu, negative_slope=0.2)",
        "variance_scaling(scale=2.0, mode=fan_geo_avg, distribution=uniform)",
        "normal(mean=-1.5, std=0.25)",
    ],
)
def test_explicit_params_round_trip(spec: str) -> None:
    s = initlab.scheme(spec)
    assert initlab.scheme(s.spec).params == s.params
    assert initlab.scheme(f"My label: {s.spec}").label == "My label"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("he_norml", "did you mean: he_normal"),
        ("xavier", "did you mean"),
        ("normal(std=-1)", "std=-1.0 must be > 0 in 'normal(std=-1)'"),
        ("normal(std=0)", "must be > 0"),
        ("uniform(a=2, b=-2)", "a < b"),
        ("he_normal(mode=fan_sideways)", "must be one of fan_in, fan_out"),
        ("variance_scaling(distribution=cauchy)", "must be one of normal, truncated_normal, uniform"),
        ("he_normal(nonlinearity=relux)", "unknown activation 'relux'"),
        ("sparse(sparsity=-0.1)", "sparsity=-0.1 must be in [0, 1]"),
        ("normal(sd=1)", "has no parameter 'sd'"),
        ("normal(std=abc)", "must be a number"),
        ("normal(std=1", "missing ')'"),
        ("normal std=1", "expected '(' after 'normal'"),
        ("normal(std=)", "missing value"),
        ("normal(std=1,)", "trailing ','"),
        ("normal(std=1, std=2)", "given twice"),
        ("normal(1, 2, 3)", "takes 2 parameter(s)"),
        (": he_normal", "empty label"),
        ("", "empty spec"),
        ("123", "must start with a name"),
        ("normal(std=inf)", "must be finite"),
    ],
)
def test_bad_specs_raise_initlab_error_quoting_input(spec: str, fragment: str) -> None:
    with pytest.raises(initlab.InitlabError) as err:
        initlab.scheme(spec)
    assert fragment in str(err.value)


def test_fan_based_scheme_on_a_vector_is_an_error() -> None:
    with pytest.raises(initlab.InitlabError, match=r"he_normal.*shape \(100,\).*at least 2 dims"):
        initlab.scheme("he_normal").sample((100,))
    # a non-fan scheme is fine on any shape
    assert initlab.scheme("normal(std=2)").sample((100,)).shape == (100,)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_arbitrary_strings_only_raise_initlab_error(text: str) -> None:
    try:
        s = initlab.scheme(text)
    except initlab.InitlabError:
        return
    assert s.name in initlab.schemes()


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(
        r"[a-z_]{1,12}(\((([a-z_]{1,6}=)?(-?[0-9.e]{1,5}|[a-z_]{1,8}|'x'),? ?){0,3}\))?", fullmatch=True
    )
)
def test_spec_like_strings_only_raise_initlab_error(text: str) -> None:
    try:
        parse_spec(text)
        initlab.scheme(text)
    except initlab.InitlabError:
        pass
