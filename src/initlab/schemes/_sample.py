"""Generic sampling from a :class:`Law`, through ``torch.nn.init`` where it has the same rule.

Using the same in-place calls as ``torch.nn.init`` (``normal_``, ``uniform_``, ``trunc_normal_``,
``orthogonal_``, ``sparse_``) means that the same generator state gives bit-identical values.
"""

from __future__ import annotations

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
            torch.nn.init.sparse_(out, law.sparsity, law.scale, generator=generator)
        else:  # pragma: no cover - Law.kind is a closed Literal
            raise AssertionError(law.kind)
    return out
