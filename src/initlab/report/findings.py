"""Findings: the report's statements of fact and the exact numbers they quote, as stored in
``results.json`` under ``findings`` (schema ``initlab.reproduce.findings/1``,
docs/results-reproduce.md).

:func:`derive` is a pure function of a reproduce results document: it parses it
(:func:`initlab.report.model.parse`), takes the decisions (:mod:`initlab.report.decisions`), writes
each statement with its template (``templates/statements.j2``) and lays everything out as plain
JSON. Every number a statement quotes is a value of the returned dict, rounded exactly as quoted.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from ..core.io import jsonable
from ..measure.series import first_at_most as iterations_to
from . import decisions as dc
from .format import code, dec, fmt, names, sig
from .model import Glorot, Mnist, Probe, Run, Symmetry, parse
from .render import say

SCHEMA_ID = "initlab.reproduce.findings/1"
LOSS_TARGET = dc.LOSS_TARGET

__all__ = ["LOSS_TARGET", "SCHEMA_ID", "code", "derive", "fmt", "iterations_to", "names", "sig"]


def _symmetry(s: Symmetry | None) -> dict[str, Any] | None:
    if s is None:
        return None
    learned, stuck, diverged = s.learned, s.stuck, s.diverged
    cases = []
    for c in s.cases:
        row = asdict(c)
        row["distinct_units"] = list(c.distinct_units)
        if c.logged_at is None:  # nothing was measured: only what the statement says
            row = {k: row[k] for k in ("label", "spec", "diverged_at", "learned", "distinct_max")}
        row["statement"] = say("symmetry_case", c, s)
        cases.append(row)
    return {
        "width": s.width,
        "hidden_layers": s.hidden_layers,
        "iterations": s.iterations,
        "label_entropy": s.label_entropy,
        "loss_window": s.loss_window,
        "learned_margin": s.learned_margin,
        "partial": s.partial,
        "cases": cases,
        "summary": say("symmetry_summary", s, learned, stuck, diverged),
    }


def _verdict(v: dc.Verdict) -> dict[str, Any]:
    return {
        "label": v.label,
        "spec": v.spec,
        "chi_1": v.chi_1,
        "regime": v.regime,
        "std_per_layer": list(v.std_per_layer),
        "mean_last_layer": v.mean_last_layer,
        "std_ratio": v.std_ratio,
        "grad_std_ratio": v.grad_std_ratio,
        "saturated_pct_per_layer": None
        if v.saturated_pct_per_layer is None
        else list(v.saturated_pct_per_layer),
        "saturated_pct_max": v.saturated_pct_max,
        "saturated_layer": v.saturated_layer,
        "dead_pct_max": v.dead_pct_max,
        "nonfinite": v.nonfinite,
        "last_std": v.last_std,
        "collapsed": v.collapsed,
        "problems": [say("problem", p, v) for p in v.problems],
        "passes": v.passes,
    }


def _histograms(probes: tuple[Probe, ...], recs: list[dc.Recommendation]) -> dict[str, Any] | None:
    if not probes:
        return None
    first = probes[0]
    return {
        "layers": first.layers,
        "width": first.width,
        "samples": first.samples,
        "seeds": first.seeds,
        "activations": {
            r.activation: {
                "activation": r.activation,
                "reference_std": r.reference_std,
                "schemes": [_verdict(v) for v in r.verdicts],
                "descriptions": [say("describe", v, p.layers) for v in r.verdicts],
                "passed": [v.label for v in r.passed],
                "recommended": None if r.recommended is None else r.recommended.label,
                "classic": r.classic,
                "agrees_with_classic": r.agrees_with_classic,
                "statement": say("activation", r),
            }
            for p, r in zip(probes, recs, strict=True)
        },
    }


def _glorot(g: Glorot | None) -> dict[str, Any] | None:
    if g is None:
        return None
    first = g.probes[0]
    rows = [dc.glorot_row(p) for p in g.probes]
    out: dict[str, Any] = {
        "input_dim": g.input_dim,
        "width": first.width,
        "layers": first.layers,
        "layer1_weight_std": {k: sig(v) for k, v in g.layer1_weight_std.items()},
        "square_weight_std": sig(1 / math.sqrt(first.width)),
        "activations": {
            r.activation: {
                "xavier_std": list(r.xavier_std),
                "glorot_std": list(r.glorot_std),
                "ratio_layer1": r.ratio_layer1,
                "ratio_last": r.ratio_last,
            }
            for r in rows
        },
    }
    out["statement"] = say("glorot", {**out, "rows": rows})
    return out


def _mnist(m: Mnist | None) -> tuple[dict[str, Any] | None, list[dc.Speed]]:
    if m is None:
        return None, []
    schemes = dc.mnist_schemes(m)
    fastest = dc.fastest(schemes)
    lines = []
    for i, s in enumerate(dc.by_speed(schemes)):
        lines.append(say("mnist_speed", s, i == 0, m.iterations))
        if s.diverged:
            lines.append(say("mnist_diverged", s))
    if fastest is None:
        lines.insert(0, say("mnist_none_reached", m.iterations))
    ranked = dc.by_accuracy(schemes)
    lines.append(say("mnist_accuracy", ranked, m.eval_examples))
    apart = dc.separated(ranked)
    if apart is not None:
        lines.append(say("mnist_separation", ranked[0], ranked[1], apart))
    if dc.CLASSIC_FASTEST in {s.label for s in schemes}:
        lines.append(say("mnist_classic", fastest))
    return {
        "activation": m.activation,
        "widths": list(m.widths),
        "hidden_layers": len(m.widths) - 2,
        "iterations": m.iterations,
        "seeds": m.seeds,
        "lr": m.lr,
        "batch_size": m.batch_size,
        "window": m.window,
        "loss_target": dc.LOSS_TARGET,
        "eval_examples": m.eval_examples,
        "partial": m.partial,
        "schemes": [{**asdict(s), "iterations_to_target": list(s.iterations_to_target)} for s in schemes],
        "fastest": None if fastest is None else fastest.label,
        "most_accurate": ranked[0].label if ranked else None,
        "accuracy_separated": apart,
        "statements": lines,
    }, schemes


def _recommendations(recs: list[dc.Recommendation], mnist: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for r in recs:
        row: dict[str, Any] = {
            "activation": r.activation,
            "recommended": None if r.recommended is None else r.recommended.label,
            "std_ratio": None if r.recommended is None else r.recommended.std_ratio,
            "passed": [v.label for v in r.passed],
            "classic": r.classic,
            "agrees_with_classic": r.agrees_with_classic,
            "mnist_fastest": None,
            "mnist_fastest_iterations": None,
            "mnist_most_accurate": None,
            "mnist_accuracy_pct": None,
        }
        if mnist is not None and mnist["activation"] == r.activation:
            by = {s["label"]: s for s in mnist["schemes"]}
            row["mnist_fastest"] = mnist["fastest"]
            if mnist["fastest"] is not None:
                row["mnist_fastest_iterations"] = by[mnist["fastest"]]["iterations_to_target_mean"]
            row["mnist_most_accurate"] = mnist["most_accurate"]
            if mnist["most_accurate"] is not None:
                row["mnist_accuracy_pct"] = by[mnist["most_accurate"]]["accuracy_pct"]
        row["statement"] = say("recommendation", row)
        rows.append(row)
    return rows


def _setup(run: Run) -> dict[str, Any]:
    secs = run.setup.seconds
    seconds = {k: dec(v, 1) for k, v in secs.items()}
    total, figures = secs.get("total"), secs.get("figures")
    if total is not None and figures is not None:
        seconds["overall"] = dec(total + figures, 1)
    env = run.setup.environment
    depth = run.probes[0].layers if run.probes else run.setup.layers
    return {
        "seed": run.setup.seed,
        "lr": run.setup.lr,
        "batch_size": run.setup.batch_size,
        "layer_numbers": list(range(1, max(depth, 4) + 1)),
        "cpu_count": env.get("cpu_count"),
        "torch_threads": env.get("torch_threads"),
        "load_average": dec(env.get("load_average"), 1),
        "seconds": seconds,
    }


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    """All findings of a reproduce results document (its ``findings`` entry, if any, is ignored)."""
    run = parse(doc)
    recs = [dc.recommend(p) for p in run.probes]
    mnist, _ = _mnist(run.mnist)
    found = dc.departures(
        recs, None if mnist is None else mnist["fastest"], None if mnist is None else mnist["most_accurate"]
    )
    out = {
        "schema": SCHEMA_ID,
        "partial": run.partial,
        "quick": run.quick,
        "criteria": {
            "std_ratio_limit": dc.STD_RATIO_LIMIT,
            "saturated_limit_pct": dc.SATURATED_LIMIT_PCT,
            "collapse_fraction": dc.COLLAPSE_FRACTION,
            "dead_limit_pct": dc.DEAD_LIMIT_PCT,
            "loss_target": dc.LOSS_TARGET,
        },
        "setup": _setup(run),
        "symmetry": _symmetry(run.symmetry),
        "histograms": _histograms(run.probes, recs),
        "glorot": _glorot(run.glorot),
        "mnist": mnist,
        "recommendations": _recommendations(recs, mnist),
        "departures": [say("departure", d) for d in found],
        "agrees_with_classic": dc.agrees_with_classic(found, recs, mnist is not None),
    }
    if run.deep:  # --deep: the depth study's own findings (only then: the classic report is unchanged)
        out["depth"] = None if run.depth is None else run.depth.to_dict()
    result: dict[str, Any] = jsonable(out)
    return result
