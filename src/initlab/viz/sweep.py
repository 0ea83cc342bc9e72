"""The sweep figure: test accuracy and final training loss along one axis of the grid, mean over seeds
with its 95% bootstrap interval as error bars, one line per combination of the other varying axes."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from ._style import color, pyplot

if TYPE_CHECKING:  # pragma: no cover
    from ..studies.sweep import SweepResult


def _numeric(rows: list[dict[str, Any]], col: str) -> bool:
    return all(isinstance(r.get(col), int | float) and not isinstance(r.get(col), bool) for r in rows)


def pick_x(result: SweepResult) -> str | None:
    """The axis drawn along x: the numeric varying axis with the most values (``None``: none varies)."""
    rows = result.summary()
    varying = result.varying()
    numeric = [c for c in varying if _numeric(rows, c)]
    pool = numeric or varying
    if not pool:
        return None
    return max(pool, key=lambda c: len({repr(r.get(c)) for r in rows}))


def sweep_figure(result: SweepResult, x: str | None = None) -> Any:
    """Two panels (test accuracy in %, final training loss) against ``x`` (default :func:`pick_x`)."""
    plt = pyplot()
    rows = result.summary()
    x = x if x is not None else pick_x(result)
    others = [c for c in result.varying() if c != x]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    series: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        series.setdefault(tuple(r.get(c) for c in others), []).append(r)
    numeric = x is not None and _numeric(rows, x)
    cats = sorted({str(r.get(x)) for r in rows}) if x is not None and not numeric else []
    for i, (key, rs) in enumerate(series.items()):
        label = ", ".join(f"{c}={v}" for c, v in zip(others, key, strict=True)) or "all cells"
        if x is None:
            xs: list[Any] = [0.0 for _ in rs]
        elif numeric:
            rs = sorted(rs, key=lambda r: r[x])
            xs = [r[x] for r in rs]
        else:
            xs = [cats.index(str(r.get(x))) for r in rs]
        for ax, what, scale in ((axes[0], "test_accuracy", 100.0), (axes[1], "final_loss", 1.0)):
            pts = [
                (xv, r[f"{what}_mean"], r[f"{what}_low"], r[f"{what}_high"])
                for xv, r in zip(xs, rs, strict=True)
                if r[f"{what}_mean"] is not None
            ]
            if not pts:
                continue
            px = [p[0] for p in pts]
            mean = [scale * p[1] for p in pts]
            err = [[scale * (p[1] - p[2]) for p in pts], [scale * (p[3] - p[1]) for p in pts]]
            ax.errorbar(px, mean, yerr=err, marker="o", ms=4, capsize=3, color=color(i), label=label)
    seeds = max((r["seeds"] for r in rows), default=0)
    for ax, ylabel in ((axes[0], "test accuracy (%)"), (axes[1], "final training loss")):
        ax.set_xlabel(x if x is not None else "")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if cats:
            ax.set_xticks(range(len(cats)), [textwrap.fill(c, 24) for c in cats], fontsize=7)
    if len(series) > 1:
        axes[0].legend(fontsize=8, title=None)
    varying = set(result.varying())
    fixed = []
    for c in ("dataset", "model", "activation", "init", "optimizer"):
        if c in varying or not rows:
            continue
        params = any(v.startswith(c + ".") for v in varying)
        fixed.append(str(rows[0][c]).split("(")[0] if params else str(rows[0][c]))
    fixed += [f"{c} {rows[0][c]}" for c in ("lr", "iterations") if c not in varying and rows]
    fig.suptitle(
        f"initlab sweep: {len(result.rows)} models, mean over up to {seeds} seeds "
        "with 95% bootstrap interval" + (" (partial)" if result.partial else "") + "\n" + ", ".join(fixed),
        fontsize=11,
    )
    return fig


__all__ = ["pick_x", "sweep_figure"]
