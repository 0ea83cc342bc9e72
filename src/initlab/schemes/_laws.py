"""The laws a scheme draws from: one small frozen dataclass per distribution.

Each law stores only the parameters its sampler uses; its ``std`` (and ``mean``) are properties
derived from them, so what ``init_`` records, what the theory predicts and what the sampler draws
cannot disagree, and a law whose numbers contradict each other cannot be built (bad parameters raise
:class:`InitlabError`). ``Law`` is the union of them all.

Sampling goes through the same in-place calls as ``torch.nn.init`` (``normal_``, ``uniform_``,
``trunc_normal_``, ``orthogonal_``, ``eye_``/``dirac_``), so the same generator state gives
bit-identical values. ``Sparse`` is the exception: ``torch.nn.init.sparse_`` draws its zero positions
with ``torch.randperm`` from the *global* RNG even when given a generator, so initlab draws them
itself from ``generator`` (same distribution, different values).

>>> Uniform(-3.0, 3.0).std == 3.0 / 3.0 ** 0.5
True
>>> Normal(std=0.1).sample((2, 3), generator=torch.Generator().manual_seed(0)).shape
torch.Size([2, 3])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from ..core.errors import InitlabError

LawKind = Literal[
    "constant", "normal", "uniform", "trunc_normal", "orthogonal", "delta_orthogonal", "identity", "sparse"
]


def _finite(law: str, **values: float) -> None:
    for name, v in values.items():
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InitlabError(f"{law}: {name}={v!r} must be a finite number")


def _dims(law: str, shape: Sequence[int]) -> tuple[int, ...]:
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims):
        raise InitlabError(f"{law}: negative dimension in shape {dims}")
    return dims


_HALF = (torch.float16, torch.bfloat16)  #: dtypes drawn in float32, then rounded


class _Sampled:
    """Shared sampling shell: allocate, skip empty tensors, fill without autograd."""

    kind: ClassVar[LawKind]

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        """Laws that depend on the weight's shape insist on being sampled at that shape."""

    def sample(
        self,
        shape: Sequence[int],
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """A new tensor of ``shape`` drawn from this law; randomness only from ``generator``."""
        dims = _dims(self.kind, shape)
        self._check_shape(dims)
        out = torch.empty(dims, dtype=dtype, device=device)
        if out.device.type == "meta":
            raise InitlabError(
                f"{self.kind}: cannot draw values on the meta device (its tensors hold no data); "
                f"materialise the tensor first, e.g. module.to_empty(device='cpu')"
            )
        if out.numel() == 0:
            return out
        if not out.is_floating_point():
            raise InitlabError(
                f"{self.kind}: cannot fill a tensor of dtype {dtype}, it needs a floating-point one"
            )
        self._check_range(dtype)
        # Half types are drawn in float32 and rounded: not every kernel has them (the QR behind
        # orthogonal init), and one rule for all laws keeps their values consistent.
        work = torch.empty(dims, dtype=torch.float32, device=device) if dtype in _HALF else out
        with torch.no_grad():
            self._fill(work, generator)
            if work is not out:
                out.copy_(work)
        if not bool(torch.isfinite(out).all()):
            raise InitlabError(
                f"{self.kind}: values drawn from {self!r} overflow {dtype} "
                f"(largest finite value {torch.finfo(dtype).max:g}); use a wider dtype or a smaller scale"
            )
        return out

    def _check_range(self, dtype: torch.dtype) -> None:
        """Every number of the law must be one that ``dtype`` can hold (the samplers compute in it)."""
        top = torch.finfo(dtype).max
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, float | int) and not isinstance(v, bool) and abs(v) > top:
                raise InitlabError(
                    f"{self.kind}: {f.name}={v:g} does not fit in {dtype} (largest finite value {top:g})"
                )


@dataclass(frozen=True)
class Constant(_Sampled):
    """Every entry equals ``value``: mean ``value``, std 0."""

    value: float
    kind: ClassVar[LawKind] = "constant"

    def __post_init__(self) -> None:
        _finite("constant", value=self.value)

    @property
    def mean(self) -> float:
        return float(self.value)

    @property
    def std(self) -> float:
        return 0.0

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:
        out.fill_(self.value)


