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


def _pick_layers(
    depth: int, layers: Sequence[int] | None, max_layers: int, among: Sequence[int] | None = None
) -> list[int]:
    """0-based indices of the layers to draw: the given 1-based ones, or at most ``max_layers``
    spread out over ``among`` (0-based candidates; default every layer)."""
    if layers is not None:
        picked = sorted({int(la) for la in layers})
        bad = [la for la in picked if not 1 <= la <= depth]
        if bad:
            from ..core.errors import InitlabError

            raise InitlabError(f"layers {bad} out of range: the probe has layers 1..{depth}")
        return [la - 1 for la in picked]
    pool = list(range(depth)) if among is None else list(among)
    if len(pool) <= max_layers:
        return pool
    step = (len(pool) - 1) / (max_layers - 1)
    return sorted({pool[round(i * step)] for i in range(max_layers)})


def _kinds(result: ProbeResult, kind: str | None) -> list[int] | None:
    """The layers of one kind (``--model``): ``kind``, else activations if any, else weighted layers."""
    if result.model is None:
        return None
    layers = result.runs[0].layers
    if kind is None:
        kind = "activation" if any(la.kind == "activation" for la in layers) else "weighted"
    picked = [i for i, la in enumerate(layers) if la.kind == kind or la.role == kind]
    if not picked:
        from ..core.errors import InitlabError

        kinds = sorted({la.kind for la in layers} | {la.role for la in layers if la.role})
        raise InitlabError(f"no layer of kind {kind!r} in this probe; kinds: {', '.join(kinds)}")
    return picked


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
    result: ProbeResult,
    *,
    layers: Sequence[int] | None = None,
    max_layers: int = 10,
    kind: str | None = None,
) -> Any:
    """One row per spec (labelled as the user wrote it), one histogram per layer ("1-layer", ...;
    with ``--model`` the module's name, and by default only the activations -- else the weighted
    layers -- ``kind`` picks another kind or role: ``weighted``, ``norm``, ``stream``, ...).

    Bars show the share of a layer's entries per bin, averaged over seeds, on the spec's histogram
    range. Exact zeros (ReLU's flat side, zero weights) and values outside the range are taken out
    of their bins and given as shares in the panel, so a spike does not flatten the rest; saturated
    and dead shares and non-finite counts are noted too. ``layers`` picks 1-based layers; otherwise at most
    ``max_layers`` evenly spread ones are drawn.
    """
    plt = pyplot()
    runs = result.runs
    picked = _pick_layers(result.depth, layers, max_layers, _kinds(result, kind) if layers is None else None)
    nrows, ncols = len(runs), len(picked)
    width = 1.75 * ncols + 1.0
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width if result.model is None else max(width, 7.5), 1.55 * nrows + 0.9),
        squeeze=False,
        sharey="row",
        layout="constrained",
    )
    palette = colors_for([run.label for run in runs])
    for r, run in enumerate(runs):
        tallest, most_notes = 0.0, 0
        for c, i in enumerate(picked):
            ax = axes[r][c]
            layer = run.layers[i]
            lo, hi = run.layer_range(i)
            edges = [lo + (hi - lo) * j / run.bins for j in range(run.bins + 1)]
            width = (hi - lo) / run.bins
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
                ax.set_title(_title(layer), fontsize=9 if layer.kind == "hidden" else 7.5)
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
    if result.model is not None:
        what = {la.kind for la in (runs[0].layers[i] for i in picked)}
        title = (
            f"{result.model['spec']}\nhistograms of the {', '.join(sorted(what))} outputs — {_setup(result)}"
        )
    else:
        title = f"{result.activation}: activation histograms per layer — {_setup(result)}"
    fig.suptitle(title, fontsize=10)
    return fig


def _title(layer: Any) -> str:
    """A histogram panel's title: "3-layer"; with ``--model`` the module's name (and type if the
    name is a bare index, as in ``nn.Sequential``)."""
    if layer.kind == "hidden":
        return str(layer.label)
    name = str(layer.name)
    if name.split("#")[0].isdigit() and layer.type and layer.type != "ActivationModule":
        name = f"{name} ({layer.type})"
    return _short(name)


def _short(name: str, limit: int = 22) -> str:
    """A module name that fits a panel title: its tail, ``…`` in front when cut."""
    return name if len(name) <= limit else "…" + name[-(limit - 1) :]


def _setup(result: ProbeResult) -> str:
    seeds = len(result.seeds)
    if result.model is not None:
        return (
            f"{result.samples} {result.input} inputs, {seeds} seed{'s' if seeds > 1 else ''}, {result.device}"
        )
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
    if result.model is not None:
        return model_summary_figure(result)
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
        _log_scale_or_note(ax, off_scale, len(runs))
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


#: (statistic, panel title, y label, which layers) for the summary of a ``--model`` probe.
MODEL_PANELS = (
    ("std", "weighted layers: output std (pre-activation)", "std (log scale)", "weighted"),
    ("grad_std", "gradient w.r.t. weighted-layer outputs", "std (log scale)", "weighted"),
    ("weight_grad_std", "gradient w.r.t. weights, ∂L/∂W", "std (log scale)", "weighted"),
    ("std", "residual stream: std per block", "std (log scale)", "stream"),
    ("grad_norm", "residual stream: gradient norm per block", "norm per sample (log scale)", "stream"),
)


