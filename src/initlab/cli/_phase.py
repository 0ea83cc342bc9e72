"""``initlab phase``: test accuracy over (sigma_w^2, sigma_b^2), or over (sigma_w^2, depth) with
``--view depth``, with the mean-field theory over it.

Thin: flags from :class:`~initlab.studies.phase.PhaseConfig`; the choreography of :mod:`._study`
(run folder with ``config.json``, ``results.json``, ``phase.png``/``.svg`` or ``phase_depth.png``);
then the accuracy grid as a table: rows sigma_b^2, columns sigma_w^2, with the theory's boundary per
row; or (the depth view) rows depth L, with 6 xi_c and the deepest trained L per sigma_w^2.
"""

from __future__ import annotations

import math
from typing import Any

from ..data import Dataset
from ..studies import phase as phase_study
from ..studies.phase import PhaseConfig, PhaseDepthResult, PhaseResult
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand


def _before(cfg: PhaseConfig, ds: Dataset) -> str:
    ws, bs = cfg.axes()
    rows = len(cfg.depth_values()) if cfg.view == "depth" else len(bs)
    n = len(ws) * rows * cfg.seeds
    return f"Phase diagram: {n} models ({len(ws)} x {rows} grid, {cfg.seeds} seed(s)) on {ds.name}."


def _depth_report(result: PhaseDepthResult) -> None:
    out, cfg = console(), result.config
    cols = ["L \\ sigma_w^2", *(f"{w:g}" for w in result.sigma_w2)]
    rows = [
        [str(d), *("-" if a is None else f"{100 * a:.1f}" for a in accs)]
        for d, accs in reversed(list(zip(result.depths, result.accuracy, strict=True)))
    ]
    rows.append(["6 xi_c", *(f"{v:.1f}" if math.isfinite(v) else "inf" for v in result.six_xi_c())])
    rows.append(["deepest trained", *("-" if v is None else str(v) for v in result.deepest_trained())])
    title = f"initlab phase --view depth: test accuracy % at sigma_b^2 = {result.sigma_b2:g}" + (
        " (partial)" if result.partial else ""
    )
    out.print(table(title, cols, rows))
    ag = result.agreement()
    crit = result.theory["critical_sigma_w2"]
    out.print(
        f"chi_1 = 1 at sigma_w^2 = {crit:.3f}. Trained (accuracy >= {100 * cfg.trainable:g}%) exactly "
        f"where L <= 6 xi_c at {ag['agree']} of {ag['points']} points; trained beyond 6 xi_c: "
        f"{ag['trained_beyond']}, not trained within: {ag['failed_within']}."
    )


def report(result: PhaseResult | PhaseDepthResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    if isinstance(result, PhaseDepthResult):
        _depth_report(result)
        _footer(result, folder)
        return
    cols = ["sigma_b^2 \\ sigma_w^2", *(f"{w:g}" for w in result.sigma_w2), "chi_1=1 at sigma_w^2"]
    rows = []
    for b, accs in zip(result.sigma_b2, result.accuracy, strict=True):
        edge = result.boundary_at(b)
        cells = ["-" if a is None else f"{100 * a:.1f}" for a in accs]
        rows.append([f"{b:g}", *cells, f"{edge:.3f}"])
    title = "initlab phase: test accuracy %" + (" (partial)" if result.partial else "")
    out.print(table(title, cols, rows))
    _footer(result, folder)


def _footer(result: PhaseResult | PhaseDepthResult, folder: RunFolder) -> None:
    out, sw = console(), result.sweep
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
    help="phase diagram: accuracy over (sigma_w^2, sigma_b^2) or (sigma_w^2, depth) against chi_1 = 1 "
    "and 6 xi_c",
    description="Train a deep MLP from variance(w, b) at every point of a (sigma_w^2, sigma_b^2) grid "
    "and draw the test accuracy with the mean-field theory over it: the order-to-chaos boundary "
    "chi_1 = 1 and the contour 6 xi_c = L of trainable depth (Schoenholz et al. 2017). With --view "
    "depth: a (sigma_w^2, depth L) grid at one --sigma-b2 (0.05) over --depths, against the curve "
    "L = 6 xi_c(sigma_w^2). Defaults finish in minutes on 2 CPU cores; --full is the fine grid for a "
    "GPU or a cluster.",
    out="runs/phase-{time}",
    report=report,
    bar="phase",
    before=_before,
)
