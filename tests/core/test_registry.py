"""core.registry.Registry: decorator registration, duplicates, unknown names with suggestions, patterns;
and the three registries built on it (schemes, activations, datasets)."""

from __future__ import annotations

import pytest
from torch import Tensor

import initlab
from initlab.activations import activation, register_activation
from initlab.core.errors import InitlabError
from initlab.core.registry import Registry


@pytest.fixture
def reg() -> Registry[object]:
    r: Registry[object] = Registry("widget")
    for name in ("he_normal", "he_uniform", "xavier_normal", "lecun_normal", "orthogonal"):
        r.add(name, name.upper())
    return r


def test_decorator_registers_under_the_name_or_dunder_name() -> None:
    r: Registry[object] = Registry("widget")

    @r.register()
    def spanner() -> None:  # pragma: no cover - never called
        pass

    @r.register("wrench")
    def other() -> None:  # pragma: no cover - never called
        pass

    assert r["spanner"] is spanner and r["wrench"] is other
    assert r.names() == ["spanner", "wrench"] and len(r) == 2 and "other" not in r


def test_registering_a_name_twice_is_an_error(reg: Registry[object]) -> None:
    with pytest.raises(InitlabError, match="widget 'he_normal' is already registered"):
        reg.add("he_normal", "again")
    with pytest.raises(InitlabError, match="already registered"):

        @reg.register()
        def orthogonal() -> None:  # pragma: no cover - never called
            pass

    assert reg["he_normal"] == "HE_NORMAL"  # the first entry survives


def test_unknown_name_names_the_closest_valid_names(reg: Registry[object]) -> None:
    with pytest.raises(InitlabError, match=r"unknown widget 'he_nromal' \(did you mean: he_normal"):
        reg["he_nromal"]
    with pytest.raises(InitlabError, match=r"unknown widget 'qqq'; known: he_normal, he_uniform"):
        reg["qqq"]
    with pytest.raises(InitlabError, match="unknown widget 'nope'"):
        reg.remove("nope")
    assert reg.get("he_nromal") is None


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (None, ["he_normal", "he_uniform", "lecun_normal", "orthogonal", "xavier_normal"]),
        ("he_*", ["he_normal", "he_uniform"]),
        ("*_normal", ["he_normal", "lecun_normal", "xavier_normal"]),
        ("?e*", ["he_normal", "he_uniform", "lecun_normal"]),
        ("[ox]*", ["orthogonal", "xavier_normal"]),
        ("orthogonal", ["orthogonal"]),
        ("HE_*", []),  # case-sensitive
        ("zzz*", []),
    ],
)
def test_names_filter_with_shell_patterns(
    reg: Registry[object], pattern: str | None, expected: list[str]
) -> None:
    assert reg.names(pattern) == expected


def test_remove_then_add_again(reg: Registry[object]) -> None:
    assert reg.remove("orthogonal") == "ORTHOGONAL"
    assert "orthogonal" not in reg.names()
    reg.add("orthogonal", 1)
    assert reg["orthogonal"] == 1


def test_bad_names_and_patterns(reg: Registry[object]) -> None:
    with pytest.raises(InitlabError, match="non-empty name"):
        reg.add("", 1)
    with pytest.raises(InitlabError, match="pattern must be a string, got 3"):
        reg.names(3)  # type: ignore[arg-type]


def test_the_three_registries_filter() -> None:
    assert initlab.schemes("he_*") == ["he_normal", "he_uniform"]
    assert initlab.schemes("*_uniform") == ["he_uniform", "lecun_uniform", "xavier_uniform"]
    assert initlab.schemes() == sorted(initlab.schemes()) and len(initlab.schemes()) > 15
    elus = ["elu", "gelu", "gelu_tanh", "leaky_relu", "quick_gelu", "relu", "selu"]
    assert initlab.activations("*elu*") == elus
    assert set(initlab.activations("*elu*")) < set(initlab.activations())
    assert initlab.data.datasets("*mnist") == ["fashion-mnist", "kmnist", "mnist"]
    assert initlab.data.datasets("fashion_*") == ["fashion-mnist"]  # same spelling rule as lookups


def test_the_three_registries_reject_duplicates_and_suggest() -> None:
    with pytest.raises(InitlabError, match="did you mean: he_normal"):
        initlab.scheme("he_nrmal")
    with pytest.raises(InitlabError, match="did you mean: tanh"):
        activation("tahn")
    with pytest.raises(InitlabError, match="did you mean: mnist"):
        initlab.data.dataset_info("mnsit")
    with pytest.raises(InitlabError, match="activation 'relu' is already registered"):

        @register_activation(formula="x", bounds=lambda: (None, None))
        def relu(x: Tensor) -> Tensor:  # pragma: no cover - never called
            return x
