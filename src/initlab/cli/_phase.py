"""``initlab phase``: test accuracy over (sigma_w^2, sigma_b^2) with the mean-field theory over it.

Thin: flags from :class:`~initlab.studies.phase.PhaseConfig`; the choreography of :mod:`._study`
(run folder with ``config.json``, ``results.json``, ``phase.png``/``.svg``); then the accuracy grid
as a table, rows sigma_b^2, columns sigma_w^2, with the theory's boundary per row.
"""

from __future__ import annotations

from typing import Any

from ..data import Dataset
from ..studies import phase as phase_study
from ..studies.phase import PhaseConfig, PhaseResult
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand


def _before(cfg: PhaseConfig, ds: Dataset) -> str:
    ws, bs = cfg.axes()
    n = len(ws) * len(bs) * cfg.seeds
    return f"Phase diagram: {n} models ({len(ws)} x {len(bs)} grid, {cfg.seeds} seed(s)) on {ds.name}."


def report(result: PhaseResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    cols = ["sigma_b^2 \\ sigma_w^2", *(f"{w:g}" for w in result.sigma_w2), "chi_1=1 at sigma_w^2"]
    rows = []
    for b, accs in zip(result.sigma_b2, result.accuracy, strict=True):
        edge = result.boundary_at(b)
        cells = ["-" if a is None else f"{100 * a:.1f}" for a in accs]
        rows.append([f"{b:g}", *cells, f"{edge:.3f}"])
    title = "initlab phase: test accuracy %" + (" (partial)" if result.partial else "")
    out.print(table(title, cols, rows))
    sw = result.sweep
    out.print(
        f"{sw.trained} models trained, {sw.skipped} found in the store; {sw.wall_seconds:.1f} s. "
        f"Run folder: {folder.path}"
    )
    if result.partial:
        out.print("Interrupted: finished ensembles are stored (with --store, rerun to train the rest).")


COMMAND = StudyCommand(
    name="phase",
    config=PhaseConfig,
    run=phase_study.run,
    help="phase diagram: accuracy over (sigma_w^2, sigma_b^2) against chi_1 = 1 and 6 xi_c",
    description="Train a deep MLP from variance(w, b) at every point of a (sigma_w^2, sigma_b^2) grid "
    "and draw the test accuracy with the mean-field theory over it: the order-to-chaos boundary "
    "chi_1 = 1 and the contour 6 xi_c = L of trainable depth (Schoenholz et al. 2017, Fig. 5). "
    "Defaults finish in minutes on 2 CPU cores; --full is the fine grid for a GPU or a cluster.",
    out="runs/phase-{time}",
    report=report,
    bar="phase",
    before=_before,
)
