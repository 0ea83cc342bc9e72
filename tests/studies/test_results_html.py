"""Every study result displays itself in Jupyter: ``_repr_html_`` holds the result's table, its main
figure as one inline PNG that decodes, and every label escaped; drawing it leaves no figure open
(a notebook's inline backend would show it a second time)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pytest

from html_helpers import EVIL, escaped, has_row, pngs
from initlab import load_dataset
from initlab.core.html import number, percent
from initlab.data import Dataset
from initlab.studies import compare, depth, diagnose, probe, reproduce, symmetry
from initlab.viz import pyplot

LABELLED = f"{EVIL}: he_normal"


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


def shown(result: Any) -> str:
    """``result._repr_html_()``, checked for what every card holds: a title, one figure, none left open."""
    before = set(pyplot().get_fignums())
    page: str = result._repr_html_()
    assert set(pyplot().get_fignums()) == before
    assert page.startswith('<div class="initlab-result"><h4>initlab ')
    (size,) = pngs(page)
    assert min(size) > 100
    return page


def test_probe_shows_one_row_per_init_and_the_histograms() -> None:
    r = probe.run(
        probe.ProbeConfig(activation="tanh", inits=(LABELLED, "lecun_normal"), layers=3, width=20, samples=50)
    )
    page = shown(r)
    doc = r.to_dict()
    for run in doc["runs"]:
        first, last = run["layers"][0], run["layers"][-1]
        assert has_row(
            page,
            run["label"],
            run["spec"],
            number(first["std"]),
            number(last["std"]),
            number(last["theory_std"]),
        )
    assert has_row(page, "init", "spec", "std layer 1", "std layer 3", "theory layer 3")
    assert escaped(page)


def test_compare_shows_its_summary_and_the_training_figure(mnist: Dataset) -> None:
    cfg = compare.CompareConfig(
        inits=(LABELLED, "zeros"), iterations=4, eval_every=2, layers=1, width=8, seeds=2
    )
    r = compare.run(cfg, dataset=mnist)
    page = shown(r)
    for row in r.to_dict()["summary"]:
        assert has_row(
            page,
            row["label"],
            row["spec"],
            "2",
            number(row["final_train_loss"]),
            percent(row["test_accuracy_mean"]),
        )
    assert escaped(page)


def test_symmetry_shows_distinct_units_per_case_and_its_findings(mnist: Dataset) -> None:
    cfg = symmetry.SymmetryConfig(cases=("zeros", LABELLED), iterations=4, log_every=2, layers=2, width=8)
    r = symmetry.run(cfg, dataset=mnist)
    page = shown(r)
    for case in r.to_dict()["cases"]:
        units = " / ".join(str(layer[-1]) for layer in case["distinct_units"])
        assert has_row(page, case["label"], case["spec"], units)
    assert has_row(page, "zeros", "zeros", "1 / 1")  # all-zero weights: one distinct unit per layer
    assert r.findings and all(f"<li>{html.escape(f)}</li>" in page for f in r.findings)
    assert escaped(page)


def test_diagnose_shows_findings_audit_layers_and_the_std_figure() -> None:
    r = diagnose.run(diagnose.DiagnoseConfig("initlab.examples:mlp20_relu", input_shape=(100,), batch=16))
    page = shown(r)
    for layer in r.to_dict()["diagnosis"]["layers"]:
        assert has_row(
            page, layer["name"], layer["type"], "x".join(map(str, layer["shape"])), number(layer["mean"])
        )
    assert "vanishing signal" in page and "PyTorch&#x27;s default init" in page  # a finding, the audit


def test_depth_shows_one_row_per_depth_and_init_and_its_findings(mnist: Dataset) -> None:
    cfg = depth.DepthConfig(
        model="mlp(layers={depth}, width=8)",
        depths=(1, 3),
        inits=(LABELLED, "lecun_normal"),
        seeds=2,
        iterations=4,
        eval_size=50,
        probe_samples=8,
    )
    r = depth.run(cfg, dataset=mnist)
    page = shown(r)
    for row in r.summary():
        assert has_row(
            page, str(row["depth"]), row["label"], percent(row["accuracy"]), number(row["final_loss"])
        )
    statements = r.findings.statements
    assert len(statements) == 4 and all(
        f"<li>{html.escape(s.replace('`', ''))}</li>" in page for s in statements
    )
    assert escaped(page)


def test_reproduce_shows_the_mnist_comparison_and_std_per_layer(mnist: Dataset) -> None:
    cfg = reproduce.ReproduceConfig(
        symmetry_iterations=4,
        symmetry_log_every=2,
        symmetry_rank_batch=20,
        layers=2,
        width=10,
        samples=40,
        probe_seeds=1,
        iterations=4,
        seeds=1,
    )
    r = reproduce.run(cfg, dataset=mnist)
    page = shown(r)
    assert r.compare is not None and r.symmetry is not None
    for row in r.compare.summary():
        assert has_row(page, row["label"], row["spec"], "1", number(row["final_train_loss"]))
    assert "completed: symmetry, probe, glorot, compare" in page


@pytest.mark.parametrize(
    "stopped",
    [
        lambda m: compare.run(
            compare.CompareConfig(iterations=5, layers=1, width=8), dataset=m, should_stop=lambda: True
        ),
        lambda m: symmetry.run(
            symmetry.SymmetryConfig(iterations=5, layers=1, width=8), dataset=m, should_stop=lambda: True
        ),
    ],
)
def test_a_run_stopped_before_its_first_step_shows_its_table_without_a_figure(
    mnist: Dataset, stopped: Callable[[Dataset], Any]
) -> None:
    r = stopped(mnist)
    page = r._repr_html_()
    assert r.partial and "stopped early" in page and "<img" not in page and "<table>" in page
