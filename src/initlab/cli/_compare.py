"""``initlab compare``: train one network from several initializations and compare them.

Thin: flags from :class:`~initlab.studies.compare.CompareConfig`; :mod:`._study` runs the study with a
progress bar and writes the run folder (``config.json``, ``results.json``, ``compare.png``/``.svg``)
and prints a table. Ctrl-C stops training after the current step; what was trained is written,
marked ``"partial": true``, and the command exits 130 (a second Ctrl-C aborts at once).
"""

from __future__ import annotations

import math
from typing import Any

from ..data import Dataset
from ..studies import compare as compare_study
from ..studies.compare import CompareConfig, CompareResult
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand


def _before(cfg: CompareConfig, ds: Dataset) -> str:
    models = len(cfg.inits) * cfg.seeds
    return (
        f"Training {models} model{'s' if models > 1 else ''} on {ds.name} "
        "(Ctrl-C stops after the current step and keeps what was trained)."
    )


def report(result: CompareResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    cfg = result.config
    models = len(cfg.inits) * cfg.seeds
    out.print(summary_table(result))
    for note in result.notes:
        out.print(f"Note: {note}")
    tr = result.train
    out.print(
        f"Trained {models} models x {tr.iterations} iterations in {tr.train_seconds:.1f} s "
        f"(+ {tr.eval_seconds:.1f} s evaluating; {tr.wall_seconds:.1f} s in all). Run folder: {folder.path}"
    )
    if result.partial:
        out.print(
            f"Interrupted after {tr.iterations} of {cfg.iterations} iterations: results marked partial."
        )


def memory(cfg: CompareConfig) -> int:
    """Peak bytes, roughly: every model's weights (with optimizer state) and the activations of a
    mini-batch or of the 10,000-image test set (the larger), 784 inputs and 10 classes."""
    models = len(cfg.inits) * cfg.seeds
    rows = max(cfg.batch_size, 10_000)
    if cfg.model is not None:  # any family: its parameters and module outputs, counted on the meta device
        weights, acts = cfg.sizes()
        return 4 * models * (4 * weights + 3 * rows * acts)
    weights = 784 * cfg.width + cfg.width**2 * (cfg.layers - 1) + 10 * cfg.width
    return 4 * models * (4 * weights + 3 * rows * cfg.width * cfg.layers)


COMMAND = StudyCommand(
    name="compare",
    config=CompareConfig,
    run=compare_study.run,
    help="train one network from several inits on MNIST (the classic comparison), many models at once",
    description="Train the same network (the classic MLP, or any --model) from several "
    "initializations (all models at once, on the same mini-batches) and compare training loss "
    "and test accuracy. Defaults reproduce the classic "
    "MNIST comparison: 784-100-100-100-100-10 ReLU, biases zero, inits std=0.01, 'Xavier' "
    "(= lecun_normal, std 1/sqrt(n), as in the study) and He, SGD lr 0.01, batch 128 drawn with "
    "replacement, 2000 iterations.",
    out="runs/compare-{time}",
    report=report,
    bar="training",
    before=_before,
    memory=memory,
)


def summary_table(result: CompareResult) -> Any:
    rows = []
    for r in result.summary():
        acc = r["test_accuracy_mean"]
        if acc is None:
            acc_text = "-"
        elif r["seeds"] - r["diverged"] > 1:
            acc_text = f"{100 * acc:.2f}% ± {100 * r['test_accuracy_std']:.2f}"
        else:
            acc_text = f"{100 * acc:.2f}%"
        loss = r["final_train_loss"]
        rows.append(
            [
                r["label"],
                r["spec"],
                r["seeds"],
                "-" if loss is None or not math.isfinite(loss) else f"{loss:.4f}",
                acc_text,
                f"{r['diverged']}/{r['seeds']}",
            ]
        )
    cols = [
        "label",
        "spec",
        "seeds",
        f"train loss (last {result.config.smooth})",
        "test accuracy",
        "diverged",
    ]
    title = "initlab compare" + (" (partial)" if result.partial else "")
    return table(title, cols, rows)
