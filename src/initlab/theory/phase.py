"""The order-to-chaos boundary in the (sigma_w^2, sigma_b^2) plane (Poole et al. 2016, Fig. 1;
Schoenholz et al. 2017, Fig. 1): for a given ``sigma_b^2``, the ``sigma_w^2`` at which
``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] = 1``, found by bisection on ``chi_1 - 1``.

For tanh, ``chi_1`` increases with ``sigma_w^2`` at fixed ``sigma_b^2`` (more weight variance, larger
slope of the correlation map), and the boundary starts at ``sigma_w^2 = 1`` for ``sigma_b^2 = 0``.

>>> round(critical_sigma_w2("tanh", 0.0), 6)
1.0
"""

from __future__ import annotations

import math

from ..activations import Activation
from ..core.errors import InitlabError
from .maps import chi_1


def critical_sigma_w2(
    act: str | Activation, sigma_b2: float, *, low: float = 1e-3, high: float = 20.0, tol: float = 1e-10
) -> float:
    """The ``sigma_w^2`` in ``[low, high]`` with ``chi_1(sigma_w^2, sigma_b^2) = 1`` (bisection to a
    relative width ``tol``); NaN when ``chi_1 - 1`` does not change sign on the interval."""
    if not (math.isfinite(sigma_b2) and sigma_b2 >= 0):
        raise InitlabError(f"sigma_b^2 must be finite and >= 0, got {sigma_b2}")

    def g(w: float) -> float:
        return chi_1(act, w, sigma_b2) - 1.0

    lo, hi = low, high
    glo, ghi = g(lo), g(hi)
    if not (math.isfinite(glo) and math.isfinite(ghi)) or glo * ghi > 0:
        return math.nan
    if glo == 0.0:
        return lo
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        gm = g(mid)
        if gm == 0.0:
            return mid
        if (gm < 0) == (glo < 0):
            lo, glo = mid, gm
        else:
            hi = mid
    return 0.5 * (lo + hi)


__all__ = ["critical_sigma_w2"]
