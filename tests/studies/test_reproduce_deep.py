"""``reproduce --deep``: the depth study as an opt-in part of the report -- its figure, findings and
section only when asked for, every number of it traced to results.json, and Ctrl-C keeping what
finished. Tiny sizes: every part of the classic study a few steps, the depth part 3 depths x 40 steps."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from initlab import load_dataset
from initlab.data import Dataset
from initlab.report import DEEP_FIGURES, FIGURES, build, derive
from initlab.studies.depth_findings import depth_facts
from initlab.studies.reproduce import ReproduceConfig, ReproduceResult
from initlab.studies.reproduce import run as reproduce_run
from initlab.viz import pyplot
from reproduce_helpers import unquoted
from schema_helpers import errors

TINY = ReproduceConfig(
    symmetry_iterations=4,
    symmetry_log_every=2,
    symmetry_rank_batch=20,
    layers=2,
    width=10,
    samples=40,
    probe_seeds=1,
    iterations=4,
    seeds=1,
    lr=0.05,
    deep=True,
    deep_depths=(1, 4, 12),
    deep_iterations=40,
    deep_seeds=1,
    deep_width=16,
)


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


def document(result: ReproduceResult, folder: Path, stems: tuple[str, ...] = DEEP_FIGURES) -> dict[str, Any]:
    """What the CLI writes: the document with its findings, and the figures ``stems`` as PNG files."""
    for stem in stems:
        if stem in result.figure_names():
            fig = result.figure(stem)
            fig.savefig(folder / f"{stem}.png", dpi=40)
            pyplot().close(fig)
    doc = result.to_dict()
    doc["findings"] = derive(doc)
    out: dict[str, Any] = json.loads(json.dumps(doc))  # as read back from results.json
    return out


@pytest.fixture(scope="module")
def deep(
    mnist: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ReproduceResult, dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("deep")
    result = reproduce_run(TINY, dataset=mnist)
    return result, document(result, folder), folder


def test_deep_adds_the_depth_part_its_figure_and_findings(
    deep: tuple[ReproduceResult, dict[str, Any], Path],
) -> None:
    result, doc, _ = deep
    assert result.completed == ["symmetry", "probe", "glorot", "compare", "depth"] and not result.partial
    assert result.figure_names()[-1] == "depth" and "depth" not in FIGURES
    assert errors(doc, "reproduce") == []
    part = doc["parts"]["depth"]
    assert (
        part["config"]["depths"] == [1, 4, 12] and part["config"]["model"] == "mlp(layers={depth}, width=16)"
    )
    assert part["config"]["inits"] == ["std=0.01: normal(std=0.01)", "Xavier: lecun_normal", "He: he_normal"]
    assert doc["findings"]["depth"] == depth_facts(part).to_dict() == part["findings"]
    assert doc["seconds"]["depth"] > 0
    page = result._repr_html_()
    assert (
        "Trainable depth (--deep):" in page and "completed: symmetry, probe, glorot, compare, depth" in page
    )


def test_the_report_has_the_depth_section_with_measured_numbers_only(
    deep: tuple[ReproduceResult, dict[str, Any], Path],
) -> None:
    _, doc, folder = deep
    report = build(doc, folder)
    md = report.markdown
    section = md.split("\n## Trainable depth\n")[1].split("\n## ")[0]
    found = doc["findings"]["depth"]
    for line in found["statements"]:
        assert f"- {line}" in section
    assert "**Depth.** " + found["summary"] in md  # in the answer and the conclusion
    assert "![" in section and "(depth.png)" in section and 'id="fig-depth"' in report.html
    assert unquoted(md, report.findings) == []  # every number of the report is in results.json
    forged = md.replace("after 40 iterations", "after 41 iterations", 1)
    assert unquoted(forged, report.findings) == ["41"]  # negative control
    assert "`initlab reproduce --seed 0 --deep`" in md


def test_without_deep_nothing_changes(reproduce_quick: Path) -> None:
    """``make demo``'s run: no depth part, no depth findings, no section, no figure, no --deep."""
    doc = json.loads((reproduce_quick / "results.json").read_text())
    assert "depth" not in doc["parts"] and "depth" not in doc["findings"] and "depth" not in doc["completed"]
    assert doc["config"]["deep"] is False
    md = (reproduce_quick / "report.md").read_text()
    assert "Trainable depth" not in md and "**Depth.**" not in md and "--deep" not in md
    assert not (reproduce_quick / "depth.png").exists()


def test_stopped_during_the_depth_part_keeps_the_finished_depths(mnist: Dataset, tmp_path: Path) -> None:
    state = {"stop": False}

    def progress(done: int, total: int, part: str = "", **info: Any) -> None:
        if part == "depth" and "depth" in info:  # a depth finished: Ctrl-C now
            state["stop"] = True

    cfg = replace(TINY, deep_iterations=5)
    result = reproduce_run(cfg, dataset=mnist, progress=progress, should_stop=lambda: state["stop"])
    assert result.partial and result.depth is not None and result.depth.partial
    assert result.completed == ["symmetry", "probe", "glorot", "compare"]  # the finished parts are kept
    assert {r.depth for r in result.depth.rows} == {1}
    doc = document(result, tmp_path)
    assert errors(doc, "reproduce") == []
    assert doc["findings"]["depth"]["summary"].startswith("Partial run: 1 of 3 depths finished (depth 1). ")
    md = build(doc, tmp_path).markdown
    assert "Interrupted: only depths 1 finished." in md
    assert unquoted(md, derive(doc)) == []
