"""The phase diagrams: test accuracy with the mean-field theory drawn over it (Schoenholz et al. 2017):
over (sigma_w^2, sigma_b^2) with the chi_1 = 1 boundary and the 6 xi_c = L contour
(:func:`phase_figure`), and over (sigma_w^2, depth L) with the curve L = 6 xi_c and the line
chi_1 = 1 (:func:`depth_figure`)."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from ._style import pyplot

if TYPE_CHECKING:  # pragma: no cover
    from ..studies.phase import PhaseDepthResult, PhaseResult


def _edges(values: list[float]) -> list[float]:
    """Cell edges around sorted centres (half-way between neighbours, mirrored at the ends)."""
    if len(values) == 1:
        return [values[0] - 0.5, values[0] + 0.5]
    mids = [(a + b) / 2 for a, b in itertools.pairwise(values)]
    return [2 * values[0] - mids[0], *mids, 2 * values[-1] - mids[-1]]


def phase_figure(result: PhaseResult) -> Any:
    """Heatmap of the mean test accuracy (%), the boundary chi_1 = 1 (white, dashed) and the contour
    6 xi_c = L (black): the theory's trainable band lies between the two branches of that contour."""
    import numpy as np

    plt = pyplot()
    cfg = result.config
    fig, ax = plt.subplots(figsize=(7.2, 5.2), constrained_layout=True)
    acc = np.array([[np.nan if v is None else 100 * v for v in row] for row in result.accuracy])  # (B, W)
    mesh = ax.pcolormesh(
        _edges(result.sigma_w2),
        _edges(result.sigma_b2),
        acc,
        cmap="viridis",
        vmin=0,
        vmax=100,
        shading="flat",
    )
    fig.colorbar(mesh, ax=ax, label="test accuracy (%)")
    th = result.theory
    depth = 6 * np.array(th["xi_c"], dtype=float)  # (Rb, Rw)
    depth[~np.isfinite(depth)] = 1e6  # at the boundary xi_c is infinite: deep enough
    cs = ax.contour(th["sigma_w2"], th["sigma_b2"], depth, levels=[cfg.depth], colors="black", linewidths=1.5)
    pts = [(b, w) for b, w in th["boundary"] if w is not None and math.isfinite(w)]
    ax.plot([w for _, w in pts], [b for b, _ in pts], "--", color="white", lw=2.0, label=r"$\chi_1 = 1$")
    handles, labels = ax.get_legend_handles_labels()
    if cs.allsegs and any(len(s) for s in cs.allsegs[0]):
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="black", lw=1.5))
        labels.append(rf"$6\,\xi_c = L = {cfg.depth}$")
    ax.legend(handles, labels, loc="upper left", framealpha=0.8)
    ax.set_xlim(_edges(result.sigma_w2)[0], _edges(result.sigma_w2)[-1])
    ax.set_ylim(_edges(result.sigma_b2)[0], _edges(result.sigma_b2)[-1])
    ax.set_xlabel(r"$\sigma_w^2$ (weight variance x fan_in)")
    ax.set_ylabel(r"$\sigma_b^2$ (bias variance)")
    seeds = f", mean of {cfg.seeds} seeds" if cfg.seeds > 1 else ""
    ax.set_title(
        f"{cfg.activation} MLP, depth L = {cfg.depth}, width {cfg.width}: test accuracy after "
        f"{cfg.iterations} steps{seeds}" + (" (partial)" if result.partial else ""),
        fontsize=10,
    )
    return fig


def fixed_points_figure(result: PhaseResult) -> Any:
    """Measured at initialization against the mean-field maps: q* (left) and c* (right), one point per
    grid point, coloured by sigma_b^2; the diagonal is agreement."""
    plt = pyplot()
    cfg = result.config
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), constrained_layout=True)
    pts = [p for p in result.initial if math.isfinite(p["q_theory"])]
    bs = [p["sigma_b2"] for p in pts]
    for ax, what, label in ((axes[0], "q", "q*"), (axes[1], "c", "c*")):
        x = [p[f"{what}_theory"] for p in pts]
        y = [p[f"{what}_measured"] for p in pts]
        sc = ax.scatter(x, y, c=bs, cmap="viridis", s=28, edgecolors="black", linewidths=0.4)
        finite = [v for v in x + y if math.isfinite(v)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls=":", label="measured = theory")
        ax.set_xlabel(f"{label}, mean-field theory")
        ax.set_ylabel(f"{label}, measured at layer L")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.colorbar(sc, ax=axes[1], label=r"$\sigma_b^2$")
    fig.suptitle(
        f"{cfg.activation} MLP at initialization, depth L = {cfg.depth}, width {cfg.init_width}: "
        "pre-activation variance q and correlation c of two inputs",
        fontsize=10,
    )
    return fig


def depth_figure(result: PhaseDepthResult) -> Any:
    """Heatmap of the mean test accuracy (%) over sigma_w^2 (x) and depth L (y), the curve
    L = 6 xi_c(sigma_w^2) (black: the theory's trainable depth, infinite at the boundary) and the
    line chi_1 = 1 (white, dashed)."""
    import numpy as np

    plt = pyplot()
    cfg = result.config
    fig, ax = plt.subplots(figsize=(7.2, 5.2), constrained_layout=True)
    acc = np.array([[np.nan if v is None else 100 * v for v in row] for row in result.accuracy])  # (D, W)
    xe, ye = _edges(result.sigma_w2), _edges([float(d) for d in result.depths])
    mesh = ax.pcolormesh(xe, ye, acc, cmap="viridis", vmin=0, vmax=100, shading="flat")
    fig.colorbar(mesh, ax=ax, label="test accuracy (%)")
    th = result.theory
    # 6 xi_c as drawn: infinite at the boundary, where the line leaves the top of the axes
    limit = [v if math.isfinite(v) else np.nan for v in th["six_xi_c"]]
    ax.plot(th["sigma_w2"], limit, color="black", lw=1.8, label=r"$L = 6\,\xi_c(\sigma_w^2)$")
    crit = th["critical_sigma_w2"]
    if math.isfinite(crit):
        ax.axvline(crit, color="white", ls="--", lw=2.0, label=rf"$\chi_1 = 1$ ($\sigma_w^2$ = {crit:.3f})")
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(max(0.0, ye[0]), ye[-1])
    ax.legend(loc="upper right", framealpha=0.8, fontsize=9)
    ax.set_xlabel(r"$\sigma_w^2$ (weight variance x fan_in)")
    ax.set_ylabel("depth L (hidden layers)")
    seeds = f", mean of {cfg.seeds} seeds" if cfg.seeds > 1 else ""
    ax.set_title(
        f"{cfg.activation} MLP, width {cfg.width}, $\\sigma_b^2$ = {result.sigma_b2:g}: test accuracy after "
        f"{cfg.iterations} steps{seeds}" + (" (partial)" if result.partial else ""),
        fontsize=10,
    )
    return fig


__all__ = ["depth_figure", "fixed_points_figure", "phase_figure"]
