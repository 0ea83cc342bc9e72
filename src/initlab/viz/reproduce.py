"""Figures of the reproduce report that no other study draws: std per layer across activations, and
the book's "Xavier" beside true Glorot.

Each init keeps one colour in every panel (and the colours of the MNIST comparison figure:
std=0.01, Xavier, He first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._style import KNOWN, color, pyplot

if TYPE_CHECKING:
    from ..studies.probe import ProbeResult

_ORDER = ("std=0.01", "Xavier", "He", "std=1", "Glorot")
_MARKERS = ("o", "s", "^", "D", "v")


def _style(label: str) -> dict[str, Any]:
    k = _ORDER.index(label) if label in _ORDER else len(_ORDER) + sum(map(ord, label)) % 3
    c = KNOWN.get(label, color(k))
    return {"color": c, "marker": _MARKERS[k % len(_MARKERS)]}


def _positive(values: Sequence[float]) -> list[float]:
    return [v if math.isfinite(v) and v > 0 else math.nan for v in values]


def std_per_layer_figure(probes: Mapping[str, ProbeResult], reference_std: Mapping[str, float]) -> Any:
    """Two rows, one column per activation: activation std per layer, and the gradient std w.r.t.
    the pre-activations per layer (log axes). The dotted line is ``reference_std[act]``, the
    activation's std for N(0, 1) input (the result's ``parts.probe.reference_std``); the grey zone
    below a tenth of it is where a layer counts as collapsed. Draws only: every number is given."""
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    acts = list(probes)
    fig, axes = plt.subplots(
        2, len(acts), figsize=(4.2 * len(acts), 7.0), squeeze=False, layout="constrained", sharex=True
    )
    labels: list[str] = []
    for c, act in enumerate(acts):
        res = probes[act]
        x = list(range(1, res.depth + 1))
        ref = reference_std[act]
        for row, stat in enumerate(("std", "grad_std")):
            ax = axes[row][c]
            for run in res.runs:
                mean, low, high = (_positive(s) for s in run.series(stat))
                st = _style(run.label)
                ax.plot(x, mean, lw=2, ms=5, **st)
                if len(res.seeds) > 1:
                    ax.fill_between(x, low, high, color=st["color"], alpha=0.2, lw=0)
                if run.label not in labels:
                    labels.append(run.label)
            ax.set_yscale("log")
            if row == 0:
                values = [v for r in res.runs for v in _positive(r.series(stat)[0]) if math.isfinite(v)]
                bottom = min([ref / 20, *values]) / 2
                ax.set_ylim(bottom, max(1.5, ref * 3))
                ax.axhline(ref, color="0.3", ls=":", lw=1.4)
                ax.axhspan(bottom, ref / 10, color="0.85", alpha=0.6, lw=0)
                ax.set_title(f"{act}: std of the activations", fontsize=10.5)
            else:
                ax.set_title(f"{act}: std of the gradient ∂L/∂z", fontsize=10.5)
                ax.set_xlabel("layer")
            ax.set_xticks(x)
            ax.grid(True, which="major", alpha=0.3)
            if c == 0:
                ax.set_ylabel("std (log scale)")
    handles: list[Any] = [Line2D([], [], lw=2, ms=5, label=lb, **_style(lb)) for lb in labels]
    handles += [
        Line2D([], [], color="0.3", ls=":", lw=1.4, label="std of φ(z), z ~ N(0, 1)"),
        Patch(color="0.85", alpha=0.6, label="collapsed: below a tenth of that"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=9)
    res0 = next(iter(probes.values()))
    seeds = len(res0.seeds)
    fig.suptitle(
        f"Signal per layer at initialization: {res0.depth} layers × {res0.width} units, "
        f"{res0.samples} N(0, 1) inputs, {seeds} seed{'s' if seeds > 1 else ''}"
        + (" (line: mean, band: min to max)" if seeds > 1 else ""),
        fontsize=11,
    )
    return fig


def glorot_figure(glorot: Mapping[str, ProbeResult]) -> Any:
    """One panel per activation: std per layer under the book's "Xavier" and true Glorot, with a
    784-wide input (fan_in != fan_out in layer 1)."""
    plt = pyplot()
    acts = list(glorot)
    fig, axes = plt.subplots(
        1, len(acts), figsize=(4.2 * len(acts), 3.6), squeeze=False, layout="constrained"
    )
    for c, act in enumerate(acts):
        ax = axes[0][c]
        res = glorot[act]
        x = list(range(1, res.depth + 1))
        for k, run in enumerate(res.runs):
            mean = _positive(run.series("std")[0])
            ax.plot(
                x,
                mean,
                lw=2,
                ms=5,
                ls="-" if k == 0 else "--",
                label=f"{run.label} ({run.spec})",
                **_style(run.label),
            )
        ax.set_title(act)
        ax.set_xlabel("layer")
        ax.set_xticks(x)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if c == 0:
            ax.set_ylabel("std of the activations")
        ax.legend(fontsize=8, frameon=False, loc="lower left")
    res0 = next(iter(glorot.values()))
    fig.suptitle(
        f"The book's “Xavier” vs Glorot with a {res0.input_dim}-wide input: "
        f"{res0.input_dim} → {' → '.join([str(res0.width)] * res0.depth)}",
        fontsize=11,
    )
    return fig
