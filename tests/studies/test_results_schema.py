"""Every study's results.json against its shipped JSON Schema (draft 2020-12), with the ``jsonschema``
library: documents written by real runs of the CLI validate, broken ones do not, each study writes the
``"schema"`` id its schema names, and docs/results-<study>.md documents exactly the schema's fields."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

import initlab
from initlab.studies import schemas
from schema_helpers import errors, validate
from shared_runs import (
    DIAGNOSE_AUTO,
    DIAGNOSE_LSUV,
    DIAGNOSE_MLP20,
    DIAGNOSE_SPEC,
    PROBE_BOUNDED,
    PROBE_MIXED,
    SYMMETRY_RELU,
    CliRun,
    CliRunner,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"

#: (study, name) -> the command line of a quick run; together they reach the nullable branches:
#: non-finite values, a spec without theory, a diverged model, each kind of diagnose --init. The
#: probe, symmetry and diagnose runs are the session's shared ones (tests/shared_runs.py), also read by the
#: CLI tests.
RUNS: dict[tuple[str, str], Sequence[str]] = {
    ("probe", "mixed"): PROBE_MIXED,
    ("probe", "bounded"): PROBE_BOUNDED,
    ("compare", "diverging"): [
        *("compare", "--layers", "2", "--width", "16", "--iterations", "12", "--eval-every", "6"),
        *("--init", "He: he_normal", "--init", "huge: normal(std=1000)", "--seeds", "2", "--lr", "10"),
    ],
    ("symmetry", "default"): SYMMETRY_RELU,
    ("depth", "tiny"): [
        *("depth", "--model", "mlp(layers={depth}, width=8)", "--depths", "0,3", "--seeds", "2"),
        *("--init", "He: he_normal", "--init", "huge: normal(std=1000)", "--iterations", "6"),
        *("--lr", "10", "--eval-size", "50", "--probe-samples", "8"),
    ],
    ("sweep", "diverging"): [
        *("sweep", "--model", "mlp(layers=2, width=16)", "--init", "he_normal", "--init", "normal(std=1000)"),
        *("--lr", "10", "--iterations", "12", "--seeds", "2", "--batch-size", "16", "--eval-size", "50"),
    ],
    ("phase", "plane"): [
        *("phase", "--depth", "2", "--width", "6", "--sigma-w2", "1,2", "--sigma-b2", "0,0.1"),
        *("--iterations", "3", "--batch-size", "16", "--eval-size", "40", "--resolution", "4"),
        *("--init-width", "20"),
    ],
    ("phase", "depth"): [
        *("phase", "--view", "depth", "--depths", "1,2", "--width", "6", "--sigma-w2", "1,3"),
        *("--iterations", "3", "--batch-size", "16", "--eval-size", "40", "--resolution", "4"),
    ],
    ("diagnose", "plain"): DIAGNOSE_MLP20,
    ("diagnose", "auto"): DIAGNOSE_AUTO,
    ("diagnose", "lsuv"): DIAGNOSE_LSUV,
    ("diagnose", "spec"): DIAGNOSE_SPEC,
}


@pytest.fixture(scope="module")
def documents(cli_run: CliRunner, reproduce_quick: Path) -> dict[tuple[str, str], Any]:
    """The results.json of every run in :data:`RUNS`, and of ``reproduce --quick``."""
    docs: dict[tuple[str, str], Any] = {}
    for (study, name), argv in RUNS.items():
        run = cli_run(argv)
        assert run.code == 0, (argv, run.stderr)
        docs[study, name] = json.loads((run.out / "results.json").read_text())
    docs["reproduce", "quick"] = json.loads((reproduce_quick / "results.json").read_text())
    return docs


@pytest.fixture(scope="module")
def partial_reproduce(reproduce_interrupted: CliRun) -> Any:
    """``reproduce --quick`` stopped at once (as by Ctrl-C): its parts are null or empty."""
    assert reproduce_interrupted.code == 130
    return json.loads((reproduce_interrupted.out / "results.json").read_text())


@pytest.mark.parametrize("study", sorted(schemas.STUDIES))
def test_schemas_are_valid_draft_2020_12(study: str) -> None:
    schema = schemas.load(study)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:initlab:schema:{study}/{schemas.STUDIES[study]}"
    assert schema["properties"]["schema"] == {"const": schemas.schema_id(study)}
    assert schema["additionalProperties"] is False


def test_loader_rejects_an_unknown_study() -> None:
    with pytest.raises(initlab.InitlabError, match=r"unknown results schema 'prob' \(did you mean: probe"):
        schemas.load("prob")


def test_each_study_writes_its_schema_id() -> None:
    from initlab.studies.compare import SCHEMA_ID as COMPARE
    from initlab.studies.depth import SCHEMA_ID as DEPTH
    from initlab.studies.diagnose import SCHEMA_ID as DIAGNOSE
    from initlab.studies.phase import SCHEMA_ID as PHASE
    from initlab.studies.probe import SCHEMA_ID as PROBE
    from initlab.studies.reproduce import SCHEMA_ID as REPRODUCE
    from initlab.studies.sweep import SCHEMA_ID as SWEEP
    from initlab.studies.symmetry import SCHEMA_ID as SYMMETRY

    written = {"probe": PROBE, "compare": COMPARE, "symmetry": SYMMETRY, "reproduce": REPRODUCE}
    written["diagnose"] = DIAGNOSE
    written["depth"] = DEPTH
    written |= {"sweep": SWEEP, "phase": PHASE}
    versions = {s: 1 for s in schemas.STUDIES} | {"probe": 2}  # probe/2: any model, --device
    assert written == {s: f"initlab.{s}/{versions[s]}" for s in schemas.STUDIES}
    assert all(schemas.schema_id(s) == written[s] for s in schemas.STUDIES)


def test_real_results_validate(documents: dict[tuple[str, str], Any]) -> None:
    assert {study for study, _ in documents} == set(schemas.STUDIES)
    for (study, name), doc in documents.items():
        assert doc["schema"] == schemas.schema_id(study), (study, name)
        assert errors(doc, study) == [], (study, name)
    # the runs reach the branches that write null or a second shape
    mixed = documents["probe", "mixed"]["runs"]
    assert mixed[1]["layers"][-1]["nonfinite"] > 0 and mixed[2]["theory"] is None
    compare = documents["compare", "diverging"]
    assert any(r["diverged_at"] is not None for r in compare["runs"])
    assert any(None in r["train_loss"] for r in compare["runs"])
    assert documents["diagnose", "plain"]["init"] is None and documents["diagnose", "plain"]["lsuv"] is None
    assert documents["diagnose", "auto"]["init"]["spec"] == "auto"
    assert documents["diagnose", "spec"]["init"]["spec"] == "xavier_uniform"
    assert documents["diagnose", "lsuv"]["lsuv"]["converged"] is True
    depth = documents["depth", "tiny"]
    assert any(r["diverged_at"] is not None and r["final_loss"] is None for r in depth["rows"])
    sweep = documents["sweep", "diverging"]
    assert any(r["diverged_at"] is not None and r["final_loss"] is None for r in sweep["rows"])
    assert documents["phase", "plane"]["view"] == "plane" and documents["phase", "depth"]["view"] == "depth"
    assert None in documents["phase", "depth"]["theory"]["six_xi_c"]  # infinite at chi_1 = 1


def test_sweep_rows_take_parameters_as_model_or_init_keys_only(documents: dict[tuple[str, str], Any]) -> None:
    row = documents["sweep", "diverging"]["rows"][0]
    assert errors({**documents["sweep", "diverging"], "rows": [{**row, "init.std": 2.0}]}, "sweep") == []
    broken = {**documents["sweep", "diverging"], "rows": [{**row, "std": 2.0}]}
    assert [list(e.absolute_path) for e in errors(broken, "sweep")] == [["rows", 0]]


def test_each_phase_view_has_its_own_shape(documents: dict[tuple[str, str], Any]) -> None:
    """A field of the other view, or the other view's type of sigma_b2, does not validate."""
    plane, depth = documents["phase", "plane"], documents["phase", "depth"]
    for doc, foreign in ((plane, "agreement"), (depth, "initial")):
        broken = copy.deepcopy(doc)
        broken[foreign] = copy.deepcopy((depth if doc is plane else plane)[foreign])
        assert [e.absolute_path[0] for e in errors(broken, "phase")] == [foreign]
    broken = copy.deepcopy(depth)
    broken["sigma_b2"] = [broken["sigma_b2"]]
    assert [(list(e.absolute_path), e.validator) for e in errors(broken, "phase")] == [(["sigma_b2"], "type")]
    broken = copy.deepcopy(depth)
    broken["theory"] = copy.deepcopy(plane["theory"])
    assert errors(broken, "phase") and not errors(depth, "phase")


