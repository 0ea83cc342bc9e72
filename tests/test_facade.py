"""The facade: ``import initlab`` gives a small, pinned set of names, each documented."""

from __future__ import annotations

import inspect
import types

import pytest

import initlab

FACADE = [
    "InitlabError",
    "__version__",
    "activations",
    "audit",
    "auto_init_",
    "compare",
    "depth",
    "diagnose",
    "init_",
    "load_dataset",
    "lsuv_",
    "monitor",
    "phase",
    "probe",
    "register_scheme",
    "reproduce",
    "scheme",
    "schemes",
    "studies",
    "sweep",
    "symmetry",
    "theory",
]


def test_all_is_pinned_and_sorted() -> None:
    assert sorted(initlab.__all__) == FACADE
    assert len(set(initlab.__all__)) == len(initlab.__all__)


@pytest.mark.parametrize("name", FACADE)
def test_every_name_exists_and_has_a_docstring(name: str) -> None:
    obj = getattr(initlab, name)
    if name == "__version__":
        assert isinstance(obj, str) and obj
        return
    doc = inspect.getdoc(obj)
    assert doc and doc.strip(), f"initlab.{name} has no docstring"
    if isinstance(obj, types.ModuleType):
        assert obj.__name__ == f"initlab.{name}"
    else:  # a verb or the error type: its own docstring, not one inherited from object
        assert obj.__doc__ and obj.__doc__.strip()


def test_verbs_that_change_a_model_end_in_underscore() -> None:
    in_place = sorted(n for n in FACADE if n.endswith("_") and not n.startswith("__"))
    assert in_place == ["auto_init_", "init_", "lsuv_"]


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("ProbeConfig", "from initlab.studies import ProbeConfig"),
        ("CompareResult", "from initlab.studies import CompareResult"),
        ("Diagnosis", "from initlab.tools import Diagnosis"),
        ("gain", "from initlab.activations import gain"),
        ("fans", "from initlab.schemes import fans"),
        ("Dataset", "from initlab.data import Dataset"),
    ],
)
def test_a_moved_name_says_where_it_lives(name: str, where: str) -> None:
    with pytest.raises(AttributeError, match=f"no attribute '{name}': use `{where}`"):
        getattr(initlab, name)
    module, _, attr = where.removeprefix("from ").partition(" import ")
    exec(where, {})  # the advice works
    assert attr in dir(__import__(module, fromlist=[attr]))


def test_an_unknown_name_is_a_plain_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"no attribute 'nope'$"):
        initlab.nope  # type: ignore[attr-defined]  # noqa: B018


def test_study_types_live_in_initlab_studies() -> None:
    from initlab.studies import compare, diagnose, probe, reproduce, symmetry

    for module, stem in (
        (probe, "Probe"),
        (compare, "Compare"),
        (symmetry, "Symmetry"),
        (reproduce, "Reproduce"),
        (diagnose, "Diagnose"),
    ):
        assert getattr(initlab.studies, f"{stem}Config") is module.Config
        assert getattr(initlab.studies, f"{stem}Result").__module__ == module.__name__
        assert getattr(initlab.studies, stem.lower()) is module  # the module, not the verb
