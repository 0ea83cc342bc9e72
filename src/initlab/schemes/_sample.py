"""Generic sampling from a :class:`Law`, through ``torch.nn.init`` where it has the same rule.

Using the same in-place calls as ``torch.nn.init`` (``normal_``, ``uniform_``, ``trunc_normal_``,
``orthogonal_``) means that the same generator state gives bit-identical values. ``sparse`` is the
exception: ``torch.nn.init.sparse_`` draws its zero positions with ``torch.randperm`` from the
*global* RNG even when given a generator, so initlab draws them itself from ``generator`` (same
distribution, different values).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._registry import Law


def sample_law(
    law: Law,
    shape: tuple[int, ...],
    *,
    generator: torch.Generator | None,
    dtype: torch.dtype,
    device: torch.device | str | None,
) -> Tensor:
    """A new tensor of ``shape`` drawn from ``law``."""
    out = torch.empty(shape, dtype=dtype, device=device)
    if out.numel() == 0:
        return out
    with torch.no_grad():
        if law.kind == "constant":
            out.fill_(law.value)
        elif law.kind == "normal":
            out.normal_(law.mean, law.scale, generator=generator)
        elif law.kind == "uniform":
            out.uniform_(law.low, law.high, generator=generator)
        elif law.kind == "trunc_normal":
            torch.nn.init.trunc_normal_(out, law.mean, law.scale, law.low, law.high, generator=generator)
        elif law.kind == "orthogonal":
            torch.nn.init.orthogonal_(out, law.gain, generator=generator)
        elif law.kind == "identity":
            if out.dim() == 2:
                torch.nn.init.eye_(out)
            else:
                torch.nn.init.dirac_(out)
        elif law.kind == "sparse":
            _sparse_(out, law.sparsity, law.scale, generator)
        else:  # pragma: no cover - Law.kind is a closed Literal
            raise AssertionError(law.kind)
    return out


def _sparse_(out: Tensor, sparsity: float, std: float, generator: torch.Generator | None) -> None:
    """``N(0, std^2)`` entries with ``ceil(sparsity * rows)`` zeros at random rows of every column."""
    rows, cols = out.shape
    num_zeros = math.ceil(sparsity * rows)
    out.normal_(0.0, std, generator=generator)
    keys = torch.rand(rows, cols, generator=generator, device=out.device)  # (rows, cols)
    zero_rows = keys.argsort(dim=0)[:num_zeros]  # (num_zeros, cols): a random permutation per column
    out.scatter_(0, zero_rows, 0.0)
