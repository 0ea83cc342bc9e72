"""Probe figures: the classic histogram grid, and std per layer with the mean-field theory beside it.

Both read a :class:`initlab.studies.ProbeResult` and return the matplotlib figure (the caller saves or shows
it). Non-finite values never break a figure: they are counted in the panels and left off the axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._style import colors_for, pyplot

if TYPE_CHECKING:
    from ..studies.probe import ProbeResult, SpecProbe

#: (statistic, theory field, panel title) for the summary figure.
SUMMARY_PANELS = (
    ("std", "std", "activations"),
    ("grad_std", "grad_std", "gradient w.r.t. pre-activations, ∂L/∂z"),
    ("weight_grad_std", "weight_grad_std", "gradient w.r.t. weights, ∂L/∂W"),
)


def _pick_layers(depth: int, layers: Sequence[int] | None, max_layers: int) -> list[int]:
    """0-based indices of the layers to draw: the given 1-based ones, or at most ``max_layers`` spread out."""
    if layers is not None:
        picked = sorted({int(la) for la in layers})
        bad = [la for la in picked if not 1 <= la <= depth]
        if bad:
            from ..core.errors import InitlabError

            raise InitlabError(f"layers {bad} out of range: the probe has layers 1..{depth}")
        return [la - 1 for la in picked]
    if depth <= max_layers:
        return list(range(depth))
    step = (depth - 1) / (max_layers - 1)
    return sorted({round(i * step) for i in range(max_layers)})


def _tick(v: float) -> str:
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.3g}"
    mantissa, exponent = f"{v:.2g}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _percent(v: float) -> str:
    return f"{100 * v:.0f}%" if v >= 0.01 or v == 0 else f"{100 * v:.1g}%"


def _panel_notes(run: SpecProbe, i: int, zero_bin: int | None) -> list[tuple[str, str]]:
    """(text, colour) lines for a histogram panel."""
    layer = run.layers[i]
    notes: list[tuple[str, str]] = []
    outside = layer.summary("below_range")[0] + layer.summary("above_range")[0]
    if outside > 0:
        notes.append((f"outside range: {_percent(outside)}", "0.25"))
    if layer.saturated_fraction is not None:
        notes.append((f"saturated {_percent(layer.summary('saturated_fraction')[0])}", "0.25"))
    zero = layer.summary("zero_fraction")[0]
    if zero_bin is not None:
        notes.append((f"exactly 0: {_percent(zero)}", "0.25"))
    dead = layer.summary("dead_fraction")[0]
    if dead > 0:
        notes.append((f"dead units {_percent(dead)}", "0.25"))
    bad = sum(layer.nonfinite)
    if bad:
        notes.append((f"NaN/Inf: {bad:,}", "#D55E00"))
    return notes


def histogram_figure(
    result: ProbeResult, *, layers: Sequence[int] | None = None, max_layers: int = 10
) -> Any:
    """One row per spec (labelled as the user wrote it), one histogram per layer ("1-layer", ...).

    Bars show the share of a layer's entries per bin, averaged over seeds, on the spec's histogram
    range. Exact zeros (ReLU's flat side, zero weights) and values outside the range are taken out
    of their bins and given as shares in the panel, so a spike does not flatten the rest; saturated
    and dead shares and non-finite counts are noted too. ``layers`` picks 1-based layers; otherwise at most
    ``max_layers`` evenly spread ones are drawn.
    """
    plt = pyplot()
    runs = result.runs
    picked = _pick_layers(result.depth, layers, max_layers)
    nrows, ncols = len(runs), len(picked)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(1.75 * ncols + 1.0, 1.55 * nrows + 0.9),
        squeeze=False,
        sharey="row",
        layout="constrained",
    )
    palette = colors_for([run.label for run in runs])
    for r, run in enumerate(runs):
        lo, hi = run.hist_range
        edges = run.edges
        width = (hi - lo) / run.bins
        tallest, most_notes = 0.0, 0
        for c, i in enumerate(picked):
            ax = axes[r][c]
            layer = run.layers[i]
            frac = layer.histogram_mean()
            zero = layer.summary("zero_fraction")[0]
            frac[0] = max(frac[0] - layer.summary("below_range")[0], 0.0)  # values clipped into end bins
            frac[-1] = max(frac[-1] - layer.summary("above_range")[0], 0.0)
            zero_bin = None
            if zero >= 0.01 and lo <= 0.0 <= hi:
                zero_bin = min(int((0.0 - lo) / width), run.bins - 1)
                frac[zero_bin] = max(frac[zero_bin] - zero, 0.0)
            ax.bar(edges[:-1], [100 * f for f in frac], width=width, align="edge", color=palette[r], lw=0)
            tallest = max(tallest, 100 * max(frac))
            ax.set_xlim(lo, hi)
            ax.set_xticks([lo, (lo + hi) / 2, hi], [_tick(lo), _tick((lo + hi) / 2), _tick(hi)])
            ax.tick_params(labelsize=7, length=2, pad=1.5)
            for label, align in zip(ax.get_xticklabels(), ("left", "center", "right"), strict=True):
                label.set_horizontalalignment(align)
            if c > 0:
                ax.tick_params(labelleft=False)
            if r == 0:
                ax.set_title(f"{i + 1}-layer", fontsize=9)
            notes = _panel_notes(run, i, zero_bin)
            most_notes = max(most_notes, len(notes))
            for k, (text, col) in enumerate(notes):
                ax.text(
                    0.97,
                    0.97 - 0.11 * k,
                    text,
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize=6.5,
                    color=col,
                )
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        axes[r][0].set_ylabel(f"{run.label}\n% of entries", fontsize=8.5)
        # headroom above the tallest bar of the row for the notes (the row shares its y axis)
        axes[r][0].set_ylim(0, (tallest or 1.0) * (1.05 + 0.12 * most_notes))
    fig.suptitle(f"{result.activation}: activation histograms per layer — {_setup(result)}", fontsize=10)
    return fig


def _setup(result: ProbeResult) -> str:
    seeds = len(result.seeds)
    return (
        f"{result.depth} layers × {result.width} units, {result.samples} {result.input} inputs, "
        f"{seeds} seed{'s' if seeds > 1 else ''}{', with bias' if result.bias else ''}"
    )


def _positive(values: Sequence[float]) -> list[float]:
    return [v if math.isfinite(v) and v > 0 else math.nan for v in values]


def summary_figure(result: ProbeResult) -> Any:
    """Std per layer for every spec on log axes: activations, ∂L/∂z and ∂L/∂W.

    Measured values are dots on a pale solid line (mean over seeds, with the min-max band over seeds
    when there are several); the mean-field prediction is dashed on top, in the same colour. Values
    that are 0 or not finite cannot sit on a log axis: they are left out, and a spec with no value
    left is named in the panel.
    """
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    runs = result.runs
    depth = result.depth
    x = list(range(1, depth + 1))
    seeds = len(result.seeds)
    fig, axes = plt.subplots(
        1, len(SUMMARY_PANELS), figsize=(4.3 * len(SUMMARY_PANELS), 4.0), layout="constrained"
    )
    any_theory = False
    palette = colors_for([run.label for run in runs])
    for ax, (stat, field, title) in zip(axes, SUMMARY_PANELS, strict=True):
        off_scale: list[str] = []
        for k, run in enumerate(runs):
            mean, low, high = (_positive(s) for s in run.series(stat))
            if all(math.isnan(v) for v in mean):
                off_scale.append(run.label)
                continue
            ax.plot(x, mean, lw=2.2, alpha=0.45, color=palette[k], zorder=2)
            ax.plot(x, mean, ls="none", marker="o", ms=4, color=palette[k], zorder=2)
            if seeds > 1:
                ax.fill_between(x, low, high, color=palette[k], alpha=0.2, lw=0)
            pred = _positive(run.theory_series(field))
            if any(math.isfinite(v) for v in pred):
                any_theory = True
                ax.plot(x, pred, ls=(0, (4, 2)), lw=1.3, color=palette[k], zorder=3)
        if len(off_scale) < len(runs):
            ax.set_yscale("log")
        if off_scale:
            ax.text(
                0.02,
                0.02,
                "not shown (0 or not finite): " + ", ".join(off_scale),
                transform=ax.transAxes,
                fontsize=7,
                color="0.35",
                va="bottom",
                zorder=5,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.0},
            )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("layer")
        ax.set_ylabel("std (log scale)")
        ax.set_xlim(0.7, depth + 0.3)
        if depth <= 12:
            ax.set_xticks(x)
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, which="major", alpha=0.3)
    handles: list[Any] = [
        Line2D([], [], color=palette[k], marker="o", ms=4, lw=2.2, alpha=0.8, label=run.label)
        for k, run in enumerate(runs)
    ]
    if any_theory:
        handles.append(Line2D([], [], color="0.3", ls=(0, (4, 2)), lw=1.3, label="mean-field theory"))
    if seeds > 1:
        handles.append(Patch(color="0.3", alpha=0.2, label=f"min–max over {seeds} seeds"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6), frameon=False)
    fig.suptitle(
        f"{result.activation}: std per layer — {_setup(result)}; cotangent N(0, 1) at the last layer",
        fontsize=10,
    )
    return fig
