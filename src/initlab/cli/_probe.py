"""``initlab probe``: per-layer activation/gradient statistics, histograms and mean-field theory.

Thin: flags from :class:`~initlab.studies.probe.ProbeConfig`, the run by :mod:`._study`; here only the tables.
"""

from __future__ import annotations

import math
from typing import Any

from ..studies import probe as probe_study
from ..studies.probe import ProbeResult, SpecProbe
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand


def report(result: ProbeResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    for spec_run in result.runs:
        out.print(table(*_table(result, spec_run)))
    out.print(f"wrote {folder.path}: {', '.join(folder.files)}")


def memory(cfg: probe_study.ProbeConfig) -> int:
    """Peak bytes, roughly: every model's activations and gradients at every layer, and its weights."""
    models = len(cfg.inits) * cfg.seeds
    d = cfg.input_dim or (784 if cfg.input != "gaussian" else cfg.width)
    per_model = cfg.samples * (d + 4 * cfg.width * cfg.layers) + d * cfg.width + cfg.width**2 * cfg.layers
    return 4 * models * per_model


COMMAND = StudyCommand(
    name="probe",
    config=probe_study.ProbeConfig,
    run=probe_study.run,
    help="activation histograms and per-layer statistics at init, with mean-field theory beside them",
    description="Run an MLP of LAYERS hidden layers x WIDTH units under each --init (all specs x seeds "
    "in one stacked forward/backward pass) and record, per layer: the activation histogram, mean, "
    "std, saturated/zero/dead fractions, non-finite counts, and the std of the gradients for a "
    "unit-variance Gaussian cotangent injected at the last layer; the mean-field prediction stands "
    "beside them. Writes config.json, results.json (schema: docs/results-probe.md), "
    "histograms.png/svg and summary.png/svg to --out.",
    out="runs/probe",
    report=report,
    memory=memory,
)


def _table(result: ProbeResult, spec_run: SpecProbe) -> tuple[str, list[str], list[list[Any]]]:
    mf = spec_run.mean_field
    title = f"{spec_run.label} ({spec_run.spec}), {result.activation}"
    if mf is not None and mf.regime == "divergent":
        title += ": the variance diverges with depth (no mean-field fixed point)"
    elif mf is not None:
        title += f": chi_1 = {mf.chi_1:.3g}, {mf.regime}, q* = {mf.q_star:.3g}"
    else:
        title += ": mean-field theory does not apply to this scheme"
    cols = ["layer", "std", "theory", "mean", "saturated", "zero", "dead", "NaN/Inf", "grad std", "theory"]
    rows: list[list[Any]] = []
    for la in spec_run.layers:
        d = la.to_dict()
        rows.append(
            [
                la.layer,
                _num(d["std"]),
                _num(d["theory_std"]),
                _num(d["mean"]),
                _num(d["saturated_fraction"]),
                _num(d["zero_fraction"]),
                _num(d["dead_fraction"]),
                d["nonfinite"],
                _num(d["grad_std"]),
                _num(d["theory_grad_std"]),
            ]
        )
    return title, cols, rows


def _num(v: float | None) -> float | str | None:
    if v is None:
        return None
    return v if math.isfinite(v) else str(v)
