"""Mean-field maps of wide random MLPs: the variance and correlation maps, their fixed points and
depth scales (Poole et al. 2016, *Exponential expressivity in deep neural networks through transient
chaos*; Schoenholz et al. 2017, *Deep information propagation*).

For layers ``z_l = W_l phi(z_{l-1}) + b_l`` whose weights are i.i.d. with mean 0 and variance
``sigma_w^2 / fan_in`` and whose biases have variance ``sigma_b^2``, every pre-activation of a wide
layer is Gaussian with variance ``q_l``, and ``z ~ N(0, 1)`` below:

* **variance map**   ``q_l = sigma_w^2 E_z[phi(sqrt(q_{l-1}) z)^2] + sigma_b^2``;
* **correlation map** for two inputs whose pre-activations have correlation ``c`` at variance ``q*``:
  ``c_l = (sigma_w^2 E[phi(u_1) phi(u_2)] + sigma_b^2) / q*`` with ``u_1 = sqrt(q*) z_1``,
  ``u_2 = sqrt(q*) (c z_1 + sqrt(1 - c^2) z_2)``, ``z_1, z_2`` independent N(0, 1).

Quantities (each a function here):

* :func:`fixed_point` ``q*``: the fixed point of the variance map that iterating it from ``q0``
  reaches (``inf`` when the variance grows without bound, e.g. ReLU with ``sigma_w^2 > 2``).
* :func:`chi_1` ``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]``: the slope of the correlation map at
  ``c = 1`` and the factor by which the mean squared gradient grows per layer going backward.
  ``chi_1 < 1``: ordered phase (inputs become alike, gradients vanish); ``> 1``: chaotic (inputs
  decorrelate, gradients explode); ``= 1``: the edge of chaos, where depth scales diverge.
* :func:`xi_q` ``xi_q = -1 / ln(chi_1 + sigma_w^2 E[phi''(u) phi(u)])``, ``u = sqrt(q*) z``: the
  depth over which ``q_l`` approaches ``q*`` (Schoenholz et al. 2017, eq. 5); the argument of the
  log is the slope of the variance map at ``q*``.
* :func:`xi_c` ``xi_c = -1 / ln(chi_c)``, ``chi_c = sigma_w^2 E[phi'(u_1) phi'(u_2)]`` at the stable
  correlation fixed point ``c*`` (Schoenholz et al. 2017, eq. 8): the depth over which the
  correlation of two inputs approaches ``c*``, i.e. how deep information about the input survives.
  In the ordered phase ``c* = 1`` and ``chi_c = chi_1``. Both depth scales are ``inf`` where the
  slope is 1 (criticality).

The expectations are in :mod:`.moments` (composite Gauss-Legendre in float64, accurate to ~1e-12
for ReLU's kink and for nearly saturated tanh/sigmoid at large q).

>>> round(fixed_point("relu", 1.0, 0.5), 6)   # q* = sigma_b^2 / (1 - sigma_w^2 / 2)
1.0
>>> chi_1("relu", 2.0)                        # He init sits exactly at criticality
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from ..activations import Activation
from ..core.errors import InitlabError
from .moments import act_of, derivative_moment, derivatives, expect, expect_pair, second_moment

Q_MAX = 1e150  #: a variance above this counts as diverged (the fixed point is ``inf``)
_MAX_ITER = 300
_TOL = 1e-12
_CRITICAL = 1e-9  #: |chi_1 - 1| below this counts as critical (depth scales inf)


def _check(sigma_w2: float, sigma_b2: float) -> None:
    if not (math.isfinite(sigma_w2) and sigma_w2 >= 0):
        raise InitlabError(f"sigma_w^2 must be finite and >= 0, got {sigma_w2}")
    if not (math.isfinite(sigma_b2) and sigma_b2 >= 0):
        raise InitlabError(f"sigma_b^2 must be finite and >= 0, got {sigma_b2}")


def variance_map(act: str | Activation, q: float, sigma_w2: float, sigma_b2: float = 0.0) -> float:
    """One layer of the variance map: ``sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``.

    >>> round(variance_map("relu", 3.0, 2.0), 9)   # He init keeps the variance of ReLU layers
    3.0
    """
    _check(sigma_w2, sigma_b2)
    if not q >= 0:
        raise InitlabError(f"a variance q must be >= 0, got {q}")
    if math.isinf(q):
        return math.inf
    return sigma_w2 * second_moment(act, q) + sigma_b2


def _bisect(g: Callable[[float], float], a: float, b: float) -> float:
    """A root of ``g`` in ``[a, b]`` where ``g(a) >= 0 > g(b)``, to float resolution."""
    for _ in range(200):
        mid = 0.5 * (a + b)
        if mid in (a, b):
            break
        if g(mid) >= 0:
            a = mid
        else:
            b = mid
    return 0.5 * (a + b)


def _illinois(g: Callable[[float], float], a: float, ga: float, b: float, gb: float) -> float:
    """A root of ``g`` in ``[a, b]`` (``g(a) >= 0 > g(b)``) by the Illinois variant of regula falsi:
    bracketing like bisection, superlinear like the secant method (~10 evaluations to 1e-12)."""
    side = 0
    for _ in range(100):
        if b - a <= 1e-12 or ga == 0:
            break
        c = b - gb * (b - a) / (gb - ga)
        if not a < c < b:
            c = 0.5 * (a + b)
        gc = g(c)
        if gc >= 0:
            a, ga = c, gc
            if side == 1:
                gb /= 2
            side = 1
        else:
            b, gb = c, gc
            if side == -1:
                ga /= 2
            side = -1
    return a if ga == 0 else b - gb * (b - a) / (gb - ga)


def _variance_fixed_point(f: Callable[[float], float], q0: float) -> float:
    """Iterate the variance map ``q <- f(q)`` from ``q0``; if that is slow (near criticality), bisect.

    ``f`` is increasing, so the iterates move monotonically towards the fixed point they converge to,
    which lies between the last iterate and 0 (moving down) or above it (moving up). ``inf`` when the
    iterates, or the search for an upper bracket, pass ``Q_MAX``.
    """
    q = q0
    for _ in range(_MAX_ITER):
        nq = f(q)
        if not math.isfinite(nq) or nq > Q_MAX:
            return math.inf
        if abs(nq - q) <= _TOL * max(nq, q):
            return nq
        q = nq

    def g(x: float) -> float:
        return f(x) - x

    if g(q) < 0:
        return _bisect(g, 0.0, q)  # g(0) = sigma_w^2 phi(0)^2 + sigma_b^2 >= 0
    hi = q
    while g(hi) >= -_TOL * hi:  # roundoff-tolerant: ReLU's map is exactly linear
        hi = 2.0 * hi + 1.0
        if hi > Q_MAX:
            return math.inf
    return _bisect(g, q, hi)


def fixed_point(act: str | Activation, sigma_w2: float, sigma_b2: float = 0.0, *, q0: float = 1.0) -> float:
    """``q*``: the fixed point of the variance map reached from ``q0`` (``inf`` if it diverges).

    With ``sigma_b^2 = 0`` and ``phi(0) = 0`` the ordered phase has ``q* = 0`` (tanh with
    ``sigma_w^2 <= 1``). For ReLU the map is linear, ``q -> sigma_w^2 q / 2 + sigma_b^2``: every q is a
    fixed point at ``sigma_w^2 = 2, sigma_b^2 = 0`` (then ``q* = q0``).

    >>> round(fixed_point("linear", 0.5, 1.0), 6)   # sigma_b^2 / (1 - sigma_w^2)
    2.0
    """
    _check(sigma_w2, sigma_b2)
    if not (math.isfinite(q0) and q0 >= 0):
        raise InitlabError(f"q0 must be finite and >= 0, got {q0}")
    phi = act_of(act)
    return _variance_fixed_point(lambda q: variance_map(phi, q, sigma_w2, sigma_b2), q0)


def _q_star(phi: Activation, sigma_w2: float, sigma_b2: float, q: float | None) -> float:
    return fixed_point(phi, sigma_w2, sigma_b2) if q is None else float(q)


def chi_1(act: str | Activation, sigma_w2: float, sigma_b2: float = 0.0, *, q: float | None = None) -> float:
    """``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]`` at ``q`` (default: the fixed point ``q*``).

    NaN when ``q*`` is infinite (the variance diverges, so the mean-field state is undefined).

    >>> round(chi_1("tanh", 1.0), 6)   # q* = 0, tanh'(0) = 1: the edge of chaos
    1.0
    """
    _check(sigma_w2, sigma_b2)
    phi = act_of(act)
    qs = _q_star(phi, sigma_w2, sigma_b2, q)
    if not math.isfinite(qs):
        return math.nan
    return sigma_w2 * derivative_moment(phi, qs)


def _depth(slope: float) -> float:
    """``-1 / ln(slope)``: ``inf`` for a slope within 1e-9 of 1 (or above), 0 for slope <= 0."""
    if math.isnan(slope):
        return math.nan
    if slope >= 1.0 - _CRITICAL:
        return math.inf
    if slope <= 0.0:
        return 0.0
    return -1.0 / math.log(slope)


def xi_q(act: str | Activation, sigma_w2: float, sigma_b2: float = 0.0, *, q: float | None = None) -> float:
    """``xi_q = -1 / ln(chi_1 + sigma_w^2 E[phi''(u) phi(u)])``, ``u = sqrt(q*) z``, in layers.

    The depth scale of ``q_l - q* ~ exp(-l / xi_q)``; ``inf`` where the variance map has slope 1 at
    ``q*`` (ReLU + He init), NaN where ``q*`` is infinite.

    >>> round(xi_q("relu", 1.0), 4)   # slope sigma_w^2 / 2 = 1/2: -1/ln(1/2)
    1.4427
    """
    _check(sigma_w2, sigma_b2)
    phi = act_of(act)
    qs = _q_star(phi, sigma_w2, sigma_b2, q)
    if not math.isfinite(qs):
        return math.nan

    def curvature(x: Tensor) -> Tensor:
        y, d1, d2 = derivatives(phi, x)
        return d1 * d1 + d2 * y

    return _depth(sigma_w2 * expect(curvature, qs))


def correlation_map(
    act: str | Activation, c: float, sigma_w2: float, sigma_b2: float = 0.0, *, q: float | None = None
) -> float:
    """One layer of the correlation map at variance ``q`` (default ``q*``)."""
    _check(sigma_w2, sigma_b2)
    if not -1.0 <= c <= 1.0:
        raise InitlabError(f"a correlation must lie in [-1, 1], got {c}")
    phi = act_of(act)
    qs = _q_star(phi, sigma_w2, sigma_b2, q)
    if not math.isfinite(qs):
        return math.nan
    if qs == 0.0:
        return 1.0  # every input maps to the same point
    return (sigma_w2 * expect_pair(phi, qs, c, derivative=False) + sigma_b2) / qs


def correlation_fixed_point(
    act: str | Activation, sigma_w2: float, sigma_b2: float = 0.0, *, q: float | None = None
) -> float:
    """``c*``: the stable fixed point of the correlation map at ``q`` (default ``q*``); 1 when ordered.

    In the chaotic phase (``chi_1 > 1``) the fixed point ``c = 1`` is unstable and the map has a
    stable one ``c* < 1`` (0 for odd activations without bias), found by regula falsi on ``[-1, 1)``.
    """
    _check(sigma_w2, sigma_b2)
    phi = act_of(act)
    qs = _q_star(phi, sigma_w2, sigma_b2, q)
    if not math.isfinite(qs):
        return math.nan
    if qs == 0.0 or chi_1(phi, sigma_w2, sigma_b2, q=qs) <= 1.0 + _CRITICAL:
        return 1.0

    def g(c: float) -> float:
        return correlation_map(phi, c, sigma_w2, sigma_b2, q=qs) - c

    top = 1.0 - 1e-9
    g_top = g(top)
    if g_top >= 0:  # so weakly chaotic that c* is within 1e-9 of 1
        return 1.0
    return _illinois(g, -1.0, g(-1.0), top, g_top)  # g(-1) >= 0: the map never goes below -1


def xi_c(act: str | Activation, sigma_w2: float, sigma_b2: float = 0.0, *, q: float | None = None) -> float:
    """``xi_c = -1 / ln(chi_c)``, ``chi_c = sigma_w^2 E[phi'(u_1) phi'(u_2)]`` at ``(q*, c*)``, in layers.

    In the ordered phase ``c* = 1`` and ``chi_c = chi_1``; ``inf`` at the edge of chaos
    (``chi_1 = 1``); NaN where ``q*`` is infinite. ``q`` overrides ``q*``.

    >>> round(xi_c("relu", 1.0, 0.1), 4)   # ordered: chi_c = chi_1 = 1/2
    1.4427
    >>> xi_c("tanh", 1.0)                  # critical
    inf
    """
    _check(sigma_w2, sigma_b2)
    phi = act_of(act)
    qs = _q_star(phi, sigma_w2, sigma_b2, q)
    if not math.isfinite(qs):
        return math.nan
    c = correlation_fixed_point(phi, sigma_w2, sigma_b2, q=qs)
    if c >= 1.0:
        return _depth(chi_1(phi, sigma_w2, sigma_b2, q=qs))
    return _depth(sigma_w2 * expect_pair(phi, qs, c, derivative=True))


@dataclass(frozen=True)
class MeanField:
    """The mean-field state of a layer map ``(sigma_w^2, sigma_b^2)``: fixed points and depth scales.

    ``regime``: ``"ordered"`` (chi_1 < 1), ``"critical"`` (chi_1 = 1 within 1e-9), ``"chaotic"``
    (chi_1 > 1), or ``"divergent"`` (q* is infinite: the variance grows without bound).
    """

    sigma_w2: float
    sigma_b2: float
    q_star: float
    c_star: float
    chi_1: float
    xi_q: float
    xi_c: float
    regime: str


def mean_field(
    act: str | Activation, sigma_w2: float, sigma_b2: float = 0.0, *, q0: float = 1.0
) -> MeanField:
    """All of the above for one layer map, with ``q*`` reached from ``q0``.

    >>> mean_field("relu", 2.0).regime
    'critical'
    """
    _check(sigma_w2, sigma_b2)
    phi = act_of(act)
    qs = fixed_point(phi, sigma_w2, sigma_b2, q0=q0)
    if not math.isfinite(qs):
        nan = math.nan
        return MeanField(sigma_w2, sigma_b2, math.inf, nan, nan, nan, nan, "divergent")
    c1 = chi_1(phi, sigma_w2, sigma_b2, q=qs)
    regime = "critical" if abs(c1 - 1.0) <= _CRITICAL else ("ordered" if c1 < 1.0 else "chaotic")
    return MeanField(
        sigma_w2,
        sigma_b2,
        qs,
        correlation_fixed_point(phi, sigma_w2, sigma_b2, q=qs),
        c1,
        xi_q(phi, sigma_w2, sigma_b2, q=qs),
        xi_c(phi, sigma_w2, sigma_b2, q=qs),
        regime,
    )


__all__ = [
    "MeanField",
    "chi_1",
    "correlation_fixed_point",
    "correlation_map",
    "fixed_point",
    "mean_field",
    "variance_map",
    "xi_c",
    "xi_q",
]
