"""How fast are the mean-field maps and the numerical gains, against the quadrature they replaced?
(Never run as a test.)

In one run, on this machine, it times

* ``initlab.theory.mean_field`` (q*, c*, chi_1, xi_q, xi_c) over a grid of activations and
  ``(sigma_w^2, sigma_b^2)``, with today's quadrature (one composite Gauss-Legendre rule whose nodes
  are cached under an integer scale level) and with the old one copied below (the same panels, but
  cached under the continuous scale, so nearly every call rebuilt them, and the Legendre nodes
  recomputed on every 2-D expectation);
* the numerical gain ``1 / sqrt(E[phi(z)^2])`` of every registered activation, today's rule against
  the old 201-node Gauss-Hermite rule copied below;

and prints the time ratio old / new and the largest relative difference between old and new
results (which may differ only within the quadratures' accuracy). Caches are cleared before every
timed repeat, so each repeat starts cold, as a fresh process would.

    python benchmarks/theory_speed.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch

import initlab
from initlab.activations import activation, gain
from initlab.core import quadrature
from initlab.theory import MeanField, mean_field, moments

ACTS = ["tanh", "relu", "sigmoid", "elu"]
SIGMA_W2 = [0.5, 0.9, 1.3, 1.7, 2.1, 2.6, 3.2, 4.0]
SIGMA_B2 = [0.0, 0.05]

# -- the old implementation, copied from initlab.core.quadrature at b5a82a3 -----------------------

_TAIL = 9.0
_FIXED_BREAKS = (0.5, 1.0, 2.0, 3.0, 4.5, 6.0)
_SCALED_BREAKS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


@lru_cache(maxsize=256)
def old_panel_rule(scale: float, nodes: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite Gauss-Legendre nodes/weights (float64) for ``E[g(z)]`` on ``[-9, 9]`` (old, float-keyed)."""
    breaks = {0.0, _TAIL, *_FIXED_BREAKS}
    if scale > 0:
        breaks |= {b / scale for b in _SCALED_BREAKS if b / scale < _TAIL}
    half = sorted(breaks)
    edges = np.array([-e for e in reversed(half[1:])] + half)
    t, wt = np.polynomial.legendre.leggauss(nodes)
    a, b = edges[:-1, None], edges[1:, None]  # (P, 1)
    x = (a + b) / 2 + (b - a) / 2 * t  # (P, n)
    w = (b - a) / 2 * wt * np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)  # (P, n)
    return torch.from_numpy(x.reshape(-1)), torch.from_numpy(w.reshape(-1))


def old_gaussian_expectation_panels(
    f: Callable[[torch.Tensor], torch.Tensor], *, scale: float = 1.0
) -> float:
    x, w = old_panel_rule(float(scale))
    return float((w * f(scale * x)).sum())


