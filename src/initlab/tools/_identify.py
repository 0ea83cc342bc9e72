"""Which scheme a weight's values most plausibly came from: exact structure first, then a fit.

1. **Exact structure** (confidence 1): all entries equal (``zeros``, ``ones``, ``constant``); the
   identity / Dirac matrix; a fixed number of zeros in every column, in rows that differ between
   columns, with Gaussian rest (``sparse``); ``W W^T = gain^2 I`` on the flattened ``(rows, cols)``
   matrix, rows <= cols (``orthogonal``). Each check rejects cheaply before it pays: the identity
   only when the weight has at most ``min(rows, cols)`` nonzeros, sparse only when the first column
   has a zero, orthogonal only when every row (or column) norm is within 1e-3 of their mean and
   ``ORTHO_PROBES`` (8) Gaussian probes ``V`` (a generator seeded 0) keep their Gram matrix,
   ``|V^T W W^T V / g^2 - V^T V| < 1e-3 (V^T V)_ii``; only then the full Gram matrix is built, when
   it costs at most ``GRAM_MAX`` (2e9) multiply-adds (otherwise the probes are the certificate).
   A random matrix fails the row norms already (their relative spread is ``1/sqrt(2 cols)``).
2. **Deliberate zero rows, clamped entries.** Whole rows that are exactly 0 while the others are not
   (an embedding's padding row, ``padding_idx``) are set aside and the rest is identified
   (``zero_rows`` counts them). Entries exactly at +-2.0 lying more than ``CLAMP_SIGMAS`` (6) stds of
   the rest away are the clamp of ``torch.nn.init.trunc_normal_``'s absolute default bounds (its
   inverse-CDF sampler drew ``u = +-1``; ``erfinv(+-1) = +-inf`` is clamped to the bound) and are set
   aside too (``clamped``).
3. **Shape of the distribution.** The sample excess kurtosis tells uniform (-1.2), normal truncated
   at +-2 sigma (-0.634) and normal (0) apart; its sampling error comes from the 4th/6th/8th moments
   of each shape (delta method; ``sqrt(24/n)`` for the normal). ``max |w - mean| / std`` beyond a
   shape's bound (sqrt 3 for uniform, 2.274 for the truncated normal) rules that shape out.
4. **Scale.** Each catalogue candidate's analytic law on this shape (``scheme(spec).law(shape)``)
   is compared with the sample: ``chi2 = z_kurtosis^2 + z_std^2 + z_mean^2`` with the std's sampling
   error ``std * sqrt((m4 - 1) / (4n))``. Candidates with the same law on this shape (xavier and
   lecun on a square weight) are merged; the others are listed as ``equivalent``.
5. **Fitted parameters compete too.** ``normal(std=s)``, ``uniform(a=min, b=max)`` and
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
ORTHO_PROBES = 8  #: random probes of the orthogonality check
GRAM_MAX = 2e9  #: the most multiply-adds the full Gram matrix may cost
CLAMP_SIGMAS = 6.0  #: an entry at exactly +-2 this many stds from the rest is a clamp artifact
ABS_TAIL = 20.0  #: expected entries beyond +-2 (untruncated) that make their absence a truncation


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
    zero_rows: int = 0  #: whole rows exactly 0 set aside (an embedding's padding row)
    clamped: int = 0  #: entries at exactly +-2 set aside (trunc_normal_'s clamp)
    absolute_bounds: bool = False  #: the values are cut at the absolute bounds +-2


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
    if (flat.numel() < 2 or bool(flat[1] == flat[0])) and bool((flat == flat[0]).all()):
        v = float(flat[0])
        spec = "zeros" if v == 0 else "ones" if v == 1 else f"constant(value={v:g})"
        return Identification(spec, scheme(spec).law(tuple(w.shape)), 1.0)
    if w.dim() < 2:
        return None
    rows, cols = w.shape[0], w[0].numel()
    if (
        w.dim() <= 5
        and int(torch.count_nonzero(w[0])) <= 1  # eye_/dirac_: one nonzero in the first row at most
        and int(torch.count_nonzero(w)) <= min(rows, cols)
    ):
        eye = torch.zeros_like(w)
        torch.nn.init.eye_(eye) if w.dim() == 2 else torch.nn.init.dirac_(eye)
        if torch.equal(w, eye):
            return Identification("identity", scheme("identity").law(tuple(w.shape)), 1.0)
    if w.dim() == 2:
        found = _sparse(w)
        if found is not None:
            return found
    if w.dim() >= 3 and min(w.shape[0], w.shape[1]) >= 2:  # delta-orthogonal: zero but the centre
        centre: tuple[slice | int, ...] = (slice(None), slice(None), *(k // 2 for k in w.shape[2:]))
        mid = w[centre]  # (out, in)
        if int(torch.count_nonzero(w)) == int(torch.count_nonzero(mid)):
            g2 = _orthogonal(mid)
            if g2 is not None:
                spec = f"delta_orthogonal(gain={nice(math.sqrt(g2), 1e-4 * math.sqrt(g2)):g})"
                return Identification(spec, scheme(spec).law(tuple(w.shape)), 1.0)
    if min(rows, cols) >= 2:
        g2 = _orthogonal(w.reshape(rows, cols))
        if g2 is not None:
            spec = f"orthogonal(gain={nice(math.sqrt(g2), 1e-4 * math.sqrt(g2)):g})"
            return Identification(spec, scheme(spec).law(tuple(w.shape)), 1.0)
    return None


def _orthogonal(m: Tensor) -> float | None:
    """``gain^2`` when ``m m^T = gain^2 I`` (rows <= cols; else ``m^T m``), cheap rejections first."""
    rows, cols = m.shape
    if rows > cols:
        m, rows, cols = m.T, cols, rows
    for part in (m[:64], m):  # the first rows alone reject a random matrix
        norms = torch.linalg.vector_norm(part, dim=1, dtype=torch.float64).pow(2)  # (rows,)
        g2 = float(norms.mean())  # squared row norms: equal (= gain^2) for orthogonal rows
        if not g2 > 0 or float((norms / g2 - 1).abs().max()) >= 1e-3:
            return None
    gen = torch.Generator(device=m.device).manual_seed(0)
    v = torch.randn(rows, ORTHO_PROBES, generator=gen, dtype=torch.float64, device=m.device)  # (rows, P)
    u = m.T.double() @ v if m.numel() <= 2**22 else (m.T @ v.to(m.dtype)).double()  # (cols, P)
    vv = v.T @ v  # (P, P)
    if float((u.T @ u / g2 - vv).abs().max()) >= 1e-3 * float(vv.diagonal().min()):
        return None
    if rows * rows * cols <= GRAM_MAX:
        md = m.double()
        gram = md @ md.T  # (rows, rows)
        eye = torch.eye(rows, dtype=gram.dtype, device=gram.device)
        if float((gram / g2 - eye).abs().max()) >= 1e-3:
            return None
    return g2


def _sparse(w: Tensor) -> Identification | None:
    rows = w.shape[0]
    z = int((w[:, 0] == 0).sum())
    if z == 0 or z >= rows:  # cheap rejection: sparse_ puts zeros in every column
        return None
    zero = w == 0  # (rows, cols)
    zeros = zero.sum(dim=0)  # (cols,)
    if not bool((zeros == z).all()) or bool((zero == zero[:, :1]).all()):
        return None  # not the same count per column, or the same rows in every column (zero rows)
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
    if isinstance(law, TruncatedNormal):
        a, b = law.bounds
        if abs(b - _TRUNC) < 1e-9 and abs(a + _TRUNC) < 1e-9:
            return SHAPES["trunc_normal"]
        if abs(a + b) < 1e-6 * b:  # symmetric truncation at +-b parent sigmas
            return _truncated(b)
    return None


def abs_sigma(s: float) -> float | None:
    """The parent std ``sigma`` of a normal truncated at the absolute bounds +-2 whose std is ``s``
    (bisection on ``sigma * sd(-2/sigma, 2/sigma)``, increasing from 0 to ``2/sqrt(3)``)."""
    if not 0 < s < 2 / math.sqrt(3) * (1 - 1e-9):
        return None
    if s > 2 * truncated_normal_std(-1.0, 1.0):  # cut inside +-1 sigma: a uniform law explains it
        return None
    lo, hi = s, 1e6
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if mid * truncated_normal_std(-2 / mid, 2 / mid) < s:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def absolute_bounds(lo: float, hi: float, s: float, n: int) -> bool:
    """Whether values in ``[lo, hi]`` with std ``s`` were cut at the absolute bounds +-2 (module
    docstring, point 5)."""
    if not (lo >= -2.0 and hi <= 2.0 and min(-lo, hi) >= 1.9) or not s > 0:
        return False
    return n * math.erfc(2.0 / (s * math.sqrt(2.0))) >= ABS_TAIL


@dataclass(frozen=True)
class Moments:
    """Sample moments of the entries: count, mean, std (biased), excess kurtosis, max ``|z|``, range."""

    n: int
    mean: float
    std: float
    kurtosis: float
    top: float
    lo: float
    hi: float


_CHUNK = 1 << 22  #: entries per chunk of the moment passes (no full-size float64 copy)


def moments(flat: Tensor) -> Moments:
    """:class:`Moments` of a flat tensor in chunks: each chunk summed in its own float type (PyTorch's
    cascade summation), the chunk sums added in Python floats (double)."""
    n = flat.numel()
    work = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
    lo_t, hi_t = torch.aminmax(work)
    mean = sum(float(work[k : k + _CHUNK].sum()) for k in range(0, n, _CHUNK)) / n
    s2 = s4 = 0.0
    for k in range(0, n, _CHUNK):
        c = work[k : k + _CHUNK] - mean  # (chunk,)
        c2 = c * c
        s2 += float(c2.sum())
        s4 += float((c2 * c2).sum())
    var = s2 / n
    lo, hi = float(lo_t), float(hi_t)
    std = math.sqrt(var)
    kurt = s4 / n / (var * var) - 3.0 if var > 0 else math.nan
    top = max(hi - mean, mean - lo) / std if std > 0 else math.nan
    return Moments(n, mean, std, kurt, top, lo, hi)


def _set_aside(x: Tensor) -> tuple[Tensor, int, int]:
    """The entries to fit (flattened) without zero rows and clamp artifacts, and their counts."""
    zero_rows = 0
    sample = x
    if x.dim() >= 2 and x.shape[0] >= 2:
        rows = x.reshape(x.shape[0], -1)
        cand = torch.nonzero(rows[:, 0] == 0).reshape(-1)  # only these rows can be all zero
        if cand.numel():
            zero = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
            zero[cand] = ~(rows[cand] != 0).any(dim=1)
            k = int(zero.sum())
            if 0 < k < x.shape[0]:
                zero_rows = k
                sample = rows[~zero]
    flat = sample.reshape(-1)
    lo, hi = torch.aminmax(flat)
    if float(lo) > -2.0 and float(hi) < 2.0:
        return flat, zero_rows, 0
    at2 = flat.abs() == 2.0
    clamped = int(at2.sum())
    if 0 < clamped <= max(1, flat.numel() // 100):
        rest = flat[~at2]
        if rest.numel() >= 2:
            m = moments(rest)
            if m.std > 0 and 2.0 - abs(m.mean) > CLAMP_SIGMAS * m.std:
                return rest, zero_rows, clamped
    return flat, zero_rows, 0


def identify(w: Tensor) -> Identification:
    """The scheme that best explains the values of ``w`` (see the module docstring)."""
    return identify_with(w, None)


def identify_with(w: Tensor, whole: Moments | None) -> Identification:
    """:func:`identify`, given the :class:`Moments` of all of ``w``'s entries if already computed."""
    x = w.detach()
    if x.numel() == 0:
        return Identification("zeros", Constant(0.0), 0.0)
    found = _structural(x)
    if found is not None:
        return found
    flat, zero_rows, clamped = _set_aside(x)
    if (zero_rows or clamped) and bool((flat == flat[0]).all()):
        v = float(flat[0])
        spec = "zeros" if v == 0 else "ones" if v == 1 else f"constant(value={v:g})"
        law = scheme(spec).law(tuple(x.shape))
        return Identification(spec, law, 1.0, None, (), None, zero_rows, clamped)
    mo = whole if whole is not None and flat.numel() == x.numel() else moments(flat)
    n, mean, s, kurt, top = mo.n, mo.mean, mo.std, mo.kurtosis, mo.top
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
    for chi2, spec in _fitted(mo, z_mean2, shape_chi2):
        scored.append((chi2, spec, scheme(spec).law(tuple(x.shape))))
    cut = absolute_bounds(mo.lo, mo.hi, s, n)
    sigma = abs_sigma(s) if cut else None
    if sigma is not None:
        std = nice(sigma, SHAPES["normal"].std_se(sigma, n))
        spec = f"trunc_normal(std={std:g}, a={-2 / std:.6g}, b={2 / std:.6g})"
        chi2 = _shape_chi2(_truncated(2.0 / std), kurt, top, n) + z_mean2 + math.log(n)
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
    cut = cut and law.kind != "uniform"
    return Identification(
        spec, law, goodness / sum(weights), kurt, same, runner, zero_rows, clamped, cut or clamped > 0
    )


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


