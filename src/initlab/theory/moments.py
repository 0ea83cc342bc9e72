"""Gaussian expectations of an activation and its derivatives at pre-activation variance ``q``.

With ``z, z_1, z_2`` independent N(0, 1) and ``u = sqrt(q) z``:

* ``second_moment``      ``E[phi(u)^2]``    (the variance map's integral, Poole et al. 2016, eq. 3);
* ``activation_mean``    ``E[phi(u)]``;
* ``derivative_moment``  ``E[phi'(u)^2]``   (``chi_1 / sigma_w^2``, Schoenholz et al. 2017, eq. 4);
* :func:`expect_pair`    ``E[f(u_1) f(u_2)]`` for ``f = phi`` or ``phi'``, ``u_1 = sqrt(q) z_1``,
  ``u_2 = sqrt(q) (c z_1 + sqrt(1 - c^2) z_2)`` (the correlation map, Poole et al. 2016, eq. 5).

One-dimensional expectations use the one rule of :mod:`initlab.core.quadrature` (composite
Gauss-Legendre, panels at the kink at 0 and scaled to ``sqrt(q)``); derivatives come from torch
autograd on the registered activation.

>>> round(second_moment("relu", 3.0), 12)   # E[relu(sqrt(q) z)^2] = q / 2
1.5
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..activations import Activation, activation
from ..core.quadrature import (
    FIXED_BREAKS,
    SCALED_BREAKS,
    TAIL,
    gaussian_expectation,
    legendre,
    panel_rule,
    scale_level,
)

NODES_2D = 6  #: Gauss-Legendre nodes per panel for the 2-D expectations (error ~1e-11)
Q_MIN = 1e-200  #: expectations at q = 0 are taken at this q instead (the limit q -> 0+)


def act_of(act: str | Activation) -> Activation:
    """The registered activation for a name or spec (unknown names suggest the closest ones)."""
    return activation(act)


def derivatives(phi: Activation, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``phi(x), phi'(x), phi''(x)`` elementwise on a float64 tensor, by autograd."""
    with torch.enable_grad():
        xg = x.detach().clone().requires_grad_(True)  # (n,)
        y = phi(xg)  # (n,)
        (d1,) = torch.autograd.grad(y.sum(), xg, create_graph=True, allow_unused=True)
        if d1 is None:  # a constant function
            d1 = torch.zeros_like(xg)
        d2: Tensor | None = None
        if d1.requires_grad:
            (d2,) = torch.autograd.grad(d1.sum(), xg, allow_unused=True)
    if d2 is None:  # phi' does not depend on x (linear) or is piecewise constant (relu)
        d2 = torch.zeros_like(x)
    return y.detach(), d1.detach(), d2.detach()


def expect(f: Callable[[Tensor], Tensor], q: float) -> float:
    """``E[f(sqrt(q) z)]``, z ~ N(0, 1); at ``q = 0`` the limit ``q -> 0+`` (so ``relu'`` counts as 1/2)."""
    return gaussian_expectation(f, scale=math.sqrt(max(q, Q_MIN)))


def expect_pair(phi: Activation, q: float, c: float, derivative: bool) -> float:
    """``E[f(u_1) f(u_2)]`` for ``f = phi`` (or ``phi'``) at variance q and correlation c.

    Outer integral over ``z_1`` by the composite rule; for each outer node the inner expectation
    ``E_w[f(m + sigma w)]`` (``m = sqrt(q) c z_1``, ``sigma = sqrt(q (1 - c^2))``) gets its own
    panels, broken where ``m + sigma w`` crosses 0 and ``+-b``, so kinks and steep parts are resolved.
    """

    def f(u: Tensor) -> Tensor:
        return derivatives(phi, u)[1] if derivative else phi(u)

    s = math.sqrt(max(q, Q_MIN))
    cc = min(max(c, -1.0), 1.0)
    x1, w1 = panel_rule(scale_level(s), NODES_2D)  # (n1,), (n1,)
    m = s * cc * x1  # (n1,)
    sig = s * math.sqrt(1.0 - cc * cc)
    f1 = f(s * x1)  # (n1,)
    if sig <= 1e-9 * s:
        return float((w1 * f1 * f(m)).sum())
    fixed = torch.tensor([0.0, TAIL, *FIXED_BREAKS], dtype=torch.float64)
    fixed = torch.cat([fixed, -fixed])  # (F,)
    levels = torch.tensor([0.0, *SCALED_BREAKS], dtype=torch.float64)
    levels = torch.cat([levels, -levels])  # (L,)
    moving = (levels.unsqueeze(0) - m.unsqueeze(1)) / sig  # (n1, L)
    breaks = torch.cat([fixed.expand(len(m), -1), moving], dim=1).clamp(-TAIL, TAIL)  # (n1, P+1)
    breaks, _ = breaks.sort(dim=1)
    a, b = breaks[:, :-1].unsqueeze(2), breaks[:, 1:].unsqueeze(2)  # (n1, P, 1)
    t, wt = legendre(NODES_2D)  # (k,), (k,)
    z2 = (a + b) / 2 + (b - a) / 2 * t  # (n1, P, k)
    w2 = (b - a) / 2 * wt * torch.exp(-0.5 * z2 * z2) / math.sqrt(2.0 * math.pi)  # (n1, P, k)
    inner = (w2 * f(m.view(-1, 1, 1) + sig * z2)).sum(dim=(1, 2))  # (n1,)
    return float((w1 * f1 * inner).sum())


def second_moment(act: str | Activation, q: float) -> float:
    """``E[phi(sqrt(q) z)^2]``: the mean square of a layer's activations at pre-activation variance q."""
    phi = act_of(act)
    return expect(lambda x: phi(x) ** 2, q)


def activation_mean(act: str | Activation, q: float) -> float:
    """``E[phi(sqrt(q) z)]``: the mean of a layer's activations at pre-activation variance q."""
    phi = act_of(act)
    return expect(phi, q)


def derivative_moment(act: str | Activation, q: float) -> float:
    """``E[phi'(sqrt(q) z)^2]``: the factor a mean squared gradient picks up through the activation."""
    phi = act_of(act)
    return expect(lambda x: derivatives(phi, x)[1] ** 2, q)


__all__ = ["activation_mean", "derivative_moment", "derivatives", "expect", "expect_pair", "second_moment"]
