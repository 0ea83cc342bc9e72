"""``initlab reproduce``: the whole classic study as one self-contained report.

Thin: flags from :class:`~initlab.studies.reproduce.ReproduceConfig` (``--quick`` starts from its
smoke version); :mod:`._study` runs the study with one progress bar and writes ``config.json``,
``results.json`` and every figure as PNG and SVG; this module adds the findings the report quotes
to ``results.json``, writes ``report.html`` (self-contained) and ``report.md``, and prints where the
report is. Ctrl-C stops after the current training step; what finished is written and reported,
marked partial, and the command exits 130 (a second Ctrl-C aborts at once).
"""

from __future__ import annotations

from typing import Any

from ..report import build, derive
from ..studies import reproduce as reproduce_study
from ..studies.reproduce import ReproduceConfig, ReproduceResult
from ._console import console
from ._runfolder import RunFolder
from ._study import StudyCommand


def _base(given: dict[str, Any]) -> ReproduceConfig:
    """``--quick`` starts from the smoke configuration; the other flags apply on top."""
    seed = given.get("seed", ReproduceConfig().seed)
    return ReproduceConfig.quick_config(seed) if given.get("quick") else ReproduceConfig()


def _document(result: ReproduceResult, doc: dict[str, Any], folder: RunFolder, figure_seconds: float) -> None:
    """Timings of the figures, the findings, and the report beside them (``report.md``, ``report.html``)."""
    doc["seconds"]["figures"] = figure_seconds
    doc["findings"] = derive(doc)
    rep = build(doc, folder.path)
    folder.write_text("report.md", rep.markdown)
    folder.write_text("report.html", rep.html)


def report(result: ReproduceResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    for line in _answer(doc["findings"]):
        out.print(f"- {line}", markup=False, highlight=False)
    secs = doc["seconds"]
    out.print(
        f"Ran in {secs['total']:.1f} s (+ {secs['figures']:.1f} s for figures). Run folder: {folder.path}",
        markup=False,
    )
    out.print(f"Report: {(folder.path / 'report.html').resolve()}", markup=False)
    if result.interrupted:
        out.print("Interrupted (Ctrl-C): wrote what finished, marked partial.", markup=False)


COMMAND = StudyCommand(
    name="reproduce",
    config=ReproduceConfig,
    run=reproduce_study.run,
    help="the whole classic initialization study as one self-contained report (HTML + Markdown)",
    description="Run the classic weight-initialization study end to end -- zero vs constant vs random "
    "weights, per-layer activation histograms for sigmoid, ReLU and tanh (with true Glorot beside the "
    "book's 'Xavier'), and the MNIST comparison of std=0.01, Xavier and He over several seeds; with --deep "
    "also the depth study (which of them trains plain ReLU nets at which depth) -- and "
    "write report.html, report.md and results.json whose every statement is computed from this run.",
    out="runs/reproduce",
    report=report,
    bar="reproduce",
    base=_base,
    document=_document,
)


def _answer(findings: dict[str, Any]) -> list[str]:
    """The report's headline statements, as plain terminal text."""
    lines = []
    if findings["symmetry"] is not None:
        lines.append(findings["symmetry"]["summary"])
    lines += [r["statement"] for r in findings["recommendations"]]
    if findings["mnist"] is not None:
        lines.append(findings["mnist"]["statements"][0])
    if findings.get("depth") is not None:  # --deep
        lines.append("Depth. " + findings["depth"]["summary"])
    return [line.replace("`", "") for line in lines]
