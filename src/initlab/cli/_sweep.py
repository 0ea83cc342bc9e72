"""``initlab sweep``: a grid of trainings into a resumable results store.

Thin: flags from :class:`~initlab.studies.sweep.SweepConfig` (``--grid FILE`` reads a TOML file,
:func:`~initlab.studies.sweep.config_from_toml`; a flag may not repeat one of its settings); the
choreography of :mod:`._study` (run folder with ``config.json``, ``results.json``, ``sweep.png``);
then a table: per cell without its seed, the test accuracy's mean and 95% bootstrap interval. With
``--store FILE`` the rows are kept in SQLite and a rerun trains only the cells not stored yet.
"""

from __future__ import annotations

import math
from typing import Any

from ..data import Dataset
from ..studies import sweep as sweep_study
from ..studies.sweep import SweepConfig, SweepResult, config_from_toml
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand


def _base(given: dict[str, Any]) -> SweepConfig:
    """``--grid FILE``: the TOML file's config, which the other flags extend (never repeat)."""
    path = given.get("grid")
    return config_from_toml(path, given) if path is not None else SweepConfig()


def _before(cfg: SweepConfig, ds: Dataset) -> str:
    n = len(cfg.cells())
    where = f"store {cfg.store}: stored cells are skipped" if cfg.store else "no --store: nothing kept"
    return f"Sweep of {n} cell{'s' if n != 1 else ''} ({where}; Ctrl-C keeps every finished ensemble)."


def _pct(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{100 * v:.2f}"


def report(result: SweepResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    cols = [*result.varying(), "seeds", "test accuracy % (95% CI)", "final loss", "diverged"]
    if not result.varying():
        cols = ["init", *cols]
    rows = []
    for r in result.summary():
        low, high = _pct(r["test_accuracy_low"]), _pct(r["test_accuracy_high"])
        acc = f"{_pct(r['test_accuracy_mean'])} [{low}, {high}]"
        loss = r["final_loss_mean"]
        keys = cols[:-4] if result.varying() else ["init"]
        rows.append(
            [
                *(str(r.get(c)) for c in keys),
                r["seeds"],
                acc,
                "-" if loss is None else f"{loss:.4f}",
                f"{r['diverged']}/{r['seeds']}",
            ]
        )
    title = "initlab sweep" + (" (partial)" if result.partial else "")
    out.print(table(title, cols, rows))
    out.print(
        f"{result.trained} cells trained, {result.skipped} found in the store, {len(result.rows)} of "
        f"{len(result.cells)} stored; {result.wall_seconds:.1f} s. Run folder: {folder.path}"
    )
    if result.partial:
        out.print("Interrupted: finished ensembles are stored; rerun the same command to train the rest.")


COMMAND = StudyCommand(
    name="sweep",
    config=SweepConfig,
    run=sweep_study.run,
    help="train a grid of models (models, schemes and their parameters, optimizers, lr) into a store",
    description="Train every cell of a grid (from flags or a TOML file with --grid): datasets, model "
    "specs and their parameters (--model-param layers=10,20), activations, init specs and their "
    "parameters (--init variance --init-param w=1:4:7 --init-param b=0.05), optimizers, learning rates "
    "and iteration counts, times --seeds replicates. Cells that share an architecture and training "
    "settings train as one ensemble. With --store FILE every model's row goes to SQLite as its "
    "ensemble finishes, and a rerun trains only the cells not stored yet.",
    out="runs/sweep-{time}",
    report=report,
    bar="sweep",
    base=_base,
    before=_before,
)