def _fitted(mo: Moments, z_mean2: float, shape_chi2: dict[str, float]) -> list[tuple[float, str]]:
    """Fitted-parameter candidates ``(chi2 + BIC penalty, spec)`` for the three shapes."""
    n, mean, s = mo.n, mo.mean, mo.std
    penalty = math.log(n)
    mean_se = s / math.sqrt(n)
    centred = z_mean2 <= 9.0  # mean within 3 sampling errors of 0: not a parameter
    m = 0.0 if centred else nice(mean, mean_se)
    extra = 0.0 if centred else penalty
    mean_term = z_mean2 if centred else 0.0
    out = []
    lo, hi = mo.lo, mo.hi
    se = (hi - lo) / n
    out.append((shape_chi2["uniform"] + 2 * penalty, f"uniform(a={nice(lo, se):g}, b={nice(hi, se):g})"))
    for name in ("normal", "trunc_normal"):
        sh = SHAPES[name]
        sigma = s if name == "normal" else s / truncated_normal_std(-_TRUNC, _TRUNC)
        std = nice(sigma, sh.std_se(sigma, n))
        args = f"mean={m:g}, std={std:g}" if m else f"std={std:g}"
        out.append((shape_chi2[name] + mean_term + penalty + extra, f"{name}({args})"))
    return out
