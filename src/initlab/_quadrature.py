"""Gaussian expectations by Gauss-Hermite quadrature.

``E_{z~N(0,1)}[f(z)] ~= sum_i w_i f(x_i)`` with the probabilists' Hermite nodes ``x_i`` and weights
``w_i / sqrt(2 pi)`` (``numpy.polynomial.hermite_e.hermegauss``). With 201 nodes the rule is exact for
polynomials of degree 401 and accurate to ~1e-10 for the smooth activations used here; for kinks
(ReLU at 0) the error is ~1e-6, far below any measurement we compare against.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch

DEFAULT_NODES = 201


@lru_cache(maxsize=8)
def _rule(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / np.sqrt(2.0 * np.pi)
    return torch.from_numpy(x), torch.from_numpy(w)  # (n,), (n,) float64


def gaussian_expectation(
    f: Callable[[torch.Tensor], torch.Tensor], *, scale: float = 1.0, n: int = DEFAULT_NODES
) -> float:
    """``E[f(scale * z)]`` for ``z ~ N(0, 1)``, where ``f`` maps a float64 tensor elementwise."""
    x, w = _rule(n)
    values = f(scale * x)  # (n,)
    return float((w * values).sum())
