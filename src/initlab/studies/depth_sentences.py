"""The depth study's finding sentences, from its typed facts (:mod:`initlab.studies.depth_findings`).

Each sentence quotes only stored numbers, written by :func:`num` (which parses back to the stored
value), and init labels and specs as Markdown code (`` `He` ``), so that the reproduce report can
check that every number it shows is a value of its findings; :func:`plain` drops the code marks for
the terminal and the notebook card. When the run cannot support a conclusion (no init trains, or
every init trains at every depth), the summary says so instead of ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .depth_findings import DepthFacts, InitFacts


def num(v: float | int | None) -> str:
    """A stored number as the sentences write it (it parses back to the stored value).

    >>> num(72.5), num(30), num(50.0), num(5.5e-09), num(123000.0), num(None)
    ('72.5', '30', '50', '5.5e-09', '1.23e05', '-')
    """
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return str(int(v)) if v.is_integer() else repr(v)
    return f"{v:.3g}".replace("e+", "e")


def plain(sentence: str) -> str:
    """A finding for the terminal or a notebook card: without the Markdown code marks.

    >>> plain("`He` trains deepest (`6 xi_c` = 8.7).")
    'He trains deepest (6 xi_c = 8.7).'
    """
    return sentence.replace("`", "")


def names(labels: Sequence[str]) -> str:
    """Labels as Markdown code, joined as in a sentence.

    >>> names(["a"]), names(["a", "b", "c"])
    ('`a`', '`a`, `b` and `c`')
    """
    quoted = [f"`{x}`" for x in labels]
    return " and ".join(quoted) if len(quoted) <= 2 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _depths(ds: Sequence[int]) -> str:
    return ("depth " if len(ds) == 1 else "depths ") + ", ".join(num(d) for d in ds)


def _criterion(f: DepthFacts) -> str:
    seeds = f"{num(f.seeds)} seed" + ("s" if f.seeds != 1 else "")
    return (
        f"mean test accuracy over {seeds} above {num(f.threshold_pct)}% after {num(f.iterations)} iterations"
    )


def summary_sentence(f: DepthFacts) -> str:
    """Which init trains deepest, or why this run cannot say."""
    head = ""
    if f.partial:
        head = (
            f"Partial run: {num(f.finished)} of {num(f.planned)} depths finished"
            + (f" ({_depths(f.depths)})" if f.depths else "")
            + ". "
        )
    if not f.inits or not f.depths:
        return head + "No depth finished: nothing to conclude."
    span = _depths(f.depths) if len(f.depths) < 3 else f"depths {num(f.depths[0])} to {num(f.depths[-1])}"
    if all(i.deepest is None for i in f.inits):
        return head + (
            f"No init trained at any depth of this run ({span}; {_criterion(f)}): the run cannot rank "
            "the inits by trainable depth."
        )
    if all(len(i.trains_at) == len(i.points) for i in f.inits):
        who = "Every init" if len(f.inits) > 1 else f"`{f.inits[0].label}`"
        tail = ": this grid cannot separate them." if len(f.inits) > 1 else "."
        return head + f"{who} trained at every depth ({span}; {_criterion(f)}){tail}"
    ranked = sorted(f.inits, key=lambda i: -1 if i.deepest is None else i.deepest, reverse=True)
    listed = ", ".join(f"`{i.label}` {num(i.deepest) if i.deepest is not None else 'none'}" for i in ranked)
    out = head + f"Deepest trainable depth ({_criterion(f)}): {listed}."
    if len(f.inits) > 1:
        top = [i.label for i in ranked if i.deepest == ranked[0].deepest]
        out += f" {names(top)} train{'s' if len(top) == 1 else ''} deepest" + (
            " (a tie)." if len(top) > 1 else "."
        )
    return out


def _training(i: InitFacts, f: DepthFacts) -> str:
    parts = []
    if i.deepest is None:
        best = max(
            (p for p in i.points if p.accuracy_pct is not None),
            key=lambda p: p.accuracy_pct or 0.0,
            default=None,
        )
        parts.append(
            "trains at none of the depths"
            + ("" if best is None else f" (best: {num(best.accuracy_pct)}% at depth {num(best.depth)})")
        )
    else:
        last = ", the deepest of this run" if i.fails_from is None else ""
        acc = num(i.deepest_accuracy_pct)
        parts.append(f"trains at {_depths(i.trains_at)} (deepest {num(i.deepest)}{last}: {acc}%)")
        gaps = [p.depth for p in i.points if not p.trains and p.depth < i.deepest]
        if gaps:
            parts.append(f"but not at {_depths(gaps)}")
        if i.fails_from is not None:
            parts.append(f"not at depth {num(i.fails_from)} ({num(i.fails_accuracy_pct)}%)")
    if i.chance_from is not None:
        parts.append(f"at chance (at most {num(f.chance_ceiling_pct)}%) from depth {num(i.chance_from)} on")
    div = [p for p in i.points if p.diverged]
    if div:
        parts.append(
            "diverged: "
            + ", ".join(f"{num(p.diverged)} of {num(p.seeds)} seeds at depth {num(p.depth)}" for p in div)
        )
    return f"`{i.label}` " + "; ".join(parts) + "."


def _signal(i: InitFacts, f: DepthFacts) -> str:
    if i.signal_trend is None:
        return ""
    d0, d1 = i.points[0].depth, i.points[-1].depth
    unit = "layer" if f.family == "mlp" else "unit of depth"
    if i.signal_trend == "non-finite":
        bad = [p.depth for p in i.points if p.signal_std is None]
        return f" Its signal at initialization overflowed (not finite) at {_depths(bad)}."
    span = f"{num(i.signal_first)} at depth {num(d0)} to {num(i.signal_last)} at depth {num(d1)}"
    if i.signal_per_depth is None:
        return f" Its signal std at initialization goes from {span}."
    per = f"a factor {num(i.signal_per_depth)} per {unit}"
    if i.signal_trend == "vanishing":
        return (
            f" Its signal std at initialization falls from {span}, {per}: vanishing (down more than "
            f"{num(f.signal_limit)}-fold)."
        )
    if i.signal_trend == "exploding":
        return (
            f" Its signal std at initialization grows from {span}, {per}: exploding (up more than "
            f"{num(f.signal_limit)}-fold)."
        )
    return (
        f" Its signal std at initialization stays within a factor {num(f.signal_limit)}: from {span} ({per})."
    )


def _scale(i: InitFacts) -> str:
    if i.depth_scale is None or i.scale_between is None:
        return ""
    if i.depth_scale == "inf":
        if i.scale_verdict == "agrees":
            return (
                " Mean-field theory predicts no depth limit for it (`6 xi_c` is infinite: critical), and it "
                "trains at the deepest depth of this run: agrees."
            )
        return (
            " Mean-field theory predicts no depth limit for it (`6 xi_c` is infinite: critical), yet it "
            f"does not train at depth {num(i.fails_from)}: shallower than predicted."
        )
    lo, hi = i.scale_between
    if lo is None:
        where = f"below the shallowest depth, {num(hi)}"
    elif hi is None:
        where = f"beyond the deepest depth, {num(lo)}"
    else:
        where = f"between depths {num(lo)} and {num(hi)}"
    head = f" Its mean-field depth scale `6 xi_c` = {num(i.depth_scale)} lies {where}"  # type: ignore[arg-type]
    steps = f"{num(i.scale_steps)} grid step" + ("s" if i.scale_steps != 1 else "")
    if i.scale_verdict == "agrees":
        return head + "; so does the measured limit: agrees within the grid's resolution."
    if i.scale_verdict == "deeper":
        return head + f"; it trains deeper than that, by {steps}."
    return head + f"; it stops shallower than that, by {steps}."


def init_sentence(i: InitFacts, f: DepthFacts) -> str:
    """Where one init trains and fails, its initial signal across depth, and ``6 xi_c`` against it."""
    return _training(i, f) + _signal(i, f) + _scale(i)


def by_depth_sentence(f: DepthFacts) -> str:
    """Per depth, which inits train there."""
    per = "; ".join(f"{num(d)}: {names(labels) if labels else 'none'}" for d, labels in f.by_depth)
    return f"Which inits train at each depth of `{f.model}`: {per}."