def test_a_partial_reproduce_validates(partial_reproduce: Any) -> None:
    doc = partial_reproduce
    assert doc["partial"] is True and doc["parts"]["compare"] is None and doc["findings"]["mnist"] is None
    validate(doc, "reproduce")


def _flat(errs: list[ValidationError]) -> Iterator[ValidationError]:
    for e in errs:
        yield e
        yield from _flat(list(e.context or []))


def _at(doc: Any, path: list[str | int]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


#: Per study: a required field to delete, a field to give a wrong value, a closed object to extend.
#: The reproduce paths go through the probe and compare schemas it refers to.
BROKEN: dict[str, tuple[list[str | int], tuple[list[str | int], Any], list[str | int]]] = {
    "probe": (
        ["runs", 0, "layers", 1, "grad_std"],
        (["runs", 0, "layers", 0, "nonfinite"], 1.5),
        ["runs", 0],
    ),
    "compare": (["runs", 0, "train_loss"], (["summary", 0, "diverged"], "0"), ["architecture"]),
    "symmetry": (["cases", 0, "distinct_units"], (["cases", 0, "diverged_at"], "never"), ["cases", 0]),
    "diagnose": (
        ["diagnosis", "layers", 0, "signal_std"],
        (["audit", "weights", 0, "shape"], "100x100"),
        ["audit", "weights", 0],
    ),
    "depth": (["rows", 0, "init_signal_std"], (["rows", 0, "diverged_at"], "never"), ["rows", 0]),
    "sweep": (["rows", 0, "test_accuracy"], (["summary", 0, "seeds"], "2"), []),  # rows: model.*/init.* only
    "phase": (["theory", "boundary"], (["test_accuracy", 0, 0], "high"), ["sweep"]),
    "reproduce": (
        ["findings", "mnist", "schemes", 0, "accuracy_pct"],
        (["parts", "probe", "activations", "relu", "runs", 0, "layers", 0, "nonfinite"], -1),
        ["parts", "compare", "runs", 0],
    ),
}


@pytest.mark.parametrize("study", sorted(BROKEN))
def test_broken_results_do_not_validate(study: str, documents: dict[tuple[str, str], Any]) -> None:
    """The check can fail: a missing field, a wrong type or value, an unknown field, another schema id."""
    good = next(doc for (s, _), doc in documents.items() if s == study)
    assert errors(good, study) == []
    missing, (wrong_path, wrong_value), closed = BROKEN[study]

    doc = copy.deepcopy(good)
    del _at(doc, missing[:-1])[missing[-1]]
    found = [(list(e.absolute_path), e.message) for e in _flat(errors(doc, study))]
    assert (missing[:-1], f"{missing[-1]!r} is a required property") in found, found

    doc = copy.deepcopy(good)
    _at(doc, wrong_path[:-1])[wrong_path[-1]] = wrong_value
    found = [(list(e.absolute_path), e.message) for e in _flat(errors(doc, study))]
    assert any(path == wrong_path and repr(wrong_value) in msg for path, msg in found), found

    doc = copy.deepcopy(good)
    _at(doc, closed)["surprise"] = 1
    found = [(list(e.absolute_path), e.message) for e in _flat(errors(doc, study))]
    assert any(path == closed and "'surprise' was unexpected" in msg for path, msg in found), found

    doc = copy.deepcopy(good)
    doc["schema"] = doc["schema"] + "0"  # another version: initlab.probe/2 -> initlab.probe/20
    assert [e.absolute_path[0] for e in errors(doc, study)] == ["schema"]


# -- the documentation ---------------------------------------------------------------------------------

_TICKED = re.compile(r"`([^`\n]+)`")
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_CODE_KEY = re.compile(r'"([A-Za-z_][A-Za-z_0-9]*)"\s*:')


def schema_fields(schema: Any) -> set[str]:
    """Every property name anywhere in a schema (its ``$defs`` included; other schemas' not)."""
    names: set[str] = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for value in schema.values():
            names |= schema_fields(value)
    elif isinstance(schema, list):
        for value in schema:
            names |= schema_fields(value)
    return names


def documented_fields(markdown: str) -> set[str]:
    """The fields a results page documents: the names in the first column of its tables headed
    ``| field |`` (a path such as `runs[k].theory` or `...schemes[k]` names each of its parts), and
    the keys of its JSON examples (``"key":`` in fenced code blocks)."""
    names: set[str] = set()
    header = ""
    for block, text in enumerate(markdown.split("```")):
        if block % 2:
            names |= set(_CODE_KEY.findall(text))
            continue
        for line in text.splitlines():
            if not line.startswith("|"):
                header = ""
                continue
            first = line.split("|")[1].strip()
            if not header:
                header = first
            elif header == "field" and not set(first) <= set("-: "):
                for ticked in _TICKED.findall(first):
                    names |= {n for n in _NAME.findall(ticked) if not re.fullmatch(r"[a-z]", n)}
    return names


def mentioned_names(markdown: str) -> set[str]:
    """Every name the page mentions as code: in backticks, or as a key of a JSON example."""
    names = {n for t in _TICKED.findall(markdown) for n in _NAME.findall(t)}
    return names | {k for block in markdown.split("```")[1::2] for k in _CODE_KEY.findall(block)}


@pytest.mark.parametrize("study", sorted(schemas.STUDIES))
def test_results_page_documents_every_field_and_only_those(study: str) -> None:
    markdown = (DOCS / f"results-{study}.md").read_text()
    fields = schema_fields(schemas.load(study))
    undocumented = fields - mentioned_names(markdown)
    assert not undocumented, f"docs/results-{study}.md does not document: {sorted(undocumented)}"
    unknown = documented_fields(markdown) - fields
    assert not unknown, f"docs/results-{study}.md documents fields its schema lacks: {sorted(unknown)}"
    assert schemas.schema_id(study) in markdown


def test_the_documentation_check_can_fail() -> None:
    page = '| field | meaning |\n|---|---|\n| `runs[k].ghost`, `label` | x |\n\n```\n{"phantom": 1}\n```\n'
    assert documented_fields(page) == {"runs", "ghost", "label", "phantom"}
    assert documented_fields("| file | what |\n|---|---|\n| `config` | x |\n") == set()
    assert schema_fields(
        {"properties": {"a": {"items": {"properties": {"b": {}}}}}, "$defs": {"c": {"properties": {"d": {}}}}}
    ) == {"a", "b", "d"}
