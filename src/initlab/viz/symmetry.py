"""Figures of the symmetry lab: distinct units, training curves, effective rank."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from ..measure.series import moving_average
from ._style import colors_for, pyplot

if TYPE_CHECKING:
    from ..studies.symmetry import SymmetryResult


def _panels(n: int, title: str) -> tuple[Any, list[Any]]:
    plt = pyplot()
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n + 0.6, 3.4), sharey=True, squeeze=False)
    fig.suptitle(title)
    return fig, list(axes[0])


def _mark_divergence(ax: Any, it: int | None, c: str) -> None:
    if it is not None:
        ax.axvline(it, color=c, linestyle=":", linewidth=1)


def _until_divergence(iterations: list[int], values: list[Any], diverged_at: int | None) -> list[float]:
    """Values as floats, NaN after divergence (a frozen model's numbers say nothing new)."""
    return [
        float(v) if diverged_at is None or it <= diverged_at else math.nan
        for it, v in zip(iterations, values, strict=True)
    ]


_STYLES = ["-", "--", "-.", "-"]


def distinct_units_figure(result: SymmetryResult) -> Any:
    """One panel per hidden layer: distinct units vs iteration, a line per case (log y)."""
    layers = len(result.widths) - 2
    palette = colors_for([c.label for c in result.cases])
    fig, axes = _panels(
        layers, f"Distinct units per hidden layer ({result.activation}, width {result.width})"
    )
    for i, ax in enumerate(axes):
        for k, case in enumerate(result.cases):
            ys = _until_divergence(case.iterations, case.distinct_units[i], case.diverged_at)
            ax.plot(
                case.iterations,
                ys,
                color=palette[k],
                label=case.label
                + (f" (diverged at {case.diverged_at})" if case.diverged_at is not None else ""),
                linewidth=3.0 - 0.5 * k,
                linestyle=_STYLES[k % 4],
                marker="x" if case.diverged_at is not None else None,
            )
        ax.set_yscale("log")
        ax.set_ylim(0.8, result.width * 1.3)
        ax.set_title(f"{i + 1}-layer")
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"distinct units (of {result.width})")
    axes[-1].legend(loc="center right", fontsize=8)
    fig.tight_layout()
    return fig


def training_figure(result: SymmetryResult) -> Any:
    """Training loss (smoothed, clipped to 0..3.5) and test accuracy per case."""
    plt = pyplot()
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(10, 3.6))
    fig.suptitle(f"Training ({result.activation}, {result.dataset})")
    palette = colors_for([c.label for c in result.cases])
    for k, case in enumerate(result.cases):
        loss = [v if math.isfinite(v) else math.nan for v in case.train_loss]
        ax_l.plot(
            range(len(loss)),
            moving_average(torch.tensor(loss, dtype=torch.float64), 20).numpy(),
            color=palette[k],
            label=case.label,
            linewidth=1.5,
        )
        _mark_divergence(ax_l, case.diverged_at, palette[k])
        acc = [100 * v if math.isfinite(v) else math.nan for v in case.test_accuracy]
        ax_a.plot(case.eval_iterations, acc, color=palette[k], marker="o", markersize=3, label=case.label)
    ax_l.axhline(result.label_entropy, color="grey", linestyle="--", linewidth=1, label="label entropy")
    ax_l.set_ylim(0, 3.5)
    ax_l.set_xlabel("iteration")
    ax_l.set_ylabel("training loss (nats, 20-step mean)")
    ax_l.legend(fontsize=8, loc="upper right")
    ax_l.grid(alpha=0.3)
    ax_a.set_ylim(0, 100)
    ax_a.set_xlabel("iteration")
    ax_a.set_ylabel("test accuracy (%)")
    ax_a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def effective_rank_figure(result: SymmetryResult) -> Any:
    """One panel per hidden layer: effective rank of the activations on a fixed batch."""
    layers = len(result.widths) - 2
    palette = colors_for([c.label for c in result.cases])
    fig, axes = _panels(
        layers,
        "Effective rank of each hidden layer's activations (fixed test batch; 0 = all zero, not drawn)",
    )
    for i, ax in enumerate(axes):
        for k, case in enumerate(result.cases):
            ys = _until_divergence(case.iterations, case.effective_rank[i], case.diverged_at)
            ys = [v if v > 0 else math.nan for v in ys]
            ax.plot(
                case.iterations,
                ys,
                color=palette[k],
                label=case.label,
                linewidth=1.6,
                linestyle=_STYLES[k % 4],
                marker="x" if case.diverged_at is not None else None,
            )
        ax.set_title(f"{i + 1}-layer")
        ax.set_xlabel("iteration")
        ax.set_yscale("log")
        ax.set_ylim(0.8, result.width * 1.3)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("effective rank")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    return fig
