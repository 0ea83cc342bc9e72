"""Which scheme a weight's values most plausibly came from: exact structure first, then a fit.

1. **Exact structure** (confidence 1): all entries equal (``zeros``, ``ones``, ``constant``); the
   identity / Dirac matrix; a fixed number of zeros in every column with Gaussian rest (``sparse``);
   ``W W^T = gain^2 I`` on the flattened ``(rows, cols)`` matrix, rows <= cols (``orthogonal``).
2. **Shape of the distribution.** The sample excess kurtosis tells uniform (-1.2), normal truncated
   at +-2 sigma (-0.634) and normal (0) apart; its sampling error comes from the 4th/6th/8th moments
   of each shape (delta method; ``sqrt(24/n)`` for the normal). ``max |w - mean| / std`` beyond a
   shape's bound (sqrt 3 for uniform, 2.274 for the truncated normal) rules that shape out.
3. **Scale.** Each catalogue candidate's analytic law on this shape (``scheme(spec).law(shape)``)
   is compared with the sample: ``chi2 = z_kurtosis^2 + z_std^2 + z_mean^2`` with the std's sampling
   error ``std * sqrt((m4 - 1) / (4n))``. Candidates with the same law on this shape (xavier and
   lecun on a square weight) are merged; the others are listed as ``equivalent``.
4. **Fitted parameters compete too.** ``normal(std=s)``, ``uniform(a=min, b=max)`` and
   ``trunc_normal(std=s / 0.8796)`` with their parameters fitted (rounded to the shortest decimal
   within 3 sampling errors) enter with ``chi2 = z_kurtosis^2 (+ z_mean^2)`` plus ``ln n`` per fitted
   parameter (the BIC penalty), so a catalogue scheme wins whenever its scale is within about
   ``sqrt(ln n)`` sampling errors.
5. **Confidence** is the winner's share of ``sum exp(-chi2 / 2)`` over all candidates, lowered by
   ``exp(-(|z| - 3)^2 / 2)`` when the kurtosis is more than 3 sampling errors from the winner's shape
   (no shape fits, e.g. trained weights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..schemes import Constant, Law, TruncatedNormal, scheme, truncated_normal_std

#: Catalogue candidates for the fit, in order of preference among equivalent laws.
CANDIDATES = (
    "he_normal",
    "he_uniform",
    "xavier_normal",
    "xavier_uniform",
    "lecun_normal",
    "lecun_uniform",
    "torch_default",
    "he_normal(mode=fan_out)",
    "he_uniform(mode=fan_out)",
    "variance_scaling",
    "variance_scaling(scale=2)",
    "variance_scaling(mode=fan_avg)",
    "variance_scaling(scale=2, mode=fan_out)",
)
_TRUNC = 2.0  #: the truncation (in parent sigmas) of the truncated-normal shape


@dataclass(frozen=True)
class Shape:
    """A standardised distribution shape: moments ``m4, m6, m8`` and the bound of ``|z|``."""

    name: str
    m4: float
    m6: float
    m8: float
    bound: float

    @property
    def kurtosis(self) -> float:
        return self.m4 - 3.0

    def kurtosis_se(self, n: int) -> float:
        """Sampling error of the sample excess kurtosis (delta method)."""
        m4, m6, m8 = self.m4, self.m6, self.m8
        var = (m8 - m4 * m4) + 4 * m4 * m4 * (m4 - 1) - 4 * m4 * (m6 - m4)
        return math.sqrt(max(var, 1e-12) / n)

    def std_se(self, sigma: float, n: int) -> float:
        """Sampling error of the sample std for entries of std ``sigma``."""
        return sigma * math.sqrt((self.m4 - 1.0) / (4.0 * n))


def _truncated(t: float) -> Shape:
    phi = math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    z = math.erf(t / math.sqrt(2.0))
    raw = [1.0]
    for k in (2, 4, 6, 8):  # E[x^k] = (k-1) E[x^(k-2)] - 2 t^(k-1) phi(t) / Z
        raw.append((k - 1) * raw[-1] - 2 * t ** (k - 1) * phi / z)
    m2 = raw[1]
    return Shape("trunc_normal", raw[2] / m2**2, raw[3] / m2**3, raw[4] / m2**4, t / math.sqrt(m2))


SHAPES = {
    "uniform": Shape("uniform", 9 / 5, 27 / 7, 9.0, math.sqrt(3.0)),
    "trunc_normal": _truncated(_TRUNC),
    "normal": Shape("normal", 3.0, 15.0, 105.0, math.inf),
}


@dataclass(frozen=True)
class Identification:
    """The best explanation of a weight: ``spec``, its ``law`` on this shape, and a confidence."""

    spec: str
    law: Law
    confidence: float
    kurtosis: float | None = None
    equivalent: tuple[str, ...] = ()
    runner_up: tuple[str, float] | None = None


def nice(x: float, se: float) -> float:
    """``x`` rounded to the fewest decimals that stay within 3 sampling errors ``se`` of it."""
    if x == 0 or not math.isfinite(x):
        return x
    for decimals in range(0, 16):
        r = round(x, decimals)
        if abs(r - x) <= 3 * se:
            return r + 0.0  # no -0.0
    return x


def _structural(w: Tensor) -> Identification | None:
    flat = w.reshape(-1)
    if bool((flat == flat[0]).all()):
        v = float(flat[0])
        spec = "zeros" if v == 0 else "ones" if v == 1 else f"constant(value={v:g})"
        return Identification(spec, scheme(spec).law(tuple(w.shape)), 1.0)
    if w.dim() < 2:
        return None
    if w.dim() <= 5:
        eye = torch.zeros_like(w)
        torch.nn.init.eye_(eye) if w.dim() == 2 else torch.nn.init.dirac_(eye)
        if torch.equal(w, eye):
            return Identification("identity", scheme("identity").law(tuple(w.shape)), 1.0)
    if w.dim() == 2:
        found = _sparse(w)
        if found is not None:
            return found
    rows, cols = w.shape[0], w[0].numel()
    if min(rows, cols) >= 2:
        m = w.reshape(rows, cols).double()
        gram = m @ m.T if rows <= cols else m.T @ m  # (k, k)
        g2 = float(gram.diagonal().mean())
        if g2 > 0 and float((gram / g2 - torch.eye(gram.shape[0], dtype=gram.dtype)).abs().max()) < 1e-3:
            spec = f"orthogonal(gain={nice(math.sqrt(g2), 1e-4 * math.sqrt(g2)):g})"
            return Identification(spec, scheme(spec).law(tuple(w.shape)), 1.0)
    return None


def _sparse(w: Tensor) -> Identification | None:
    rows = w.shape[0]
    zeros = (w == 0).sum(dim=0)  # (cols,)
    z = int(zeros[0])
    if z == 0 or z >= rows or not bool((zeros == z).all()):
        return None
    rest = w[w != 0].double()
    sparsity = z / rows
    for digits in range(1, 5):  # the shortest sparsity that gives exactly z zeros per column
        guess = float(f"{z / rows:.{digits}g}")
        if math.ceil(guess * rows) == z:
            sparsity = guess
            break
    s = float(rest.std(unbiased=False))
    std = nice(s, SHAPES["normal"].std_se(s, rest.numel()))
    spec = f"sparse(sparsity={sparsity:g}, std={std:g})"
    return Identification(spec, scheme(spec).law(tuple(w.shape)), 1.0)


def _shape_of(law: Law) -> Shape | None:
    if law.kind in ("normal", "uniform"):
        return SHAPES[law.kind]
    if isinstance(law, TruncatedNormal) and abs(law.bounds[1] - _TRUNC) < 1e-9:
        return SHAPES["trunc_normal"]
    return None


def identify(w: Tensor) -> Identification:
    """The scheme that best explains the values of ``w`` (see the module docstring)."""
    x = w.detach()
    if x.numel() == 0:
        return Identification("zeros", Constant(0.0), 0.0)
    found = _structural(x)
    if found is not None:
        return found
    flat = x.reshape(-1).double()
    n = flat.numel()
    mean, s = float(flat.mean()), float(flat.std(unbiased=False))
    z = (flat - mean) / s
    kurt, top = float(z.pow(4).mean()) - 3.0, float(z.abs().max())
    shape_chi2 = {k: _shape_chi2(sh, kurt, top, n) for k, sh in SHAPES.items()}
    z_mean2 = (mean / (s / math.sqrt(n))) ** 2
    scored: list[tuple[float, str, Law]] = []
    if x.dim() >= 2:
        for spec in CANDIDATES:
            law = scheme(spec).law(tuple(x.shape))
            sh = _shape_of(law)
            if sh is not None and law.std > 0:
                z_std = (s - law.std) / sh.std_se(law.std, n)
                scored.append((shape_chi2[sh.name] + z_std**2 + z_mean2, spec, law))
    for chi2, spec in _fitted(flat, mean, s, z_mean2, shape_chi2):
        scored.append((chi2, spec, scheme(spec).law(tuple(x.shape))))
    ranked = _merge(scored)
    if not ranked:  # no shape is possible at all (cannot happen for finite values)
        return Identification(
            f"normal(std={s:g})", scheme(f"normal(std={s:g})").law(tuple(x.shape)), 0.0, kurt
        )
    best = ranked[0][0]
    weights = [math.exp(-(c - best) / 2) for c, *_ in ranked]
    chi2, spec, law, same = ranked[0]
    sh = _shape_of(law)
    miss = abs(kurt - sh.kurtosis) / sh.kurtosis_se(n) if sh is not None else 0.0
    goodness = math.exp(-((miss - 3.0) ** 2) / 2) if miss > 3.0 else 1.0
    runner = (ranked[1][1], weights[1] / sum(weights)) if len(ranked) > 1 else None
    return Identification(spec, law, goodness / sum(weights), kurt, same, runner)


def _shape_chi2(sh: Shape, kurt: float, top: float, n: int) -> float:
    if top > sh.bound * (1.0 + 5.0 * math.sqrt((sh.m4 - 1.0) / (4.0 * n))):
        return math.inf
    return ((kurt - sh.kurtosis) / sh.kurtosis_se(n)) ** 2


def _merge(scored: list[tuple[float, str, Law]]) -> list[tuple[float, str, Law, tuple[str, ...]]]:
    groups: list[tuple[float, str, Law, list[str]]] = []
    for chi2, spec, law in scored:
        for g in groups:
            if (
                g[2].kind == law.kind
                and math.isclose(g[2].std, law.std, rel_tol=1e-9)
                and g[2].mean == law.mean
            ):
                g[3].append(spec)
                break
        else:
            groups.append((chi2, spec, law, []))
    out = [(c, s, la, tuple(eq)) for c, s, la, eq in groups if math.isfinite(c)]
    return sorted(out, key=lambda g: g[0])


def _fitted(
    flat: Tensor, mean: float, s: float, z_mean2: float, shape_chi2: dict[str, float]
) -> list[tuple[float, str]]:
    """Fitted-parameter candidates ``(chi2 + BIC penalty, spec)`` for the three shapes."""
    n = flat.numel()
    penalty = math.log(n)
    mean_se = s / math.sqrt(n)
    centred = z_mean2 <= 9.0  # mean within 3 sampling errors of 0: not a parameter
    m = 0.0 if centred else nice(mean, mean_se)
    extra = 0.0 if centred else penalty
    mean_term = z_mean2 if centred else 0.0
    out = []
    lo, hi = float(flat.min()), float(flat.max())
    se = (hi - lo) / n
    out.append((shape_chi2["uniform"] + 2 * penalty, f"uniform(a={nice(lo, se):g}, b={nice(hi, se):g})"))
    for name in ("normal", "trunc_normal"):
        sh = SHAPES[name]
        sigma = s if name == "normal" else s / truncated_normal_std(-_TRUNC, _TRUNC)
        std = nice(sigma, sh.std_se(sigma, n))
        args = f"mean={m:g}, std={std:g}" if m else f"std={std:g}"
        out.append((shape_chi2[name] + mean_term + penalty + extra, f"{name}({args})"))
    return out
