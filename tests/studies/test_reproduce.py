"""``initlab reproduce``: the run folder, numbers traced to results.json, and conclusions that follow
the measurements."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from initlab import InitlabError
from initlab.report import FIGURES, build, derive
from initlab.report.build import render_markdown
from initlab.report.findings import fmt, iterations_to, sig
from initlab.studies.reproduce import PARTS, ReproduceConfig, reproduce
from initlab.studies.symmetry_findings import symmetry_facts
from reproduce_helpers import numeric_leaves, quoted_numbers, unquoted


@pytest.fixture(scope="module")
def run_dir(reproduce_quick: Path) -> Path:
    return reproduce_quick


@pytest.fixture(scope="module")
def doc(run_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    return result


def _markdown(doc: dict[str, Any]) -> str:
    return render_markdown(doc, set(FIGURES))[0]


# -- the --quick run end to end ---------------------------------------------------------------------


def test_quick_run_folder_is_complete(run_dir: Path, doc: dict[str, Any]) -> None:
    names = {p.name for p in run_dir.iterdir()}
    expected = {"config.json", "results.json", "report.html", "report.md"}
    expected |= {f"{stem}.{ext}" for stem in FIGURES for ext in ("png", "svg")}
    assert expected <= names, sorted(expected - names)
    assert not [n for n in names if n.endswith(".part")]  # no half-written file left behind
    assert doc["partial"] is False and doc["quick"] is True
    assert doc["completed"] == list(PARTS)
    assert json.loads((run_dir / "config.json").read_text())["command"] == "reproduce"
    for stem in FIGURES:
        assert (run_dir / f"{stem}.png").stat().st_size > 10_000  # a real image, not an empty canvas


def test_every_number_in_report_md_is_a_value_in_results_json(run_dir: Path, doc: dict[str, Any]) -> None:
    md = (run_dir / "report.md").read_text()
    numbers = quoted_numbers(md)
    assert len(numbers) > 200  # the report is full of measured numbers ...
    assert unquoted(md, doc["findings"]) == []  # ... and each one is in results.json's findings
    # the one section the check leaves out is the bibliography, last, and holds nothing but references
    head, refs = md.split("\n## References\n")
    assert "## Setup" in head and "## " not in refs
    assert all(line.startswith("- ") and "(" in line for line in refs.strip().splitlines() if line)


def test_number_check_catches_a_number_that_is_not_in_results(doc: dict[str, Any]) -> None:
    md = _markdown(doc)
    assert unquoted(md, doc["findings"]) == []
    forged = md.replace("test accuracy", "test accuracy 97.531% (claimed)", 1)
    assert unquoted(forged, doc["findings"]) == ["97.531"]
    # numbers inside code spans (labels, specs, versions) and in file names are not quotes
    assert quoted_numbers("`std=0.01` ![a plot](fig2.png) layer-1 x -0.5, 1.31e-6") == [
        "1",
        "-0.5",
        "1.31e-6",
    ]


def test_findings_in_results_are_derived_from_its_measurements(doc: dict[str, Any]) -> None:
    assert derive(doc) == doc["findings"]
    mnist = doc["findings"]["mnist"]
    for s in mnist["schemes"]:  # spot-check against the raw runs
        accs = [100 * r["test_accuracy"] for r in doc["parts"]["compare"]["runs"] if r["label"] == s["label"]]
        assert s["accuracy_pct"] == round(sum(accs) / len(accs), 2)
    relu = doc["parts"]["probe"]["activations"]["relu"]["runs"]
    he = next(r for r in relu if r["label"] == "He")
    stds = [la["std"] for la in he["layers"]]
    found = doc["findings"]["histograms"]["activations"]["relu"]["schemes"]
    assert next(s for s in found if s["label"] == "He")["std_ratio"] == sig(max(stds) / min(stds))


def test_report_html_is_self_contained(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text()
    assert "<script" not in html.lower()
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(srcs) == len(FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', html)
    assert len(alts) == len(FIGURES) and all(len(a) > 20 for a in alts)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # no external resource
    headings = ["The question", "Zero, constant and random weights", "Activation histograms", "Conclusion"]
    for heading in [*headings, "Training on MNIST", "Setup"]:
        assert heading in html


def test_report_md_references_the_figures_beside_it(run_dir: Path) -> None:
    md = (run_dir / "report.md").read_text()
    refs = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", md)
    assert refs == [f"{stem}.png" for stem in FIGURES]
    assert all((run_dir / r).is_file() for r in refs)


def test_setup_note_has_versions_seed_hardware_and_wall_time(run_dir: Path, doc: dict[str, Any]) -> None:
    md = (run_dir / "report.md").read_text()
    env = doc["environment"]
    for value in (env["torch"], env["python"], env["initlab"], env["cpu"]):
        assert f"`{value}`" in md
    for part in ("symmetry", "probe", "compare", "figures"):
        assert doc["seconds"][part] > 0
        assert f"{fmt(doc['findings']['setup']['seconds'][part], 1)} s" in md


# -- conclusions follow the measurements ------------------------------------------------------------


def _loss_curve(n: int, reach: int) -> list[float]:
    """A loss falling linearly from 2.3 to 0.5 at iteration ``reach``, then on to 0.3."""
    out = []
    for t in range(1, n + 1):
        v = 2.3 - 1.8 * t / reach if t <= reach else max(0.5 - 0.2 * (t - reach) / max(n - reach, 1), 0.3)
        out.append(v)
    return out


def _with_speeds(doc: dict[str, Any], reach: dict[str, int | None]) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    new.pop("findings")
    part = new["parts"]["compare"]
    n = part["iterations_done"]
    for r in part["runs"]:
        at = reach[r["label"]]
        r["train_loss"] = _loss_curve(n, at) if at is not None else [2.30] * n
    return new


def test_he_slower_than_xavier_changes_the_conclusion(doc: dict[str, Any]) -> None:
    n = doc["parts"]["compare"]["iterations_done"]
    he_first = _markdown(_with_speeds(doc, {"He": n // 3, "Xavier": 2 * n // 3, "std=0.01": None}))
    assert "`He` reached a training loss of 0.5 first" in he_first
    assert "As in the classic study, `He` learned fastest." in he_first
    assert "`std=0.01` did not reach a training loss of 0.5" in he_first

    xavier_first = _markdown(_with_speeds(doc, {"He": 2 * n // 3, "Xavier": n // 3, "std=0.01": None}))
    assert "`Xavier` reached a training loss of 0.5 first" in xavier_first
    assert "`He` reached a training loss of 0.5 first" not in xavier_first
    assert "The classic study found `He` fastest; in this run `Xavier` reached 0.5 first." in xavier_first
    assert "this run measured `Xavier` first to a training loss of 0.5" in xavier_first
    f = derive(_with_speeds(doc, {"He": 2 * n // 3, "Xavier": n // 3, "std=0.01": None}))
    speeds = {s["label"]: s["iterations_to_target_mean"] for s in f["mnist"]["schemes"]}
    assert f["mnist"]["fastest"] == "Xavier" and speeds["Xavier"] < speeds["He"]
    assert (
        f"`Xavier` reached a training loss of 0.5 first after {speeds['Xavier']} iterations" in xavier_first
    )


def _set_tanh(doc: dict[str, Any], label: str, stds: list[float], saturated: float) -> None:
    runs = doc["parts"]["probe"]["activations"]["tanh"]["runs"]
    run = next(r for r in runs if r["label"] == label)
    for la, s in zip(run["layers"], stds, strict=True):
        la["std"] = s
        la["saturated_fraction"] = saturated


def test_recommendation_follows_the_measured_stds(doc: dict[str, Any]) -> None:
    new = copy.deepcopy(doc)
    new.pop("findings")
    _set_tanh(new, "Xavier", [0.6, 0.58, 0.57, 0.57, 0.56], 0.01)
    _set_tanh(new, "He", [0.8, 0.7, 0.65, 0.6, 0.6], 0.30)  # saturated beyond the 25% limit
    f = derive(new)
    tanh = f["histograms"]["activations"]["tanh"]
    assert tanh["recommended"] == "Xavier" and tanh["agrees_with_classic"]
    assert "30.0% of layer 1's outputs were saturated" in tanh["statement"]
    assert "The classic study recommends `Xavier` for tanh; this run agrees." in tanh["statement"]

    _set_tanh(new, "He", [0.7, 0.69, 0.69, 0.68, 0.68], 0.05)  # now He is the more even one
    f = derive(new)
    tanh = f["histograms"]["activations"]["tanh"]
    assert tanh["recommended"] == "He" and not tanh["agrees_with_classic"]
    assert any("For tanh the classic study recommends `Xavier`" in d for d in f["departures"])
    assert "tanh: `He`" in _markdown(new)


def test_collapse_and_ratio_limits_are_applied_to_the_quoted_numbers(doc: dict[str, Any]) -> None:
    new = copy.deepcopy(doc)
    new.pop("findings")
    _set_tanh(new, "Xavier", [0.6, 0.3, 0.3, 0.3, 0.3], 0.0)  # ratio exactly 2: passes
    _set_tanh(new, "He", [0.6, 0.3, 0.3, 0.3, 0.2999], 0.0)  # 2.0007 is quoted as 2 too: passes
    tanh = derive(new)["histograms"]["activations"]["tanh"]
    assert set(tanh["passed"]) == {"Xavier", "He"}
    _set_tanh(new, "He", [0.6, 0.6, 0.6, 0.6, 0.6], 0.0)
    _set_tanh(new, "Xavier", [0.05, 0.05, 0.05, 0.05, 0.05], 0.0)  # even, but below a tenth of tanh's 0.63
    tanh = derive(new)["histograms"]["activations"]["tanh"]
    xavier = next(s for s in tanh["schemes"] if s["label"] == "Xavier")
    assert xavier["collapsed"] and not xavier["passes"]


def test_symmetry_statements_follow_the_measurements(doc: dict[str, Any]) -> None:
    f = doc["findings"]["symmetry"]
    by = {c["label"]: c for c in f["cases"]}
    assert by["zeros"]["distinct_max"] == 1 and by["zeros"]["hidden_gradients_zero"]
    assert "exactly 0" in by["zeros"]["statement"]
    assert by["uniform(a=-2, b=2)"]["diverged_at"] is not None
    assert "only `He` learned" in f["summary"]
    new = copy.deepcopy(doc)
    new.pop("findings")
    zeros = next(c for c in new["parts"]["symmetry"]["cases"] if c["label"] == "zeros")
    zeros["distinct_units"] = [[100] * len(row) for row in zeros["distinct_units"]]
    zeros["grad_max"] = [[0.1] * len(row) for row in zeros["grad_max"]]
    zeros["train_loss"] = [0.3] * len(zeros["train_loss"])
    # the symmetry study's facts, stored with its measurements, are what the report quotes
    new["parts"]["symmetry"]["facts"] = symmetry_facts(new["parts"]["symmetry"]).to_dict()
    g = derive(new)["symmetry"]
    assert "only" not in g["summary"] and "`zeros` and `He` learned" in g["summary"]


# -- units ------------------------------------------------------------------------------------------


def test_iterations_to_target_uses_a_trailing_window() -> None:
    assert iterations_to([1.0, 0.7, 0.4, 0.45], 0.5, 2) == 4  # (0.4 + 0.45) / 2 <= 0.5
    assert iterations_to([1.0, 0.7, 0.4, 0.65], 0.5, 2) is None
    assert iterations_to([0.1], 0.5, 2) is None  # the window is never full
    assert iterations_to([1.0, math.nan, 0.1, 0.1], 0.5, 1) is None  # diverged


def test_fmt_round_trips_every_stored_number() -> None:
    for v in [0.0, 1.0, 93.42, 0.0124, 1.31e-6, 2.6e6, 44700.0, -0.5, 1e-4, 123456.0]:
        assert float(fmt(v)) == v
    assert fmt(2.0, 3) == "2.000" and fmt(7, 1) == "7"


def test_numeric_leaves_skips_booleans() -> None:
    assert numeric_leaves({"a": [1, 2.5, True, None, "3"], "b": {"c": False}}) == {1.0, 2.5}


# -- interruption -----------------------------------------------------------------------------------


def test_interrupted_run_reports_what_finished(tmp_path: Path) -> None:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 40  # during the symmetry lab's training

    cfg = ReproduceConfig.quick_config()
    res = reproduce(cfg, should_stop=stop)
    assert res.interrupted and res.symmetry is not None and res.symmetry.interrupted
    assert res.compare is None and not res.probes and res.completed == []
    doc = res.to_dict()
    assert doc["partial"] is True
    for stem, fig in res.figures().items():
        fig.savefig(tmp_path / f"{stem}.png", dpi=40)
    report = build(doc, tmp_path)
    assert "Partial run" in report.markdown and "Not run" in report.markdown
    assert "Interrupted: these numbers cover the first" in report.markdown
    assert unquoted(report.markdown, report.findings) == []


def test_quick_and_a_config_together_are_an_error() -> None:
    with pytest.raises(InitlabError, match="not both"):
        reproduce(ReproduceConfig(), quick=True)
