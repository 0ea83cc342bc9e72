"""The probe's measurement: one forward and backward pass of a stacked MLP, per-layer statistics.

:func:`forward_backward` runs ``x: (B, D)`` through every model of a :class:`~initlab.ensemble.Stack`
(activations applied after every layer) and back from ``L = sum(g * a_L)`` with a cotangent
``g: (B, H)`` shared by all models; :func:`layer_stats` reduces one layer to per-model statistics
(:mod:`initlab.measure.stats`: pooled over inputs and units, non-finite values counted, never
propagated); :func:`auto_range` picks a histogram range that fits an activation and the values seen.
The study around it (specs, seeds, theory, results) is :mod:`initlab.studies.probe`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from ..activations import Activation
from ..ensemble import Stack
from . import stats

HIST_QUANTILE = 0.995  #: automatic histogram ranges cover this central share on unbounded sides


def forward_backward(
    stack: Stack, act: Activation, x: Tensor, g: Tensor
) -> tuple[list[Tensor], list[Tensor]]:
    """Pre-activations ``z_l`` (with ``.grad`` = dL/dz_l) and activations ``a_l``, each ``(M, B, H)``.

    ``L = sum(g * a_L)``; the weights' gradients are left in ``stack.weights[l].grad``.
    """
    depth = len(stack.weights)
    pre: list[Tensor] = []
    post: list[Tensor] = []
    with torch.enable_grad():
        h = x
        for layer in range(depth):
            z = stack.linear(layer, h)  # (M, B, H)
            z.retain_grad()
            h = act(z)  # (M, B, H)
            pre.append(z)
            post.append(h)
        torch.autograd.backward((h * g).sum())  # g: (B, H), the same cotangent for every model

    return pre, post


def layer_stats(act: Activation, z: Tensor, a: Tensor, w_grad: Tensor | None) -> dict[str, Tensor | None]:
    """Per-model statistics of one layer: every value has shape ``(M,)``."""
    mom = stats.moments(a.detach(), act.bounds)
    _, preact_std = stats.finite_mean_std(z.detach())
    grad = z.grad if z.grad is not None else torch.zeros_like(z)  # (M, B, H)
    wg = w_grad if w_grad is not None else z.new_zeros(z.shape[0], 1)  # (M, out, in)
    return {
        "mean": mom.mean,
        "std": mom.std,
        "preact_std": preact_std,
        "saturated_fraction": mom.saturated_fraction,
        "zero_fraction": mom.zero_fraction,
        "dead_fraction": mom.dead_fraction,
        "nonfinite": mom.nonfinite,
        "grad_std": stats.finite_mean_std(grad)[1],
        "grad_nonfinite": stats.nonfinite(grad),
        "weight_grad_std": stats.finite_mean_std(wg)[1],
    }


def nice_ceil(v: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (x 10^k) that is >= ``v > 0``.

    >>> nice_ceil(0.195), nice_ceil(3.64), nice_ceil(45000.0)
    (0.2, 4.0, 50000.0)
    """
    base = 10.0 ** math.floor(math.log10(v))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * base >= v * (1 - 1e-12):
            return float(f"{m * base:.3g}")
    return 10.0 * base  # pragma: no cover - the loop always returns


def auto_range(
    bounds: tuple[float | None, float | None], activations: Sequence[Tensor]
) -> tuple[float, float]:
    """A histogram range that fits an activation and the values seen.

    Bounded activations use their image (sigmoid (0, 1), tanh (-1, 1)). An unbounded side uses the
    central ``HIST_QUANTILE`` of the finite values (rounded up to a round number) and a finite bound on
    the other side (ReLU: from 0 up); activations unbounded on both sides get a symmetric range.
    """
    lo_b, hi_b = bounds
    if lo_b is not None and hi_b is not None:
        return float(lo_b), float(hi_b)
    cap = max(1, (1 << 22) // max(1, len(activations)))  # torch.quantile takes < 2**24 values
    parts = []
    for a in activations:
        flat = a.detach().reshape(-1)
        part = flat[:: max(1, -(-flat.numel() // cap))].double()
        parts.append(part[torch.isfinite(part)])
    vals = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)
    if vals.numel() == 0:
        return (float(lo_b), float(lo_b) + 1.0) if lo_b is not None else (-1.0, 1.0)
    probs = torch.tensor([1.0 - HIST_QUANTILE, HIST_QUANTILE], dtype=torch.float64, device=vals.device)
    q_lo, q_hi = (float(v) for v in torch.quantile(vals, probs))
    if lo_b is None and hi_b is None:
        m = max(abs(q_lo), abs(q_hi))
        lo, hi = (-nice_ceil(m), nice_ceil(m)) if m > 0 else (-1.0, 1.0)
    else:
        lo = max(float(lo_b), q_lo) if lo_b is not None else q_lo
        hi = min(float(hi_b), q_hi) if hi_b is not None else q_hi
        if hi_b is None and lo <= 0 < hi:  # anchored at or below 0: round the top up
            hi = nice_ceil(hi)
    if not hi > lo:  # every value equal (e.g. all zero)
        span = abs(lo) if lo != 0 else 1.0
        lo, hi = (lo, lo + span) if lo_b is not None and lo == lo_b else (lo - span / 2, lo + span / 2)
    return lo, hi
