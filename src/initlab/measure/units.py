"""How many different units a layer has: distinct-unit counts and effective rank (symmetry measures).

Both take a leading model axis ``M`` and return one number per model.

**Distinct units.** Unit ``i`` of a layer is described by its incoming weights and bias,
``r_i = [W[i, :], b[i]]``. Unit ``i`` counts as *new* when it differs from every earlier unit
``j < i`` by more than ``tol`` in at least one coordinate (max-norm), where

    tol = rtol * max_k |r_k|_inf + atol,   rtol = 1e-4, atol = 1e-12,

i.e. the tolerance scales with the layer's largest weight, so it means the same for weights of
size 1e-3 and 1e3. ``rtol`` is far above float32 round-off (~1e-7, the size of the differences
BLAS can introduce between units that are mathematically equal) and far below the differences of
any random init (relative ~1). The count is ``sum_i [r_i differs from all r_j, j < i]``: 1 for a
layer whose units are all equal, ``width`` for a random one.

**Effective rank** (Roy & Vetterli 2007) of a layer's activations ``A: (B, H)`` on a fixed batch:
``exp(H(p))`` with ``p_k = s_k / sum(s)`` the normalised singular values and ``H`` the Shannon
entropy -- 1 when all units carry the same signal, up to ``min(B, H)``; 0 for an all-zero matrix.
"""

from __future__ import annotations

import torch
from torch import Tensor

RTOL = 1e-4
ATOL = 1e-12


def distinct_units(weight: Tensor, bias: Tensor | None = None, *, rtol: float = RTOL) -> Tensor:
    """Number of distinct units per model: ``weight: (M, out, in)``, ``bias: (M, out)`` -> ``(M,)``."""
    rows = weight.detach().double()  # (M, out, in)
    if bias is not None:
        rows = torch.cat([rows, bias.detach().double().unsqueeze(-1)], dim=-1)  # (M, out, in + 1)
    scale = rows.abs().amax(dim=(1, 2))  # (M,)
    tol = rtol * scale + ATOL  # (M,)
    dist = torch.cdist(rows, rows, p=float("inf"))  # (M, out, out): max-norm distance between units
    close = dist <= tol[:, None, None]  # (M, out, out)
    earlier = torch.ones_like(close[0]).tril(diagonal=-1)  # (out, out): j < i
    has_twin = (close & earlier).any(dim=2)  # (M, out): unit i equals some earlier unit
    return (~has_twin).sum(dim=1)  # (M,)


def effective_rank(acts: Tensor) -> Tensor:
    """Effective rank per model of ``acts: (M, B, H)`` -> ``(M,)`` (float64; 0 for all-zero maps, NaN
    for a model whose activations are not all finite)."""
    a = acts.detach().double()  # (M, B, H)
    finite = torch.isfinite(a).flatten(1).all(dim=1)  # (M,)
    a = torch.where(finite[:, None, None], a, torch.zeros_like(a))  # SVD cannot take NaN/Inf
    s = torch.linalg.svdvals(a)  # (M, min(B, H))
    total = s.sum(dim=1, keepdim=True)  # (M, 1)
    p = torch.where(total > 0, s / total.clamp_min(1e-300), torch.zeros_like(s))  # (M, k)
    ent = -(p * torch.log(p.clamp_min(1e-300))).sum(dim=1)  # (M,)
    rank = torch.exp(ent)  # (M,)
    rank = torch.where(total.squeeze(1) > 0, rank, torch.zeros_like(rank))
    return torch.where(finite, rank, torch.full_like(rank, float("nan")))
