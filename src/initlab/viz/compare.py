"""The compare figure: smoothed training loss per init (the classic study's view) and test accuracy.

Reads a :class:`initlab.studies.compare.CompareResult` and returns the matplotlib figure. With
several seeds per spec, lines are the mean over seeds and the band spans the seeds (min to max).
Diverged models are left out of the mean from the point they diverged and counted in the legend.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from ._style import colors_for, pyplot

if TYPE_CHECKING:
    from ..studies.compare import CompareResult


def _title(result: CompareResult) -> str:
    cfg = result.config
    arch = "-".join(str(w) for w in result.widths) if result.widths else result.model
    opt = cfg.optimizer if cfg.optimizer != "momentum" else f"momentum {cfg.momentum}"
    sampling = "with replacement" if cfg.sampling == "replacement" else "shuffled epochs"
    seeds = f"{cfg.seeds} seed{'s' if cfg.seeds > 1 else ''} per init"
    done = result.train.iterations
    its = f"{done} iterations" + (f" of {cfg.iterations} (interrupted)" if result.partial else "")
    bias = {"zeros": "biases 0", "scheme": "biases from the scheme", "none": "no biases"}[cfg.bias]
    name = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}
    ds = str(result.dataset.get("name", cfg.dataset))
    return (
        f"{name.get(ds, ds)}: {arch} {cfg.activation}, {bias}\n"
        f"{opt.upper() if opt == 'sgd' else opt.capitalize()} lr={cfg.lr:g}, batch {cfg.batch_size} "
        f"{sampling}, {its}, {seeds}"
    )


def _band(ax: Any, x: Any, ys: torch.Tensor, c: str, label: str, marker: str | None = None) -> None:
    """Mean over columns with a min-max band; NaN columns are ignored per row."""
    finite = torch.isfinite(ys)
    cnt = finite.sum(1)  # (T,)
    mean = torch.where(finite, ys, 0.0).sum(1) / cnt.clamp(min=1)
    mean = torch.where(cnt > 0, mean, math.nan)
    ax.plot(x, mean.numpy(), color=c, lw=1.8, label=label, marker=marker, ms=4)
    if ys.shape[1] > 1:
        lo = torch.where(finite, ys, math.inf).amin(1)
        hi = torch.where(finite, ys, -math.inf).amax(1)
        ok = (cnt > 0).numpy()
        ax.fill_between(x, lo.numpy(), hi.numpy(), where=ok, color=c, alpha=0.2, lw=0)


def compare_figure(result: CompareResult) -> Any:
    """Two panels: smoothed training loss vs iteration (y 0 to 2.5), test accuracy vs iteration."""
    plt = pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    tr = result.train
    smoothed = result.smoothed_loss()  # (T, M)
    iters = torch.arange(1, smoothed.shape[0] + 1).numpy()
    evals = tr.eval_iterations
    palette = colors_for(result.labels)  # the classic labels keep their colours across figures
    for i, label in enumerate(result.labels):
        ms = [m for m, s in enumerate(result.model_spec) if s == i]
        n_div = sum(tr.diverged_at[m] is not None for m in ms)
        name = label + (f" ({n_div}/{len(ms)} diverged)" if n_div else "")
        c = palette[i]
        if len(iters):
            _band(ax_loss, iters, smoothed[:, ms], c, name)
        acc = tr.eval_accuracy[:, ms].clone()  # (E, S)
        final = acc[-1][torch.isfinite(acc[-1])]
        acc_name = f"{label}: {100 * float(final.mean()):.1f}%" if len(final) else f"{label}: -"
        _band(ax_acc, evals, 100 * acc, c, acc_name, marker="o")

    ax_loss.set_ylim(0, 2.5)
    ax_loss.set_xlim(0, max(result.config.iterations, 1))
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("training loss (cross-entropy, nats)")
    ax_loss.set_title(f"Training loss, moving average over {result.config.smooth} iterations")
    ax_loss.axhline(math.log(10), color="0.6", lw=0.8, ls=":")
    ax_loss.text(
        0.99,
        math.log(10) - 0.03,
        "ln 10 (chance)",
        color="0.45",
        fontsize=8,
        ha="right",
        va="top",
        transform=ax_loss.get_yaxis_transform(),
    )
    ax_loss.legend(loc="best", frameon=False)
    ax_loss.grid(alpha=0.3)

    ax_acc.set_ylim(0, 100)
    ax_acc.set_xlim(0, max(result.config.iterations, 1))
    ax_acc.set_xlabel("iteration")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_title(f"Held-out accuracy ({tr.eval_examples:,} test images)")
    ax_acc.axhline(100 / result.classes, color="0.6", lw=0.8, ls=":")
    ax_acc.legend(loc="best", frameon=False, title="final")
    ax_acc.grid(alpha=0.3)

    band = " Bands: min to max over seeds." if result.config.seeds > 1 else ""
    notes = " ".join(result.notes)
    fig.suptitle(_title(result), fontsize=11)
    if notes or band:
        fig.text(
            0.5, -0.01, (notes + band).strip(), ha="center", va="top", fontsize=8.5, color="0.3", wrap=True
        )
    fig.tight_layout()
    return fig
