"""One rule per kind of input, the same in every study: duplicate init labels and the seed range."""

from __future__ import annotations

from typing import Any

import pytest

from initlab import InitlabError
from initlab.core.seeds import MAX_SEED
from initlab.studies import compare, diagnose, probe, reproduce, symmetry

#: (Config, the field holding its init specs, the flag the user writes them with)
SPEC_LISTS: list[tuple[type, str, str]] = [
    (probe.Config, "inits", "--init"),
    (compare.Config, "inits", "--init"),
    (symmetry.Config, "cases", "--case"),
]


@pytest.mark.parametrize(("cls", "name", "flag"), SPEC_LISTS)
@pytest.mark.parametrize(
    "specs",
    [
        ("he_normal", "he_normal"),  # the same spec twice
        ("He: he_normal", "He: lecun_normal"),  # two specs under one label
        ("he_normal", "he_normal: xavier_normal"),  # a label equal to another spec's own label
    ],
)
def test_duplicate_labels_are_rejected_the_same_way_everywhere(
    cls: type, name: str, flag: str, specs: tuple[str, str]
) -> None:
    with pytest.raises(InitlabError) as err:
        cls(**{name: specs}).validate()
    msg = str(err.value)
    assert msg.startswith(f"two {flag} specs share the label")
    assert repr(specs[0]) in msg and repr(specs[1]) in msg and "'name: spec'" in msg


@pytest.mark.parametrize(("cls", "name", "flag"), SPEC_LISTS)
def test_distinct_labels_for_one_spec_are_fine(cls: type, name: str, flag: str) -> None:
    cls(**{name: ("a: he_normal", "b: he_normal")}).validate()


def _configs(**fields: Any) -> list[Any]:
    return [
        probe.Config(**fields),
        compare.Config(**fields),
        symmetry.Config(**fields),
        reproduce.Config(**fields),
        diagnose.Config("initlab.examples:mlp20_relu", input_shape=(100,), **fields),
    ]


@pytest.mark.parametrize("index", range(5))
def test_every_study_has_one_seed_range(index: int) -> None:
    """0 .. 2**63 - 1 everywhere (a seed every JSON reader, NumPy and torch hold exactly)."""
    _configs(seed=MAX_SEED - 5)[index].validate()  # the top of the range (reproduce runs 5 seeds)
    for seed, why in ((-1, "must be >= 0, got -1"), (MAX_SEED + 1, f"must be <= {MAX_SEED}")):
        with pytest.raises(InitlabError, match=why):
            _configs(seed=seed)[index].validate()


@pytest.mark.parametrize(
    ("config", "count", "last"),
    [
        (probe.Config(seed=MAX_SEED, seeds=2), 2, MAX_SEED + 1),
        (compare.Config(seed=MAX_SEED - 1, seeds=3), 3, MAX_SEED + 1),
        (reproduce.Config(seed=MAX_SEED), 5, MAX_SEED + 4),
    ],
)
def test_a_run_of_consecutive_seeds_stays_in_the_range(config: Any, count: int, last: int) -> None:
    with pytest.raises(InitlabError, match=rf"its {count} consecutive seeds run up to {last}"):
        config.validate()


def test_reproduce_checks_its_parts_with_their_own_rules() -> None:
    """reproduce runs a compare and a symmetry study: their checks (labels, seeds) apply to it too."""
    with pytest.raises(InitlabError, match="log_every must be positive"):
        reproduce.Config(symmetry_log_every=0).validate()
