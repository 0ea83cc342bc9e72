"""``initlab depth``: which initialization trains at which depth, measured.

Thin: flags from :class:`~initlab.studies.depth.DepthConfig`; :mod:`._study` runs the study with a
progress bar (one tick per depth) and writes the run folder (``config.json``, ``results.json``,
``depth.png``/``.svg``) and prints a (depth, init) table and the deepest depth each init trains to.
Ctrl-C stops after the current training step; the depths finished are written, marked
``"partial": true``, and the command exits 130.
"""

from __future__ import annotations

import math
from typing import Any

from ..data import Dataset
from ..studies import depth as depth_study
from ..studies.depth import DepthConfig, DepthResult
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
    by: dict[tuple[int, str], list[Any]] = {}
    for r in result.rows:
        by.setdefault((r.depth, r.label), []).append(r)
    rows = []
    for (depth, label), rs in by.items():
        acc = sum(r.accuracy for r in rs) / len(rs)
        losses = [r.final_loss for r in rs if math.isfinite(r.final_loss)]
        diverged = sum(r.diverged_at is not None for r in rs)
        std = sum(r.init_signal_std for r in rs) / len(rs)
        rows.append(
            [
                depth,
                label,
                f"{100 * acc:.2f}%",
                f"{sum(losses) / len(losses):.4f}" if losses else "-",
                f"{diverged}/{len(rs)}",
                f"{std:.3g}",
            ]
        )
    cols = ["depth", "init", "test accuracy (mean)", "final train loss", "diverged", "signal std at init"]
    return table("initlab depth" + (" (partial)" if result.partial else ""), cols, rows)


def report(result: DepthResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    cfg = result.config
    out.print(summary_table(result))
    for label in dict.fromkeys(r.label for r in result.rows):
        deepest = result.deepest(label)
        scale = result.depth_scale.get(label)
        pred = "" if scale is None or math.isnan(scale) else f"; mean-field depth scale 6 xi_c = {scale:.1f}"
        where = "none of the depths" if deepest is None else f"depth {deepest}"
        out.print(f"{label}: deepest trainable (accuracy > {100 * cfg.threshold:g}%): {where}{pred}")
    out.print(
        f"Sizes: {cfg.model}, depths {', '.join(str(d) for d in cfg.depths)}, {cfg.seeds} seed(s), "
        f"{cfg.iterations} iterations, eval on {cfg.eval_size or 'all'} test images "
        "(small CPU defaults: larger grids by flags or on a GPU)."
    )
    out.print(f"Trained in {result.wall_seconds:.1f} s. Run folder: {folder.path}")
    if result.partial:
        done = len({r.depth for r in result.rows})
        out.print(f"Interrupted after {done} of {len(cfg.depths)} depths: results marked partial.")


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