@dataclass(frozen=True)
class Normal(_Sampled):
    """``N(mean, std^2)`` (``torch.Tensor.normal_``)."""

    std: float
    mean: float = 0.0
    kind: ClassVar[LawKind] = "normal"

    def __post_init__(self) -> None:
        _finite("normal", std=self.std, mean=self.mean)
        if self.std < 0:
            raise InitlabError(f"normal: std={self.std} must be >= 0")

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:
        out.normal_(self.mean, self.std, generator=generator)


@dataclass(frozen=True)
class Uniform(_Sampled):
    """``U(low, high)``: mean ``(low + high) / 2``, std ``(high - low) / sqrt(12)``."""

    low: float
    high: float
    kind: ClassVar[LawKind] = "uniform"

    def __post_init__(self) -> None:
        _finite("uniform", low=self.low, high=self.high)
        if not self.low <= self.high:
            raise InitlabError(f"uniform: needs low <= high, got low={self.low}, high={self.high}")

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    @property
    def std(self) -> float:
        return (self.high - self.low) / math.sqrt(12.0)

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:
        out.uniform_(self.low, self.high, generator=generator)


@dataclass(frozen=True)
class TruncatedNormal(_Sampled):
    """``N(mean, scale^2)`` truncated to the absolute interval ``[low, high]`` (``trunc_normal_``).

    With ``a = (low - mean) / scale``, ``b = (high - mean) / scale``, ``Z = Phi(b) - Phi(a)``:
    std ``scale * sqrt(1 + (a phi(a) - b phi(b)) / Z - ((phi(a) - phi(b)) / Z)^2)`` and mean
    ``mean + scale (phi(a) - phi(b)) / Z`` (Johnson, Kotz & Balakrishnan 1994, ch. 13), computed
    without cancellation by :func:`truncated_normal_moments`.
    """

    scale: float
    low: float
    high: float
    loc: float = 0.0
    kind: ClassVar[LawKind] = "trunc_normal"

    def __post_init__(self) -> None:
        _finite("trunc_normal", scale=self.scale, low=self.low, high=self.high, loc=self.loc)
        if not self.scale > 0:
            raise InitlabError(f"trunc_normal: scale={self.scale} must be > 0")
        if not self.low < self.high:
            raise InitlabError(f"trunc_normal: needs low < high, got low={self.low}, high={self.high}")

    @property
    def bounds(self) -> tuple[float, float]:
        """The truncation points in units of ``scale`` around ``loc``: ``(a, b)``."""
        return (self.low - self.loc) / self.scale, (self.high - self.loc) / self.scale

    @property
    def mean(self) -> float:
        return self.loc + self.scale * truncated_normal_moments(*self.bounds)[0]

    @property
    def std(self) -> float:
        return self.scale * truncated_normal_std(*self.bounds)

    def _check_range(self, dtype: torch.dtype) -> None:
        """The bounds need not fit (``b=1e300`` means "no upper bound"); values beyond are caught after."""
        top = torch.finfo(dtype).max
        for name, v in (("mean", self.loc), ("std", self.scale)):
            if abs(v) > top:
                raise InitlabError(
                    f"trunc_normal: {name}={v:g} does not fit in {dtype} (largest finite value {top:g})"
                )

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:
        a, b = self.bounds
        if a <= _TAIL and b >= -_TAIL:  # torch's inverse-CDF sampler resolves the interval
            torch.nn.init.trunc_normal_(out, self.loc, self.scale, self.low, self.high, generator=generator)
        else:
            z = _tail_sample(a, b, tuple(out.shape), generator, out.device)  # float64
            out.copy_(self.loc + self.scale * z)


@dataclass(frozen=True)
class Orthogonal(_Sampled):
    """A (semi-)orthogonal ``(rows, cols)`` matrix times ``gain``, ``cols = prod(shape[1:])``.

    From the QR decomposition of a Gaussian matrix (``torch.nn.init.orthogonal_``; Saxe et al. 2014).
    The squares of the entries sum to ``gain^2 min(rows, cols)``, so (mean ~0) the std is
    ``gain / sqrt(max(rows, cols))``. Depends on the shape, so it is built for one.
    """

    gain: float
    shape: tuple[int, ...]
    kind: ClassVar[LawKind] = "orthogonal"

    def __post_init__(self) -> None:
        _finite("orthogonal", gain=self.gain)
        object.__setattr__(self, "shape", _dims("orthogonal", self.shape))
        if len(self.shape) < 2:
            raise InitlabError(f"orthogonal: needs a weight with at least 2 dims, got shape {self.shape}")

    @property
    def mean(self) -> float:
        return 0.0

    @property
    def std(self) -> float:
        rows, cols = self.shape[0], math.prod(self.shape[1:])
        return abs(self.gain) / math.sqrt(max(rows, cols)) if rows and cols else 0.0

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        _same_shape("orthogonal", self.shape, shape)

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:
        torch.nn.init.orthogonal_(out, self.gain, generator=generator)


