"""``initlab depth``: which initialization trains at which depth, measured.

Thin: flags from :class:`~initlab.studies.depth.DepthConfig`; :mod:`._study` runs the study with a
progress bar (one tick per depth) and writes the run folder (``config.json``, ``results.json``,
``depth.png``/``.svg``) and prints a (depth, init) table, then the findings computed from the run
(:mod:`initlab.studies.depth_findings`) and the sizes used.
Ctrl-C stops after the current training step; the depths finished are written, marked
``"partial": true``, and the command exits 130.
"""

from __future__ import annotations

from typing import Any

from ..data import Dataset
from ..studies import depth as depth_study
from ..studies.depth import DepthConfig, DepthResult
from ..studies.depth_findings import plain
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand


def _before(cfg: DepthConfig, ds: Dataset) -> str:
    models = len(cfg.depths) * len(cfg.inits) * cfg.seeds
    return (
        f"Training {models} models ({len(cfg.depths)} depths x {len(cfg.inits)} inits x {cfg.seeds} seeds) "
        f"on {ds.name}: {cfg.model}, {cfg.iterations} iterations, batch {cfg.batch_size}, lr {cfg.lr:g} "
        "(Ctrl-C stops after the current step and keeps the finished depths)."
    )


def summary_table(result: DepthResult) -> Any:
    """One row per (depth, init): mean test accuracy over seeds, diverged seeds, signal at init."""
    rows = [
        [
            s["depth"],
            s["label"],
            f"{100 * s['accuracy']:.2f}%",
            "-" if s["final_loss"] is None else f"{s['final_loss']:.4f}",
            f"{s['diverged']}/{s['seeds']}",
            f"{s['init_signal_std']:.3g}",
        ]
        for s in result.summary()
    ]
    cols = ["depth", "init", "test accuracy (mean)", "final train loss", "diverged", "signal std at init"]
    return table("initlab depth" + (" (partial)" if result.partial else ""), cols, rows)


def report(result: DepthResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    cfg = result.config
    out.print(summary_table(result))
    out.print("Findings (from this run's numbers; also in results.json under 'findings'):", markup=False)
    for line in doc["findings"]["statements"]:
        out.print(f"- {plain(line)}", markup=False, highlight=False)
    out.print(
        f"Sizes: {cfg.model}, depths {', '.join(str(d) for d in cfg.depths)}, {cfg.seeds} seed(s), "
        f"{cfg.iterations} iterations, eval on {cfg.eval_size or 'all'} test images "
        "(small CPU defaults: larger grids by flags or on a GPU).",
        markup=False,
    )
    out.print(f"Trained in {result.wall_seconds:.1f} s. Run folder: {folder.path}", markup=False)
    if result.partial:
        done = len({r.depth for r in result.rows})
        out.print(
            f"Interrupted after {done} of {len(cfg.depths)} depths: results marked partial.", markup=False
        )


COMMAND = StudyCommand(
    name="depth",
    config=DepthConfig,
    run=depth_study.run,
    help="train a family at several depths from several inits: which init trains at which depth",
    description="Train every (depth, init, seed) of a model family for a fixed budget (all models of "
    "one depth as one ensemble) and record the test accuracy, final training loss, divergence and "
    "the signal std at initialization; mark the deepest depth each init trains to and, for mlp, the "
    "mean-field depth scale 6 xi_c (Schoenholz et al. 2017). Defaults are small, for 2 CPU cores: "
    "mlp(layers={depth}, width=64), depths 2-50, 2 seeds, 300 SGD iterations, 2000 test images.",
    out="runs/depth-{time}",
    report=report,
    bar="depths",
    before=_before,
)
