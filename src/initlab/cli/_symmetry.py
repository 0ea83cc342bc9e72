"""``initlab symmetry``: zero vs constant vs random initial weights, measured during training.

Thin: flags from :class:`~initlab.studies.symmetry.SymmetryConfig`, the run by :mod:`._study`;
here only the printout.
"""

from __future__ import annotations

import sys
from typing import Any

from ..data import dataset_info
from ..studies import symmetry as symmetry_study
from ..studies.symmetry import SymmetryResult
from ..studies.symmetry_findings import SymmetryFacts, explain
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand


def report(result: SymmetryResult, doc: dict[str, Any], folder: RunFolder) -> None:
    facts = SymmetryFacts.from_dict(doc["facts"])  # the findings the reproduce report quotes too
    out = console()
    rows = []
    for case, fact in zip(result.cases, facts.cases, strict=True):
        # the last step the model was alive at: a diverged case's later steps measure a frozen model
        units = " / ".join(str(v) for v in fact.distinct_units)
        if case.diverged_at is not None and fact.logged_at is not None:
            units += f" (step {fact.logged_at})"
        acc = fact.test_accuracy_pct
        rows.append(
            [
                case.label,
                units,
                case.diverged_at,
                f"{acc:.1f}%" if acc is not None else None,
            ]
        )
    out.print(
        table(
            "symmetry lab",
            ["case", "distinct units per layer (last live step)", "diverged at", "test acc"],
            rows,
        )
    )
    for line in explain(facts):
        out.print(f"- {line}")
    out.print(f"run folder: {folder.path}")
    if result.interrupted:
        print("interrupted (Ctrl-C): wrote the results so far, marked partial", file=sys.stderr)


def memory(cfg: symmetry_study.SymmetryConfig) -> int:
    """Peak bytes, roughly: every case's weights (with optimizer state) and the activations of a
    mini-batch or of the 10,000-image test set (the larger), 784 inputs and 10 classes."""
    cases = max(len(cfg.cases), 4)  # no --case: the four default cases
    layers, width = cfg.layers, cfg.width
    if cfg.model is not None:
        info = dataset_info(cfg.dataset)
        params = cfg.factory(info.image_shape, len(info.classes)).params
        layers, width = int(params["layers"]), int(params["width"])
    weights = 784 * width + width**2 * (layers - 1) + 10 * width
    rows = max(cfg.batch_size, cfg.rank_batch, 10_000)
    return 4 * cases * (4 * weights + 3 * rows * width * layers)


COMMAND = StudyCommand(
    name="symmetry",
    config=symmetry_study.SymmetryConfig,
    run=symmetry_study.run,
    help="why all-zero and constant initial weights fail, measured during training",
    description="Train one network per case on the same MNIST batches and track, per hidden "
    "layer, the number of distinct units, the effective rank of the activations and the weight "
    "gradient norm. Default cases: zeros, constant(value=0.5), uniform(a=-2, b=2) and he_normal "
    "(ReLU family) or xavier_normal (tanh, sigmoid, ...).",
    out="runs/symmetry",
    report=report,
    bar="symmetry",
    memory=memory,
)
