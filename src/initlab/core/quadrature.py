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


TAIL = 9.0  #: |z| beyond this carries ~2e-19 of the Gaussian mass
FIXED_BREAKS = (0.5, 1.0, 2.0, 3.0, 4.5, 6.0)  #: panel ends in z
SCALED_BREAKS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  #: panel ends in u = scale * z


@lru_cache(maxsize=256)
def panel_rule(scale: float, nodes: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite Gauss-Legendre nodes/weights (float64) for ``E[g(z)]`` on ``[-9, 9]``: panels break
    at 0, at fixed ``|z|`` and at ``|z| = b / scale`` (where ``u = scale * z`` has ``|u| = b``)."""
    breaks = {0.0, TAIL, *FIXED_BREAKS}
    if scale > 0:
        breaks |= {b / scale for b in SCALED_BREAKS if b / scale < TAIL}
    half = sorted(breaks)
    edges = np.array([-e for e in reversed(half[1:])] + half)  # symmetric, includes 0
    t, wt = np.polynomial.legendre.leggauss(nodes)
    a, b = edges[:-1, None], edges[1:, None]  # (P, 1)
    x = (a + b) / 2 + (b - a) / 2 * t  # (P, n)
    w = (b - a) / 2 * wt * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)  # (P, n)
    return torch.from_numpy(x.reshape(-1)), torch.from_numpy(w.reshape(-1))


def gaussian_expectation_panels(f: Callable[[torch.Tensor], torch.Tensor], *, scale: float = 1.0) -> float:
    """``E[f(scale * z)]``, z ~ N(0, 1), by composite Gauss-Legendre (float64, ~500 nodes).

    Unlike Gauss-Hermite it stays accurate (~1e-12) for kinks at 0 (``E[relu(z)]``, ``E[relu'(z)^2]``)
    and for large ``scale``, where ``f(scale * z)`` is nearly a step: panels break at ``z = 0`` and at
    ``|scale * z| = 0.25 ... 32``, so features of ``f`` at ``|u| ~ 1`` are resolved at any scale.
    """
    x, w = panel_rule(float(scale))
    return float((w * f(scale * x)).sum())
