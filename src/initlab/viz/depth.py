"""The depth figure: test accuracy against depth per init (band over seeds), and beside it the
signal std at initialization against depth (log scale), from a :class:`initlab.studies.DepthResult`.

The deepest depth each init trains to (mean accuracy above the threshold) is marked with a ring;
for the ``mlp`` family the mean-field depth scale ``6 xi_c`` (Schoenholz et al. 2017) of each init is
a dotted vertical line in the init's colour (none at criticality, where it is infinite). The legends
quote the findings (:attr:`~initlab.studies.DepthResult.findings`): the deepest trainable depth
and ``6 xi_c`` per init on the left, the initial signal's factor per unit of depth on the right.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ._style import colors_for, pyplot

if TYPE_CHECKING:
    from ..studies.depth import DepthResult
    from ..studies.depth_findings import InitFacts


def _per_depth(
    result: DepthResult, label: str, field: str
) -> tuple[list[int], list[float], list[float], list[float]]:
    """Depths, and per depth the mean, min and max of ``field`` over seeds."""
    by: dict[int, list[float]] = {}
    for r in result.rows:
        if r.label == label:
            by.setdefault(r.depth, []).append(float(getattr(r, field)))
    depths = sorted(by)
    clean = [[v for v in by[d] if math.isfinite(v)] or [math.nan] for d in depths]
    return depths, [sum(v) / len(v) for v in clean], [min(v) for v in clean], [max(v) for v in clean]


def _acc_label(f: InitFacts) -> str:
    """``He: deepest 30 (6 ξ_c = 8.7)`` from the init's findings."""
    deepest = "none" if f.deepest is None else str(f.deepest)
    if f.depth_scale is None:
        scale = ""
    elif f.depth_scale == "inf":
        scale = ", 6 ξ_c = ∞"
    else:
        scale = f", 6 ξ_c = {f.depth_scale:g}"
    return f"{f.label}: deepest {deepest}{scale}"


def _signal_label(f: InitFacts, family: str | None) -> str:
    """``He: ×0.98 per layer`` (the initial signal's factor per unit of depth), from the findings."""
    if f.signal_per_depth is None:
        return f.label if f.signal_trend != "non-finite" else f"{f.label}: overflowed"
    unit = "layer" if family == "mlp" else "unit of depth"
    return f"{f.label}: ×{f.signal_per_depth:.3g} per {unit}"


def depth_figure(result: DepthResult) -> Any:
    """Two panels: test accuracy vs depth (threshold dashed, deepest trainable ringed, 6 xi_c dotted)
    and the initial signal std vs depth on a log scale."""
    plt = pyplot()
    cfg = result.config
    labels = list(dict.fromkeys(r.label for r in result.rows))
    palette = colors_for(labels)
    facts = result.findings
    found = {f.label: f for f in facts.inits}
    fig, (acc_ax, sig_ax) = plt.subplots(1, 2, figsize=(10.5, 4.2), layout="constrained")
    for k, label in enumerate(labels):
        c = palette[k]
        d, mean, low, high = _per_depth(result, label, "accuracy")
        # a marker and dash per init, earlier inits drawn above later ones: two inits with equal
        # numbers (zero_residual and fixup start from the same stream) stay visible
        dash = "-" if k % 2 == 0 else "--"
        style = {"marker": "os^Dv<>p"[k % 8], "ls": dash, "zorder": 3 + len(labels) - k}
        acc_ax.plot(d, mean, ms=4, lw=1.8, color=c, label=_acc_label(found[label]), **style)
        if cfg.seeds > 1:
            acc_ax.fill_between(d, low, high, color=c, alpha=0.2, lw=0)
        deepest = result.deepest(label)
        if deepest is not None:
            acc_ax.plot(
                [deepest], [result.accuracy(label)[deepest]], marker="o", ms=11, mfc="none", mec=c, mew=1.6
            )
        scale = result.depth_scale.get(label)
        if scale is not None and math.isfinite(scale):
            acc_ax.axvline(scale, color=c, ls=":", lw=1.3)
        d, mean, low, high = _per_depth(result, label, "init_signal_std")
        pos = [v if v > 0 else math.nan for v in mean]
        sig_ax.plot(d, pos, ms=4, lw=1.8, color=c, label=_signal_label(found[label], facts.family), **style)
        if cfg.seeds > 1:
            sig_ax.fill_between(d, [v if v > 0 else math.nan for v in low], high, color=c, alpha=0.2, lw=0)
    acc_ax.axhline(cfg.threshold, color="0.4", ls="--", lw=1.0)
    acc_ax.set_xlabel("depth (the model's {depth})")
    acc_ax.set_ylabel("test accuracy")
    acc_ax.set_ylim(0.0, 1.0)
    dotted = any(v is not None and math.isfinite(v) for v in result.depth_scale.values())
    acc_ax.set_title(
        f"test accuracy after {cfg.iterations} iterations (ring: deepest above {cfg.threshold:g}"
        + ("; dotted: 6 ξ_c)" if dotted else ")"),
        fontsize=9.5,
    )
    acc_ax.grid(True, alpha=0.3)
    acc_ax.legend(fontsize=8, frameon=False)
    sig_ax.set_yscale("log")
    sig_ax.set_xlabel("depth (the model's {depth})")
    sig_ax.set_ylabel("std at initialization (log scale)")
    sig_ax.set_title("signal std at initialization (last stream / hidden activation)", fontsize=9.5)
    sig_ax.grid(True, which="major", alpha=0.3)
    sig_ax.legend(fontsize=8, frameon=False)
    fig.suptitle(
        f"{cfg.model} on {cfg.dataset}: {cfg.optimizer} lr {cfg.lr:g}, batch {cfg.batch_size}, "
        f"{cfg.seeds} seed{'s' if cfg.seeds > 1 else ''} per init"
        + (" (stopped early)" if result.partial else ""),
        fontsize=10,
    )
    return fig