def old_legendre(nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The old 2-D expectation called ``leggauss`` on every call."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    return torch.from_numpy(t), torch.from_numpy(w)


@lru_cache(maxsize=8)
def _old_hermite(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / np.sqrt(2.0 * np.pi)
    return torch.from_numpy(x), torch.from_numpy(w)


def old_gaussian_expectation_hermite(
    f: Callable[[torch.Tensor], torch.Tensor], *, scale: float = 1.0, n: int = 201
) -> float:
    x, w = _old_hermite(n)
    return float((w * f(scale * x)).sum())


@contextmanager
def old_theory() -> Iterator[None]:
    """Run initlab.theory on the old quadrature: the maps' code is unchanged, only the rule differs."""
    saved = {
        k: getattr(moments, k) for k in ("gaussian_expectation", "panel_rule", "scale_level", "legendre")
    }
    moments.gaussian_expectation = old_gaussian_expectation_panels  # type: ignore[assignment]
    moments.panel_rule = old_panel_rule  # type: ignore[assignment]
    moments.scale_level = float  # type: ignore[assignment]  # the old cache key: the scale itself
    moments.legendre = old_legendre
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(moments, k, v)


def clear_caches() -> None:
    old_panel_rule.cache_clear()
    _old_hermite.cache_clear()
    quadrature.panel_rule.cache_clear()
    quadrature.legendre.cache_clear()


# -- workloads ----------------------------------------------------------------------------------


def grid() -> list[MeanField]:
    return [mean_field(a, sw, sb) for a in ACTS for sw in SIGMA_W2 for sb in SIGMA_B2]


def new_gains() -> list[float]:
    return [gain(a, method="numerical") for a in initlab.activations()]


def old_gains() -> list[float]:
    out = []
    for a in initlab.activations():
        phi = activation(a)
        out.append(1.0 / math.sqrt(old_gaussian_expectation_hermite(lambda x, phi=phi: phi(x) ** 2)))
    return out


def timed(
    new: Callable[[], object], old: Callable[[], object], repeats: int, inner: int = 1
) -> tuple[float, float, object, object]:
    """Best wall times of ``repeats`` cold runs (caches cleared) of ``inner`` calls, new and old
    alternating so that a change in the machine's load hits both alike."""
    best = {"new": math.inf, "old": math.inf}
    out: dict[str, object] = {}
    for _ in range(repeats):
        for key, fn in (("new", new), ("old", old)):
            clear_caches()
            t0 = time.perf_counter()
            for _ in range(inner):
                out[key] = fn()
            best[key] = min(best[key], time.perf_counter() - t0)
    return best["new"], best["old"], out["new"], out["old"]


def old_grid() -> list[MeanField]:
    with old_theory():
        return grid()


def _rel(a: float, b: float) -> float:
    """Relative difference; differences below 1e-13 in absolute value (c* ~ 0 by symmetry) count as 0."""
    if (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) < 1e-13:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"initlab {initlab.__version__}, torch {torch.__version__}, {args.threads} thread(s)")

    t_new, t_old, new, old = timed(grid, old_grid, args.repeats)
    assert isinstance(new, list) and isinstance(old, list)
    fields = ("q_star", "c_star", "chi_1", "xi_q", "xi_c")
    finite = [
        _rel(getattr(n, f), getattr(o, f))
        for n, o in zip(new, old, strict=True)
        for f in fields
        if math.isfinite(getattr(n, f)) or math.isfinite(getattr(o, f))
    ]
    same_regime = sum(n.regime == o.regime for n, o in zip(new, old, strict=True))
    calls = len(new)
    print(f"mean_field, {calls} (activation, sigma_w^2, sigma_b^2), cold caches, best of {args.repeats}:")
    print(f"  old quadrature {t_old:8.3f} s  ({1e3 * t_old / calls:6.2f} ms per call)")
    print(f"  new quadrature {t_new:8.3f} s  ({1e3 * t_new / calls:6.2f} ms per call)")
    print(f"  speed-up old/new: {t_old / t_new:.2f}x")
    print(f"  largest relative difference over {len(finite)} values: {max(finite):.2e}")
    print(f"  same regime (ordered/critical/chaotic/divergent): {same_regime}/{calls}")

    inner = 200
    tg_new, tg_old, gn, go = timed(new_gains, old_gains, args.repeats, inner)
    assert isinstance(gn, list) and isinstance(go, list)
    n_acts = len(gn)
    print(f"numerical gain of {n_acts} activations x {inner}, best of {args.repeats}:")
    print(f"  old Gauss-Hermite (201 nodes)  {1e6 * tg_old / (inner * n_acts):8.1f} us per gain")
    print(f"  new Gauss-Legendre panels      {1e6 * tg_new / (inner * n_acts):8.1f} us per gain")
    print(f"  ratio old/new: {tg_old / tg_new:.2f}x")
    diffs = {a: _rel(x, y) for a, x, y in zip(initlab.activations(), gn, go, strict=True)}
    worst = max(diffs, key=lambda a: diffs[a])
    print(f"  largest relative difference: {diffs[worst]:.2e} ({worst}); relu: {diffs['relu']:.2e}")


if __name__ == "__main__":
    main()