def _indices(run: SpecProbe, which: str) -> list[int]:
    return [i for i, la in enumerate(run.layers) if la.kind == which or la.role == which]


def model_summary_figure(result: ProbeResult) -> Any:
    """The summary of a ``--model`` probe, per spec on log axes: std of every weighted layer's
    output, of the gradient w.r.t. it and w.r.t. its weight (x: weighted layers in call order); for
    models with residual blocks also the residual stream's std per block (solid; the branch added
    in that block dotted) and the stream's gradient norm per sample (backwards: read right to left).
    Measured: dots on a pale line with the min-max band over seeds; theory dashed where it applies
    (the ``mlp`` family's hidden layers: mean-field; the residual stream: its predicted std per block
    from the first block on, and its predicted gradient norm from the last block back,
    :mod:`initlab.studies.probe_residual`), and a legend line saying when it is absent.
    """
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    runs = result.runs
    first = runs[0]
    residual = bool(_indices(first, "stream"))
    panels = [p for p in MODEL_PANELS if residual or p[3] != "stream"]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.1 * len(panels), 4.0), layout="constrained", squeeze=False
    )
    palette = colors_for([run.label for run in runs])
    seeds = len(result.seeds)
    any_theory = any_branch = False
    for ax, (stat, title, ylabel, which) in zip(axes[0], panels, strict=True):
        off_scale: list[str] = []
        for k, run in enumerate(runs):
            idx = _indices(run, which)
            x = list(range(1, len(idx) + 1))
            rows = [run.layers[i].summary(stat) for i in idx]
            mean, low, high = (_positive([r[j] for r in rows]) for j in (0, 2, 3))
            if all(math.isnan(v) for v in mean):
                off_scale.append(run.label)
                continue
            ax.plot(x, mean, lw=2.2, alpha=0.45, color=palette[k], zorder=2)
            ax.plot(x, mean, ls="none", marker="o", ms=4, color=palette[k], zorder=2)
            if seeds > 1:
                ax.fill_between(x, low, high, color=palette[k], alpha=0.2, lw=0)
            if which == "stream" and stat == "std":
                branch = _indices(run, "branch")
                if len(branch) == len(idx):  # one branch per block (a transformer block has two)
                    any_branch = True
                    vals = _positive([run.layers[i].summary("std")[0] for i in branch])
                    ax.plot(x, vals, ls=":", lw=1.4, marker="o", mfc="none", ms=4, color=palette[k], zorder=2)
            theory = [run.layers[i].theory for i in idx]
            pred = _positive([_predicted(th, stat) for th in theory])
            if any(math.isfinite(v) for v in pred):
                any_theory = True
                ax.plot(x, pred, ls=(0, (4, 2)), lw=1.3, color=palette[k], zorder=3)
        _log_scale_or_note(ax, off_scale, len(runs))
        n = len(_indices(first, which))
        ax.set_title(title, fontsize=9.5)
        ax.set_xlabel("residual block" if which == "stream" else "weighted layer (call order)")
        ax.set_ylabel(ylabel)
        ax.set_xlim(0.5, n + 0.5)
        if n <= 12:
            ax.set_xticks(list(range(1, n + 1)))
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, which="major", alpha=0.3)
    handles: list[Any] = [
        Line2D([], [], color=palette[k], marker="o", ms=4, lw=2.2, alpha=0.8, label=run.label)
        for k, run in enumerate(runs)
    ]
    if any_branch:
        handles.append(
            Line2D([], [], color="0.3", ls=":", marker="o", mfc="none", ms=4, label="branch output")
        )
    if any_theory:
        label = "theory (residual stream)" if residual else "mean-field theory"
        handles.append(Line2D([], [], color="0.3", ls=(0, (4, 2)), lw=1.3, label=label))
    else:
        handles.append(Line2D([], [], color="none", label="theory: none for this model"))
    if seeds > 1:
        handles.append(Patch(color="0.3", alpha=0.2, label=f"min–max over {seeds} seeds"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6), frameon=False)
    assert result.model is not None
    fig.suptitle(
        f"{result.model['spec']}: signal per layer at initialization — {_setup(result)}; "
        "cotangent N(0, 1) on the logits",
        fontsize=10,
    )
    return fig


def _predicted(th: Any, stat: str) -> float:
    """The theory's value of a drawn statistic: ``std``, or the stream's ``grad_norm``; NaN otherwise."""
    if th is None or stat not in ("std", "grad_norm"):
        return math.nan
    return float(th.std if stat == "std" else th.grad_norm)


def _log_scale_or_note(ax: Any, off_scale: list[str], n_runs: int) -> None:
    """Log scale when any run has positive values; name the runs left out (all 0 or not finite)."""
    if len(off_scale) < n_runs:
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
