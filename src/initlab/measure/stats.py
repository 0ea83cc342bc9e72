"""Per-layer signal statistics: pure functions on activation tensors (shared by probe and diagnose).

All functions take activations with a leading model axis ``a: (M, B, H)`` -- ``M`` models, ``B``
inputs, ``H`` units -- and return one value per model (``(M,)``). A single model is ``M = 1``; for
conv feature maps pass ``(M, B * spatial, C)`` so that units are channels.

Definitions (non-finite entries are counted, never propagated):

* ``nonfinite``: number of NaN/Inf entries.
* ``mean``, ``std``: over the finite entries (population std, ``ddof=0``).
* ``zero_fraction``: share of entries exactly equal to 0 (about 1/2 for ReLU on a symmetric input).
* ``dead_fraction``: share of units that are exactly 0 for *every* input in the batch.
* ``saturated_fraction``: for an activation bounded on both sides (``lo``, ``hi``) -- sigmoid (0, 1),
  tanh and softsign (-1, 1) -- the share of entries within 1% of the range from either bound
  (sigmoid: below 0.01 or above 0.99; tanh: ``|a| > 0.98``), where the derivative has all but
  vanished. ``None`` for activations unbounded on a side (ReLU's flat side is ``zero_fraction``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

SATURATION_MARGIN = 0.01  #: share of the output range counted as saturated at each end


@dataclass(frozen=True)
class Moments:
    """Per-model summary of one layer's activations; every field has shape ``(M,)``."""

    mean: Tensor
    std: Tensor
    zero_fraction: Tensor
    dead_fraction: Tensor
    nonfinite: Tensor
    saturated_fraction: Tensor | None


def _flat(a: Tensor) -> Tensor:
    return a.reshape(a.shape[0], math.prod(a.shape[1:]))  # (M, N); not -1: ambiguous when empty


def nonfinite(a: Tensor) -> Tensor:
    """Number of NaN/Inf entries per model: ``(M, ...) -> (M,)`` (int64)."""
    return (~torch.isfinite(_flat(a))).sum(dim=1)


def finite_mean_std(a: Tensor, *, branchless: bool = False) -> tuple[Tensor, Tensor]:
    """Mean and population std over finite entries per model (float64; NaN if none is finite).

    ``branchless=True`` skips the all-finite fast path (a data-dependent branch and a host sync),
    so the function runs inside ``torch.func.vmap`` and on a device without syncing; the values
    agree with the fast path's to rounding (masked sums instead of ``var_mean``).
    """
    x = _flat(a).double()  # (M, N)
    if x.numel() == 0:  # no entries at all (a zero-size layer): nothing to average
        nan = torch.full((x.shape[0],), math.nan, dtype=torch.float64, device=x.device)  # (M,)
        return nan, nan.clone()
    ok = torch.isfinite(x)  # (M, N)
    if not branchless and bool(ok.all()):  # fast path: no temporaries beyond x
        var, mean = torch.var_mean(x, dim=1, correction=0)  # (M,), (M,)
        return mean, var.sqrt()
    n = ok.sum(dim=1).double()  # (M,)
    xz = torch.where(ok, x, torch.zeros_like(x))  # (M, N)
    mean = xz.sum(dim=1) / n  # (M,)
    dev = torch.where(ok, x - mean.unsqueeze(1), torch.zeros_like(x))  # (M, N)
    var = (dev * dev).sum(dim=1) / n  # (M,)
    return mean, var.sqrt()


def zero_fraction(a: Tensor) -> Tensor:
    """Share of entries exactly 0 per model: ``(M, ...) -> (M,)``."""
    return (_flat(a) == 0).double().mean(dim=1)


def dead_fraction(a: Tensor) -> Tensor:
    """Share of units (last axis) that are 0 for every input: ``(M, B, H) -> (M,)``."""
    dead = (a == 0).all(dim=1)  # (M, H)
    return dead.double().mean(dim=1)


def saturated_fraction(a: Tensor, lo: float, hi: float, margin: float = SATURATION_MARGIN) -> Tensor:
    """Share of entries within ``margin * (hi - lo)`` of ``lo`` or ``hi``: ``(M, ...) -> (M,)``."""
    eps = margin * (hi - lo)
    x = _flat(a)  # (M, N)
    sat = (x <= lo + eps) | (x >= hi - eps)  # (M, N)
    return sat.double().mean(dim=1)


def moments(
    a: Tensor, bounds: tuple[float | None, float | None] = (None, None), *, branchless: bool = False
) -> Moments:
    """All summary statistics of ``a: (M, B, H)``; ``bounds`` is the activation's image
    (``branchless``: see :func:`finite_mean_std`; every other statistic is branch-free already)."""
    mean, std = finite_mean_std(a, branchless=branchless)
    lo, hi = bounds
    sat = saturated_fraction(a, lo, hi) if lo is not None and hi is not None else None
    return Moments(mean, std, zero_fraction(a), dead_fraction(a), nonfinite(a), sat)


