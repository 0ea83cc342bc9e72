"""The diagnose figure: std per layer, forward (activations) and backward (gradients), log scale."""

from __future__ import annotations

import math
from typing import Any

from ..tools import Diagnosis
from ._style import color, pyplot

_MAX_TICKS = 60


def _values(xs: list[float | None]) -> list[float]:
    """``None``, non-finite and non-positive values become NaN (gaps on a log axis)."""
    return [v if v is not None and math.isfinite(v) and v > 0 else math.nan for v in xs]


def _log_if_positive(ax: Any, *series: list[float]) -> None:
    """Log scale where there is something positive; plain 1-2-5 labels when it spans < 3 decades."""
    from matplotlib import ticker

    vals = [v for s in series for v in s if math.isfinite(v) and v > 0]
    if not vals:
        return
    ax.set_yscale("log")
    if math.log10(max(vals) / min(vals)) < 3:
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def std_per_layer(diagnosis: Diagnosis, *, title: str | None = None) -> Any:
    """Two panels sharing the layer axis (call order): activation std and gradient size per layer.

    Weighted layers (Linear/ConvNd, the depth profile of the findings) are drawn with filled markers;
    layers with a per-layer flag (dead, saturated, non-finite) are shaded.
    """
    plt = pyplot()
    from matplotlib.patches import Patch

    layers = diagnosis.layers
    x = list(range(len(layers)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(7.0, 0.22 * len(layers) + 3), 7.5), sharex=True)
    fwd = [
        ("std of the outputs", _values([la.std for la in layers]), "-"),
        ("signal std (across the batch, per unit)", _values([la.signal_std for la in layers]), "--"),
    ]
    bwd = [
        ("gradient std (per entry)", _values([la.grad_std for la in layers]), "-"),
        ("gradient norm (per sample)", _values([la.grad_norm for la in layers]), "--"),
    ]
    weighted = [i for i, la in enumerate(layers) if la.weighted]
    for ax, series in ((top, fwd), (bottom, bwd)):
        for k, (label, ys, style) in enumerate(series):
            c = color(k)
            ax.plot(x, ys, style, color=c, lw=1.4, label=label)
            ax.plot(x, ys, "o", color=c, ms=3.5, mfc="white", mew=1.0)
            ax.plot(weighted, [ys[i] for i in weighted], "o", color=c, ms=4.5)
        _log_if_positive(ax, *(s for _, s, _ in series))
        ax.grid(True, which="major", alpha=0.3)
        for i, la in enumerate(layers):
            if la.flags and set(la.flags) & {"dead", "saturated", "nonfinite"}:
                ax.axvspan(i - 0.45, i + 0.45, color=color(3), alpha=0.12, lw=0)
    top.set_ylabel("activation std (log scale)")
    bottom.set_ylabel("gradient w.r.t. output (log scale)")
    top.set_title("forward: layer outputs (filled markers: Linear/Conv layers)", fontsize=10, loc="left")
    bottom.set_title("backward: gradient of sum(output * g), g ~ N(0, 1)", fontsize=10, loc="left")
    flagged = Patch(color=color(3), alpha=0.12, label="flagged layer (dead / saturated / non-finite)")
    for ax in (top, bottom):
        handles, _ = ax.get_legend_handles_labels()
        if any(la.flags and set(la.flags) & {"dead", "saturated", "nonfinite"} for la in layers):
            handles.append(flagged)
        ax.legend(handles=handles, fontsize=8, loc="best")
    step = max(1, math.ceil(len(layers) / _MAX_TICKS))
    bottom.set_xticks(x[::step])
    bottom.set_xticklabels([f"{la.name} ({la.type})" for la in layers][::step], rotation=90, fontsize=7)
    bottom.set_xlabel("layer (forward call order)")
    fig.suptitle(title or _summary(diagnosis), fontsize=11)
    fig.tight_layout()
    return fig


def _summary(d: Diagnosis) -> str:
    parts = []
    for f in d.findings:
        what = f"{f.kind} {'signal' if f.direction == 'forward' else 'gradient'}"
        if f.kind in ("dead", "saturated"):
            what = f"{f.kind} units in {len(f.layers)} layer(s)"
        elif f.kind == "zero_init":
            what = f"deliberate zero weights in {len(f.layers)} layer(s)"
        elif f.kind == "nonfinite":
            what = f"non-finite {'values' if f.direction == 'forward' else 'gradients'}"
        parts.append(what + (f" (x{f.ratio:.2g})" if f.ratio is not None else ""))
    return "std per layer: " + ("; ".join(parts) if parts else "no findings")
