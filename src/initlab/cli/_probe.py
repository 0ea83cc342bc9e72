"""``initlab probe``: per-layer activation/gradient statistics, histograms and mean-field theory.

Thin: flags from :class:`~initlab.studies.probe.ProbeConfig`, the run by :mod:`._study`; here only the tables.
"""

from __future__ import annotations

import math
from typing import Any

from ..studies import probe as probe_study
from ..studies.probe import ProbeResult, SpecProbe
from ..studies.probe_models import estimate_bytes
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand


def report(result: ProbeResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    for spec_run in result.runs:
        out.print(table(*(_model_table(result, spec_run) if result.model else _table(result, spec_run))))
    out.print(f"wrote {folder.path}: {', '.join(folder.files)}")


def memory(cfg: probe_study.ProbeConfig) -> int:
    """Peak bytes, roughly: every model's activations and gradients at every layer, and its weights."""
    if cfg.model is not None:
        return estimate_bytes(cfg)
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
    "beside them. With --model SPEC (cnn(...), resnet(...), vit(...), mlp(...) or "
    "PACKAGE.MODULE:FACTORY) the same for every weighted layer, norm, activation and residual "
    "stream of that network, as one ensemble, with the cotangent on its logits. Writes "
    "config.json, results.json (schema: docs/results-probe.md), histograms.png/svg and "
    "summary.png/svg to --out.",
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


#: Kinds of layer the terminal table shows for ``--model`` (all of them are in results.json).
TABLE_KINDS = ("weighted", "block", "attention")


def _model_table(result: ProbeResult, spec_run: SpecProbe) -> tuple[str, list[str], list[list[Any]]]:
    assert result.model is not None
    title = f"{spec_run.label} ({spec_run.spec}), {result.model['spec']} on {result.device}"
    if spec_run.theory_note:
        title += f": {spec_run.theory_note}"
    cols = [
        "layer",
        "kind",
        "units",
        "std",
        "signal std",
        "zero",
        "dead",
        "NaN/Inf",
        "grad std",
        "W grad std",
    ]
    rows: list[list[Any]] = []
    for la in spec_run.layers:
        if la.kind not in TABLE_KINDS and la.role is None:
            continue
        d = la.to_dict()
        kind = la.role or la.kind  # a block is the residual stream; a branch's output says so
        rows.append(
            [
                la.name,
                kind,
                la.width,
                _num(d["std"]),
                _num(d["signal_std"]),
                _num(d["zero_fraction"]),
                _num(d["dead_fraction"]),
                d["nonfinite"],
                _num(d["grad_std"]),
                None if all(math.isnan(v) for v in la.weight_grad_std) else _num(d["weight_grad_std"]),
            ]
        )
    return title, cols, rows
