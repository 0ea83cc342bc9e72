"""``initlab diagnose PACKAGE.MODULE:FACTORY --input-shape 1,28,28 --out DIR``: check a model's init.

Thin: the study is :mod:`initlab.studies.diagnose` (import the factory, optionally re-initialise
with ``--init auto|SPEC`` or ``--lsuv``, audit, diagnose on N(0, 1) inputs), its flags come from
:class:`~initlab.studies.diagnose.DiagnoseConfig`, and :mod:`._study` runs it. This module prints the
tables and findings; the run writes ``config.json``, ``results.json``
(schema: docs/results-diagnose.md) and ``std_per_layer.png``/``.svg``.
"""

from __future__ import annotations

import math
from typing import Any

from rich import box

from ..studies import diagnose as diagnose_study
from ..studies.diagnose import DiagnoseConfig, DiagnoseResult, parse_shape
from ..tools import Audit, Diagnosis
from ._console import console, table
from ._runfolder import RunFolder
from ._study import StudyCommand

__all__ = ["COMMAND", "memory", "parse_shape", "report"]


def report(result: DiagnoseResult, doc: dict[str, Any], folder: RunFolder) -> None:
    out = console()
    if result.plan is not None:
        plan = result.plan
        steps = [[s.layer, s.scheme, s.reason] for s in plan.steps]
        title = "init auto" + ("" if plan.traced else f" ({plan.note})")
        out.print(table(title, ["layer", "scheme", "why"], steps))
    if result.lsuv is not None:
        res = result.lsuv
        rows = [[la.name, la.type, la.iterations, la.std, la.scale, la.skipped or ""] for la in res.layers]
        out.print(table("LSUV", ["layer", "type", "iterations", "final std", "scale", "skipped"], rows))
    _print(out, result.config.target, result.audit, result.diagnosis)
    out.print(f"wrote {', '.join(folder.files)} to {folder.path}")


def memory(cfg: DiagnoseConfig) -> int:
    """Bytes of the input batch: N(0, 1) floats and their gradient, or int64 tokens (no gradient);
    the model's own size is not known here."""
    return (8 if cfg.input_dtype == "long" else 2 * 4) * cfg.batch * math.prod(cfg.input_shape)


COMMAND = StudyCommand(
    name="diagnose",
    config=DiagnoseConfig,
    run=diagnose_study.run,
    help="per-layer signal report, init audit and findings for any PyTorch model",
    description="Build a model from PACKAGE.MODULE:FACTORY (called with no arguments), run one "
    "forward and one backward pass on N(0, 1) inputs, and report per-layer statistics with "
    "flags (vanishing/exploding, dead, saturated, non-finite) and which scheme each weight "
    "came from. Example: initlab diagnose initlab.examples:mlp20_relu --input-shape 100 --out runs/d; "
    "for a language model, integer tokens: --input-dtype long --vocab 32000 --input-shape 128",
    out=None,
    report=report,
    memory=memory,
)


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def _right(t: Any, first: int) -> Any:
    """Right-align columns ``first`` onwards (numbers pre-formatted as strings); no inner lines."""
    for col in t.columns[first:]:
        col.justify = "right"
    t.box = box.SIMPLE_HEAD
    t.pad_edge = False
    return t


def _print(out: Any, target: str, aud: Audit, diag: Diagnosis) -> None:
    rows = []
    for la in diag.layers:
        sat = "-" if la.saturated_fraction is None else f"{la.saturated_fraction:.0%}"
        shape = "x".join(map(str, la.shape[1:])) or "-"
        nums = [la.mean, la.std, la.signal_std, la.grad_std, la.weight_grad_std]  # grad_norm: results.json
        rows.append([la.name, la.type, shape, *map(_g, nums), f"{la.dead_fraction:.0%}", sat])
        rows[-1].append(",".join(la.flags))
    cols = ["layer", "type", "shape", "mean", "std", "signal std", "grad std", "w grad"]
    cols += ["dead", "sat", "flags"]
    t = _right(table(f"diagnose {target}", cols, rows), 2)
    t.columns[0].min_width = min(40, max((len(la.name) for la in diag.layers), default=5))
    t.columns[1].max_width = 11
    t.columns[-1].justify = "left"
    out.print(t)
    wrows = [
        [
            w.name,
            "x".join(map(str, w.shape)),
            w.scheme,
            f"{w.confidence:.2f}",
            _g(w.std),
            w.followed_by or "-",
        ]
        for w in aud.weights
    ]
    cols = ["weight", "shape", "scheme", "confidence", "std", "followed by"]
    out.print(_right(table("audit: which scheme the weights came from", cols, wrows), 3))
    notes = [f"! {f.message}" for f in diag.findings] + [f"! {w.message}" for w in aud.warnings]
    out.print(
        "\n".join(notes)
        if notes
        else "no findings: no vanishing/exploding, dead, saturated or non-finite layers"
    )