def histograms(a: Tensor, bins: int, lo: float | Tensor, hi: float | Tensor) -> Tensor:
    """Per-model histogram of the finite entries of ``a`` on ``[lo, hi]``: ``(M, ...) -> (M, bins)``.

    Bins are equal-width; values outside the range are clipped into the end bins (as the classic
    study's ``plt.hist(range=...)`` would drop them, we keep them visible at the edges instead).
    ``lo``/``hi`` may be 0-d tensors (a range per model inside ``torch.func.vmap``).
    """
    x = _flat(a).double()  # (M, N)
    ok = torch.isfinite(x)  # (M, N)
    idx = ((x - lo) / (hi - lo) * bins).floor().clamp(0, bins - 1)  # (M, N)
    idx = torch.where(ok, idx, torch.zeros_like(idx)).long()  # (M, N)
    counts = torch.zeros(x.shape[0], bins, dtype=torch.float64, device=x.device)  # (M, bins)
    return counts.scatter_add(1, idx, ok.double())  # out of place: works under vmap


def summary(
    a: Tensor,
    bounds: tuple[float | None, float | None],
    bins: int,
    lo: float | Tensor,
    hi: float | Tensor,
) -> dict[str, Tensor]:
    """Every statistic of ``a: (M, N, C)`` (``N`` samples of ``C`` units) in one branch-free pass.

    Runs inside ``torch.func.vmap`` and on any device without a host sync, converting to float64 and
    testing finiteness once. Returns ``(M,)`` tensors ``mean``, ``std`` (as :func:`finite_mean_std`),
    ``signal_std`` (root-mean-square over units of each unit's std over the ``N`` samples, over the
    units whose std is finite; NaN when ``N < 2``), ``zero_fraction``, ``dead_fraction``,
    ``nonfinite``, ``saturated_fraction`` (NaN unless ``bounds`` are both finite), ``below_range``
    and ``above_range`` (shares of the entries below ``lo`` / above ``hi``), and ``histogram``
    ``(M, bins)``: the share of the entries in each bin (:func:`histograms` / ``N * C``).
    """
    x = a.double()  # (M, N, C)
    m, n_samples, units = x.shape
    total = max(n_samples * units, 1)
    ok = torch.isfinite(x)  # (M, N, C)
    okd = ok.double()  # (M, N, C)
    xz = torch.where(ok, x, 0.0)  # (M, N, C)
    n_unit = okd.sum(dim=1)  # (M, C): finite samples per unit
    s_unit = xz.sum(dim=1)  # (M, C)
    n = n_unit.sum(dim=1)  # (M,)
    mean = s_unit.sum(dim=1) / n  # (M,)
    dev = torch.where(ok, x - mean[:, None, None], 0.0)  # (M, N, C)
    std = ((dev * dev).sum(dim=(1, 2)) / n).sqrt()  # (M,)
    nan = torch.full((m,), math.nan, dtype=torch.float64, device=x.device)  # (M,)
    if n_samples >= 2:
        dev_u = torch.where(ok, x - (s_unit / n_unit)[:, None, :], 0.0)  # (M, N, C)
        std_u = ((dev_u * dev_u).sum(dim=1) / n_unit).sqrt()  # (M, C)
        ok_u = torch.isfinite(std_u)  # (M, C)
        signal = (torch.where(ok_u, std_u * std_u, 0.0).sum(dim=1) / ok_u.double().sum(dim=1)).sqrt()
    else:
        signal = nan
    zero = x == 0  # (M, N, C)
    lo_b, hi_b = bounds
    if lo_b is not None and hi_b is not None:
        eps = SATURATION_MARGIN * (hi_b - lo_b)
        sat = ((x <= lo_b + eps) | (x >= hi_b - eps)).double().sum(dim=(1, 2)) / total  # (M,)
    else:
        sat = nan
    idx = ((x - lo) / (hi - lo) * bins).floor().clamp(0, bins - 1)  # (M, N, C)
    idx = torch.where(ok, idx, 0.0).long().reshape(m, -1)  # (M, N * C)
    counts = torch.zeros(m, bins, dtype=torch.float64, device=x.device)  # (M, bins)
    hist = counts.scatter_add(1, idx, okd.reshape(m, -1)) / total  # (M, bins)
    return {
        "mean": mean,
        "std": std,
        "signal_std": signal,
        "zero_fraction": zero.double().sum(dim=(1, 2)) / total,
        "dead_fraction": zero.all(dim=1).double().mean(dim=1),
        "saturated_fraction": sat,
        "nonfinite": total - n,
        "below_range": (x < lo).double().sum(dim=(1, 2)) / total,
        "above_range": (x > hi).double().sum(dim=(1, 2)) / total,
        "histogram": hist,
    }


def gradient_summary(grad: Tensor) -> dict[str, Tensor]:
    """``grad_std`` (finite entries), ``grad_norm`` (root-mean-square over the leading axis of the
    per-row Euclidean norm, non-finite entries as 0) and ``grad_nonfinite`` of ``grad: (M, B, ...)``;
    each ``(M,)``, branch-free (vmap-able)."""
    x = _flat(grad).double()  # (M, B * features)
    m = x.shape[0]
    rows = max(grad.shape[1], 1) if grad.dim() > 1 else 1
    ok = torch.isfinite(x)  # (M, N)
    xz = torch.where(ok, x, 0.0)  # (M, N)
    n = ok.double().sum(dim=1)  # (M,)
    mean = xz.sum(dim=1) / n  # (M,)
    dev = torch.where(ok, x - mean[:, None], 0.0)  # (M, N)
    std = ((dev * dev).sum(dim=1) / n).sqrt()  # (M,)
    sq = (xz * xz).reshape(m, rows, -1).sum(dim=2)  # (M, B)
    return {"grad_std": std, "grad_norm": sq.mean(dim=1).sqrt(), "grad_nonfinite": x.shape[1] - n}
