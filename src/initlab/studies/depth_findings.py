"""The depth study's findings, typed: computed from its results document, quoted by ``initlab depth``,
by the result's card and by the reproduce report's depth section (``reproduce --deep``).

:func:`depth_facts` is a pure function of ``DepthResult.to_dict()`` (its ``findings`` entry, if any,
is ignored; JSON ``null`` and NaN alike are missing numbers). Every number is stored rounded exactly
as the sentences quote it, and every decision is taken on those stored values, so no sentence
contradicts its own numbers. Per (init, depth), over the seeds:

* ``accuracy_pct``: the mean test accuracy as a percentage, 1 decimal. The depth **trains** when
  ``accuracy_pct > threshold_pct`` (the config's ``threshold`` x 100); it is **at chance** when
  ``accuracy_pct <= chance_ceiling_pct`` = 100 / classes + :data:`CHANCE_MARGIN_PCT`;
* ``diverged``: how many seeds diverged; ``signal_std``: the mean initial signal std (3 significant
  digits; None when a seed's was not finite).

Per init: ``trains_at`` (the depths that train), ``deepest`` (the deepest of them), ``fails_from``
(the shallowest depth beyond ``deepest`` that does not train; the shallowest depth if none trains),
``chance_from`` (the shallowest depth from which every deeper one is at chance). The initial
signal from the shallowest depth ``d0`` to the deepest ``d1``: ``signal_change = std(d1) / std(d0)``
and ``signal_per_depth = signal_change ** (1 / (d1 - d0))`` (the factor per unit of depth: per
layer for ``mlp``); ``signal_trend`` is ``vanishing`` below ``1 / SIGNAL_LIMIT``, ``exploding``
above ``SIGNAL_LIMIT``, ``stable`` between, ``non-finite`` when a std overflowed.

For the ``mlp`` family, the mean-field depth scale ``6 xi_c`` (Schoenholz et al. 2017: signals
propagate through about ``6 xi_c`` layers) against the measured limit: the grid cell that holds it
(``scale_between``: the deepest grid depth ``<= 6 xi_c`` and the next one) and the cell of the
measured limit (between ``deepest`` and ``fails_from``). They **agree within the grid's resolution**
when the cells are the same (``scale_verdict`` ``agrees``); otherwise ``scale_steps`` counts the
grid steps between them and ``scale_verdict`` says ``deeper`` (trained deeper than predicted) or
``shallower``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.io import to_jsonable
from ..data import dataset_info
from .depth_sentences import by_depth_sentence, init_sentence, num, plain, summary_sentence

CHANCE_MARGIN_PCT = 5.0  #: percentage points above chance (100 / classes) still counted as chance
SIGNAL_LIMIT = 10.0  #: a signal std that changes by more than this factor across the depths


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _sig(x: float | None, digits: int = 3) -> float | None:
    return None if x is None or not math.isfinite(x) else float(f"{x:.{digits}g}")


def trains(accuracy_pct: float | None, threshold_pct: float) -> bool:
    """The one rule: a depth trains when its mean accuracy, as stored, is above the threshold."""
    return accuracy_pct is not None and accuracy_pct > threshold_pct


def accuracy_pct(values: Sequence[float | None]) -> float | None:
    """Mean of the finite accuracies (shares in [0, 1]) as a percentage, 1 decimal (None if none)."""
    ok = [v for v in (_finite(x) for x in values) if v is not None]
    return round(100 * sum(ok) / len(ok), 1) if ok else None


@dataclass(frozen=True)
class DepthPoint:
    """One (init, depth) over its seeds (see the module docstring)."""

    depth: int
    seeds: int
    accuracy_pct: float | None
    trains: bool
    at_chance: bool
    diverged: int
    signal_std: float | None


@dataclass(frozen=True)
class InitFacts:
    """What one init did across the depths, and the sentence that says it."""

    label: str
    spec: str
    points: tuple[DepthPoint, ...]
    trains_at: tuple[int, ...]
    deepest: int | None
    deepest_accuracy_pct: float | None
    fails_from: int | None
    fails_accuracy_pct: float | None
    chance_from: int | None
    signal_first: float | None
    signal_last: float | None
    signal_change: float | None
    signal_per_depth: float | None
    signal_trend: str | None
    depth_scale: float | str | None  #: 6 xi_c (3 significant digits), "inf" at criticality, None
    scale_between: tuple[int | None, int | None] | None
    scale_steps: int | None  #: grid steps between the predicted and the measured cell (>= 0)
    scale_verdict: str | None  #: "agrees", "deeper" (trained deeper than predicted), "shallower"
    statement: str = ""


@dataclass(frozen=True)
class DepthFacts:
    """The findings of one depth run; ``to_dict()`` is what ``results.json`` stores as ``findings``."""

    model: str
    family: str | None
    dataset: str
    iterations: int
    seeds: int
    threshold_pct: float
    chance_pct: float
    chance_ceiling_pct: float
    signal_limit: float
    partial: bool
    depths: tuple[int, ...]  #: the depths that finished, shallowest first
    depths_planned: tuple[int, ...]
    finished: int  #: how many depths finished (as quoted when the run stopped early)
    planned: int  #: of how many
    inits: tuple[InitFacts, ...]
    by_depth: tuple[tuple[int, tuple[str, ...]], ...]  #: per depth, the labels that train there
    summary: str
    statements: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_jsonable(self)
        out["by_depth"] = [{"depth": d, "trains": list(ls)} for d, ls in self.by_depth]
        return out


def family_of(model: str) -> str | None:
    """``"mlp(layers={depth})"`` -> ``"mlp"`` (None for a user factory ``MOD:FACTORY``)."""
    m = re.match(r"\s*([A-Za-z_]\w*)\s*\(", model)
    return m.group(1) if m else None


def _point(depth: int, rows: list[Mapping[str, Any]], threshold_pct: float, ceiling: float) -> DepthPoint:
    acc = accuracy_pct([r["accuracy"] for r in rows])
    stds = [_finite(r["init_signal_std"]) for r in rows]
    std = None if any(s is None for s in stds) else _sig(sum(stds) / len(stds))  # type: ignore[arg-type]
    return DepthPoint(
        depth=depth,
        seeds=len(rows),
        accuracy_pct=acc,
        trains=trains(acc, threshold_pct),
        at_chance=acc is not None and acc <= ceiling,
        diverged=sum(r["diverged_at"] is not None for r in rows),
        signal_std=std,
    )


def _signal(points: tuple[DepthPoint, ...]) -> tuple[Any, ...]:
    """(first, last, change, per depth, trend) of the initial signal across the depths."""
    if len(points) < 2:
        return None, None, None, None, None
    first, last = points[0], points[-1]
    if any(p.signal_std is None for p in points):
        return first.signal_std, last.signal_std, None, None, "non-finite"
    a, b = first.signal_std or 0.0, last.signal_std or 0.0
    if a == 0:
        return a, b, None, None, "stable" if b == 0 else "exploding"
    change = _sig(b / a)
    per = _sig((b / a) ** (1.0 / (last.depth - first.depth))) if b > 0 else 0.0
    assert change is not None
    trend = "vanishing" if change < 1 / SIGNAL_LIMIT else "exploding" if change > SIGNAL_LIMIT else "stable"
    return a, b, change, per, trend


def _scale(raw: Any, depths: tuple[int, ...], deepest: int | None) -> tuple[Any, ...]:
    """(6 xi_c as stored, its grid cell ``(lo, hi)``, grid steps to the measured cell, verdict)."""
    if raw is None or not depths:
        return None, None, None, None
    value: float | str = "inf" if raw == "inf" or (isinstance(raw, float) and math.isinf(raw)) else raw
    if value != "inf":
        value = _sig(float(raw))  # type: ignore[assignment]
        if value is None:
            return None, None, None, None
    below = [d for d in depths if value == "inf" or d <= value]  # type: ignore[operator]
    lo = max(below) if below else None
    hi = next((d for d in depths if lo is None or d > lo), None) if value != "inf" else None
    index = {d: k for k, d in enumerate(depths)}
    predicted = -1 if lo is None else index[lo]
    measured = -1 if deepest is None else index[deepest]
    steps = measured - predicted  # cells named by their lower end: (deepest, fails_from), (lo, hi)
    verdict = "agrees" if steps == 0 else "deeper" if steps > 0 else "shallower"
    return value, (lo, hi), abs(steps), verdict


def _init(label: str, spec: str, rows: list[Mapping[str, Any]], ctx: dict[str, Any]) -> InitFacts:
    depths: tuple[int, ...] = ctx["depths"]
    by: dict[int, list[Mapping[str, Any]]] = {}
    for r in rows:
        by.setdefault(int(r["depth"]), []).append(r)
    points = tuple(_point(d, by[d], ctx["threshold_pct"], ctx["ceiling"]) for d in depths if d in by)
    ok = tuple(p.depth for p in points if p.trains)
    deepest = max(ok) if ok else None
    fail = next((p for p in points if not p.trains and (deepest is None or p.depth > deepest)), None)
    chance_from = None
    for p in reversed(points):
        if not p.at_chance:
            break
        chance_from = p.depth
    at = {p.depth: p for p in points}
    first, last, change, per, trend = _signal(points)
    value, between, steps, verdict = _scale(ctx["scales"].get(label), tuple(p.depth for p in points), deepest)
    return InitFacts(
        label=label,
        spec=spec,
        points=points,
        trains_at=ok,
        deepest=deepest,
        deepest_accuracy_pct=None if deepest is None else at[deepest].accuracy_pct,
        fails_from=None if fail is None else fail.depth,
        fails_accuracy_pct=None if fail is None else fail.accuracy_pct,
        chance_from=chance_from,
        signal_first=first,
        signal_last=last,
        signal_change=change,
        signal_per_depth=per,
        signal_trend=trend,
        depth_scale=value,
        scale_between=between,
        scale_steps=steps,
        scale_verdict=verdict,
    )


def depth_facts(doc: Mapping[str, Any]) -> DepthFacts:
    """The typed findings of a depth results document (``DepthResult.to_dict()``), with sentences."""
    cfg = doc["config"]
    threshold_pct = round(100 * float(cfg["threshold"]), 1)
    chance = round(100 / len(dataset_info(cfg["dataset"]).classes), 1)
    ceiling = round(chance + CHANCE_MARGIN_PCT, 1)
    ctx: dict[str, Any] = {
        "threshold_pct": threshold_pct,
        "ceiling": ceiling,
        "scales": doc.get("depth_scale") or {},
    }
    done = tuple(sorted({int(r["depth"]) for r in doc["rows"]}))  # finished depths, shallowest first
    ctx["depths"] = done
    rows_of: dict[str, list[Mapping[str, Any]]] = {}
    specs: dict[str, str] = {}
    for r in doc["rows"]:
        rows_of.setdefault(r["label"], []).append(r)
        specs.setdefault(r["label"], r["spec"])
    inits = [_init(label, specs[label], rs, ctx) for label, rs in rows_of.items()]
    by_depth = tuple((d, tuple(f.label for f in inits if d in f.trains_at)) for d in done)
    facts = DepthFacts(
        model=cfg["model"],
        family=family_of(cfg["model"]),
        dataset=cfg["dataset"],
        iterations=int(cfg["iterations"]),
        seeds=int(cfg["seeds"]),
        threshold_pct=threshold_pct,
        chance_pct=chance,
        chance_ceiling_pct=ceiling,
        signal_limit=SIGNAL_LIMIT,
        partial=bool(doc.get("partial")),
        depths=done,
        depths_planned=tuple(cfg["depths"]),
        finished=len(done),
        planned=len(cfg["depths"]),
        inits=(),
        by_depth=by_depth,
        summary="",
        statements=(),
    )
    inits = [dataclasses.replace(f, statement=init_sentence(f, facts)) for f in inits]
    facts = dataclasses.replace(facts, inits=tuple(inits))
    summary = summary_sentence(facts)
    lines = [summary, *(f.statement for f in inits)]
    if len(done) > 1 and inits:
        lines.append(by_depth_sentence(facts))
    return dataclasses.replace(facts, summary=summary, statements=tuple(lines))


__all__ = [
    "CHANCE_MARGIN_PCT",
    "SIGNAL_LIMIT",
    "DepthFacts",
    "DepthPoint",
    "InitFacts",
    "accuracy_pct",
    "depth_facts",
    "family_of",
    "num",
    "plain",
    "trains",
]