@dataclass(frozen=True)
class DeltaOrthogonal(_Sampled):
    """A conv kernel ``(out, in, *k)`` that is zero except ``gain`` times a (semi-)orthogonal
    ``(out, in)`` matrix at the spatial centre (index ``k // 2`` on every axis); a plain orthogonal
    matrix for a 2-D weight. Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington (2018), *Dynamical
    isometry and a mean field theory of CNNs*.

    The squares of the entries sum to ``gain^2 min(out, in)``, so (mean ~0) the std is
    ``gain sqrt(min(out, in) / numel)``.
    """

    gain: float
    shape: tuple[int, ...]
    kind: ClassVar[LawKind] = "delta_orthogonal"

    def __post_init__(self) -> None:
        _finite("delta_orthogonal", gain=self.gain)
        object.__setattr__(self, "shape", _dims("delta_orthogonal", self.shape))
        if len(self.shape) < 2:
            raise InitlabError(
                f"delta_orthogonal: needs a weight with at least 2 dims, got shape {self.shape}"
            )

    @property
    def mean(self) -> float:
        return 0.0

    @property
    def std(self) -> float:
        n = math.prod(self.shape)
        return abs(self.gain) * math.sqrt(min(self.shape[0], self.shape[1]) / n) if n else 0.0

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        _same_shape("delta_orthogonal", self.shape, shape)

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:
        if out.dim() == 2:
            torch.nn.init.orthogonal_(out, self.gain, generator=generator)
            return
        centre: tuple[slice | int, ...] = (slice(None), slice(None), *(k // 2 for k in out.shape[2:]))
        out.zero_()
        torch.nn.init.orthogonal_(out[centre], self.gain, generator=generator)  # (out, in) at the centre


@dataclass(frozen=True)
class Identity(_Sampled):
    """The identity for a 2-D weight (``eye_``), the Dirac delta for a 3-5-D conv weight (``dirac_``).

    Entries are 0/1 with ``p = min(out, in) / numel`` ones: mean ``p``, std ``sqrt(p (1 - p))``.
    """

    shape: tuple[int, ...]
    kind: ClassVar[LawKind] = "identity"

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", _dims("identity", self.shape))
        if not 2 <= len(self.shape) <= 5:
            raise InitlabError(f"identity supports 2-D and conv (3-5 D) weights, got shape {self.shape}")

    @property
    def mean(self) -> float:
        n = math.prod(self.shape)
        return min(self.shape[0], self.shape[1]) / n if n else 0.0

    @property
    def std(self) -> float:
        p = self.mean
        return math.sqrt(p * (1.0 - p))

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        _same_shape("identity", self.shape, shape)

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:
        if out.dim() == 2:
            torch.nn.init.eye_(out)
        else:
            torch.nn.init.dirac_(out)


@dataclass(frozen=True)
class Sparse(_Sampled):
    """``N(0, scale^2)`` entries with ``k = ceil(sparsity * rows)`` zeros at random rows of every column.

    Martens (2010). A conv kernel ``(out, in, *k)`` is the matrix ``(out, in * prod(k))``, as for
    :class:`Orthogonal`; std ``scale * sqrt(1 - k / rows)``, mean 0.
    """

    sparsity: float
    scale: float
    shape: tuple[int, ...]
    kind: ClassVar[LawKind] = "sparse"

    def __post_init__(self) -> None:
        _finite("sparse", sparsity=self.sparsity, scale=self.scale)
        object.__setattr__(self, "shape", _dims("sparse", self.shape))
        if not 0 <= self.sparsity <= 1:
            raise InitlabError(f"sparse: sparsity={self.sparsity} must be in [0, 1]")
        if self.scale < 0:
            raise InitlabError(f"sparse: scale={self.scale} must be >= 0")
        if len(self.shape) < 2:
            raise InitlabError(f"sparse needs a weight of at least 2 dims, got shape {self.shape}")

    @property
    def zeros_per_column(self) -> int:
        return math.ceil(self.sparsity * self.shape[0])

    @property
    def mean(self) -> float:
        return 0.0

    @property
    def std(self) -> float:
        rows = self.shape[0]
        return self.scale * math.sqrt(1.0 - self.zeros_per_column / rows) if rows else 0.0

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        _same_shape("sparse", self.shape, shape)

    def _fill(self, out: Tensor, generator: torch.Generator | None) -> None:
        rows = out.shape[0]
        mat = out.view(rows, -1)  # (rows, cols): a conv kernel flattened, as orthogonal does
        mat.normal_(0.0, self.scale, generator=generator)
        keys = torch.rand(mat.shape, generator=generator, device=out.device)  # (rows, cols)
        zero_rows = keys.argsort(dim=0)[: self.zeros_per_column]  # (k, cols): a random permutation per column
        mat.scatter_(0, zero_rows, 0.0)


#: The law of a weight's entries: one of the distributions above.
Law = Constant | Normal | Uniform | TruncatedNormal | Orthogonal | DeltaOrthogonal | Identity | Sparse
LAWS: tuple[type[Law], ...] = (
    Constant,
    Normal,
    Uniform,
    TruncatedNormal,
    Orthogonal,
    DeltaOrthogonal,
    Identity,
    Sparse,
)


def scaled(law: Law, factor: float) -> Law:
    """The law of ``factor * W`` for ``W ~ law`` (std and mean times ``factor``), as a law of the same kind.

    Depth-aware schemes scale a base scheme's law on the residual-output layers (Fixup, GPT-2).
    ``Identity`` has no scale parameter and cannot be scaled (an ``InitlabError``).

    >>> scaled(Normal(0.02), 0.5).std
    0.01
    """
    _finite("scaled", factor=factor)
    f = float(factor)
    if isinstance(law, Constant):
        return Constant(law.value * f)
    if isinstance(law, Normal):
        return Normal(abs(f) * law.std, law.mean * f)
    if isinstance(law, Uniform):
        lo, hi = sorted((law.low * f, law.high * f))
        return Uniform(lo, hi)
    if isinstance(law, TruncatedNormal):
        if f == 0.0:
            return Constant(law.mean * 0.0)
        lo, hi = sorted((law.low * f, law.high * f))
        return TruncatedNormal(abs(f) * law.scale, lo, hi, law.loc * f)
    if isinstance(law, Orthogonal):
        return Orthogonal(law.gain * f, law.shape)
    if isinstance(law, DeltaOrthogonal):
        return DeltaOrthogonal(law.gain * f, law.shape)
    if isinstance(law, Sparse):
        return Sparse(law.sparsity, abs(f) * law.scale, law.shape)
    raise InitlabError(f"{law.kind} has no scale: a depth-scaled rule cannot scale it (use another base)")


def _same_shape(law: str, built: tuple[int, ...], asked: tuple[int, ...]) -> None:
    if built != asked:
        raise InitlabError(f"{law}: this law was built for shape {built}, cannot sample shape {asked}")


def sample_law(
    law: Law,
    shape: Sequence[int],
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """``law.sample(shape, ...)`` (kept for callers of the function form)."""
    return law.sample(shape, generator=generator, dtype=dtype, device=device)


_TAIL = 2.0  #: beyond this (bounds in sigmas, as torch warns) trunc_normal is drawn by _tail_sample
_FAR = 1e3  #: beyond this the tail is drawn as a truncated exponential (relative error ~ 1 / a^2)


def _tail_sample(
    a: float, b: float, shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """N(0, 1) truncated to ``[a, b]`` with ``a > 2`` or ``b < -2``, in float64, by inverse CDF in logs.

    ``torch.nn.init.trunc_normal_`` maps ``U(2 Phi(a) - 1, 2 Phi(b) - 1)`` through ``erfinv``: in a far
    tail both ends round to 1 (all values at a bound; ``a = 8`` in float32). Here the interval is
    reflected into the left tail, ``p = Phi(lo) + u (Phi(hi) - Phi(lo))`` is formed as ``log p`` with
    ``log_ndtr``, and ``log_ndtr(x) = log p`` is solved by Newton's method from ``lo`` (monotone:
    ``log Phi`` is concave and increasing). Beyond ``|hi| > 1e3`` the tail is the truncated
    exponential of rate ``|hi|`` it converges to.
    """
    sign = -1.0 if a > 0 else 1.0
    lo, hi = (-b, -a) if a > 0 else (a, b)  # hi < -2: the mass sits at hi
    lo = max(lo, hi - math.sqrt(2.0 * _DROP) - 2.0 * _DROP / abs(hi))  # no mass beyond this
    u = torch.rand(shape, generator=generator, dtype=torch.float64, device=device)
    if -hi > _FAR:
        rate = -hi
        d = -torch.log1p(-u * -math.expm1(-rate * (hi - lo))) / rate  # (shape): distance below hi
        return sign * (hi - d).clamp(lo, hi)
    la = float(torch.special.log_ndtr(torch.tensor(lo, dtype=torch.float64)))
    lb = float(torch.special.log_ndtr(torch.tensor(hi, dtype=torch.float64)))
    r = math.exp(la - lb)
    target = lb + torch.log(r + u * (1.0 - r))  # (shape): log p
    x = torch.full(shape, lo, dtype=torch.float64, device=device)  # (shape)
    half_log_2pi = 0.5 * math.log(2.0 * math.pi)
    for _ in range(100):
        logcdf = torch.special.log_ndtr(x)
        step = (target - logcdf) * torch.exp(logcdf + 0.5 * x * x + half_log_2pi)  # f / f'
        x = torch.minimum(x + step, torch.full_like(x, hi))
        if float(step.abs().max()) <= 1e-13 * max(1.0, abs(hi)):
            break
    return sign * x.clamp(lo, hi)


def truncated_normal_std(a: float, b: float) -> float:
    """Std of a standard normal truncated to ``[a, b]`` (units of the parent sigma)."""
    return truncated_normal_moments(a, b)[1]


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(48)
_PANELS = 8  #: Gauss-Legendre panels over the interval that holds the mass
_DROP = 80.0  #: log-density drop beyond which the mass is negligible (exp(-80) ~ 2e-35)


def truncated_normal_moments(a: float, b: float) -> tuple[float, float]:
    """Mean and std of a standard normal truncated to ``[a, b]``, stable for any finite bounds.

    The closed forms (``(phi(a) - phi(b)) / Z`` ...) divide two underflowing numbers in the tails
    (``a = 10``: ``Z = 0`` in float64) and cancel catastrophically before that (``a = 8, b = 9``).
    Here the density is integrated around its mode ``m`` (the point of ``[a, b]`` nearest 0) in the
    offset ``u = x - m``: ``phi(x) / phi(m) = exp(-(u^2 / 2 + m u))``, which never under- or
    overflows near the mode, on the part of ``[a, b]`` within a log-density drop of 80 from it
    (composite Gauss-Legendre, 8 x 48 nodes; the integrand is smooth there). Mean ``m + E[u]``, and
    the variance from the centred second moment, so neither cancels: both ~1e-13 relative to the std
    (checked against 80-digit closed forms from a = -1e4 to 1e3).
    """
    _finite("trunc_normal", a=a, b=b)
    if not a < b:
        raise InitlabError(f"trunc_normal: needs a < b, got a={a}, b={b}")
    m = min(max(0.0, a), b)
    reach = 2.0 * _DROP / (abs(m) + math.hypot(m, math.sqrt(2.0 * _DROP)))  # |m| t + t^2/2 = DROP
    lo, hi = max(a - m, -reach), min(b - m, reach)  # offsets from the mode; mass falls away from it
    edges = np.linspace(lo, hi, _PANELS + 1)
    half = (edges[1:] - edges[:-1]) / 2.0  # (P,)
    mid = (edges[1:] + edges[:-1]) / 2.0  # (P,)
    u = (mid[:, None] + half[:, None] * _GL_NODES[None, :]).ravel()  # (P * N,)
    w = (half[:, None] * _GL_WEIGHTS[None, :]).ravel() * np.exp(-(0.5 * u * u + m * u))  # (P * N,)
    total = float(w.sum())
    mu = float((w * u).sum()) / total
    var = float((w * (u - mu) ** 2).sum()) / total
    return m + mu, math.sqrt(var)
