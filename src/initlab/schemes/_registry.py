"""The scheme registry: entries, the ``Law`` a scheme draws from, and bound ``Scheme`` objects.

A scheme is registered with :func:`register_scheme` on a function ``law(shape, *, params) -> Law``
that states, for a weight of that shape, exactly which distribution the values come from. Sampling
is generic (:mod:`._sample`), so the metadata and the samples cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ..core.errors import InitlabError, unknown
from ..core.spec import ParsedSpec, Value, bind_params, canonical, parse_spec, signature_params

LawKind = Literal["constant", "normal", "uniform", "trunc_normal", "orthogonal", "identity", "sparse"]


@dataclass(frozen=True)
class Law:
    """The distribution of a weight's entries.

    ``kind`` selects the sampler; ``std`` is the analytic standard deviation of the entries (around
    ``mean``). ``scale`` is the parent normal's sigma (``normal``, ``trunc_normal``, ``sparse``);
    ``low``/``high`` are uniform bounds or absolute truncation points; ``value`` the constant;
    ``gain`` the orthogonal gain; ``sparsity`` the share of zeros per column.
    """

    kind: LawKind
    std: float
    mean: float = 0.0
    scale: float = 0.0
    low: float = 0.0
    high: float = 0.0
    value: float = 0.0
    gain: float = 1.0
    sparsity: float = 0.0


LawFn = Callable[..., Law]


@dataclass(frozen=True)
class SchemeInfo:
    """Registry entry (frozen metadata, as in timm's registries)."""

    name: str
    law: LawFn
    distribution: str
    formula: str
    reference: str
    needs_fans: bool
    check: Callable[..., None] | None
    bias: LawFn | None

    @property
    def doc(self) -> str:
        return (self.law.__doc__ or "").strip()


_REGISTRY: dict[str, SchemeInfo] = {}
_SKIP = frozenset({"shape"})


def register_scheme(
    *,
    distribution: str,
    formula: str,
    reference: str,
    needs_fans: bool,
    check: Callable[..., None] | None = None,
    bias: LawFn | None = None,
) -> Callable[[LawFn], LawFn]:
    """Decorator registering ``law(shape, *, params) -> Law`` under its ``__name__``.

    ``check(**params)`` validates parameters when the spec is parsed; ``bias(weight_shape, **params)``
    gives the bias law for schemes that initialise biases (else biases are zero).
    """

    def deco(fn: LawFn) -> LawFn:
        if fn.__name__ in _REGISTRY:
            raise InitlabError(f"scheme {fn.__name__!r} is already registered")
        _REGISTRY[fn.__name__] = SchemeInfo(
            fn.__name__, fn, distribution, formula, reference, needs_fans, check, bias
        )
        return fn

    return deco


def require(ok: bool, message: str) -> None:
    """Raise :class:`InitlabError` with ``message`` unless ``ok`` (never ``assert`` on user input)."""
    if not ok:
        raise InitlabError(message)


@dataclass(frozen=True)
class Scheme:
    """A scheme with bound parameters and a display label.

    ``label`` is what figures and tables show: the user's label (``Xavier: lecun_normal`` -> ``Xavier``)
    or else the spec as written. ``spec`` is the canonical string, which parses back to this scheme.
    """

    info: SchemeInfo
    param_items: tuple[tuple[str, Value], ...]
    label: str
    text: str

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def params(self) -> dict[str, Value]:
        return dict(self.param_items)

    @property
    def spec(self) -> str:
        return canonical(self.info.name, self.params)

    def __str__(self) -> str:
        return self.text

    def _shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        dims = tuple(int(d) for d in shape)
        if any(d < 0 for d in dims):
            raise InitlabError(f"negative dimension in shape {dims} for scheme {self.text!r}")
        if self.info.needs_fans and len(dims) < 2:
            raise InitlabError(
                f"scheme {self.text!r} needs fan_in/fan_out, which a tensor of shape {dims} does not "
                f"have: it needs at least 2 dims (Linear (out, in) or Conv (out, in/groups, *kernel))"
            )
        return dims

    def law(self, shape: Sequence[int]) -> Law:
        """The distribution of the entries of a weight of this shape."""
        return self.info.law(self._shape(shape), **self.params)

    def std(self, shape: Sequence[int]) -> float:
        """Analytic standard deviation of the entries for a weight of this shape."""
        return self.law(shape).std

    def bias_law(self, weight_shape: Sequence[int]) -> Law | None:
        """The bias law for a layer with this weight shape, or ``None`` for zero biases."""
        if self.info.bias is None:
            return None
        return self.info.bias(self._shape(weight_shape), **self.params)

    def sample(
        self,
        shape: Sequence[int],
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """Draw a new tensor of ``shape``; randomness only from ``generator``."""
        from ._sample import sample_law

        dims = self._shape(shape)
        return sample_law(self.law(dims), dims, generator=generator, dtype=dtype, device=device)

    __call__ = sample


def schemes() -> list[str]:
    """Names of the registered schemes."""
    return sorted(_REGISTRY)


def scheme_info(name: str) -> SchemeInfo:
    """The registry entry for ``name`` (unknown names suggest the closest ones)."""
    info = _REGISTRY.get(name)
    if info is None:
        raise unknown("scheme", name, _REGISTRY)
    return info


def scheme(spec: str | Scheme, **params: Value) -> Scheme:
    """Parse a spec string (``"Xavier: lecun_normal"``, ``"normal(std=0.01)"``) into a :class:`Scheme`."""
    if isinstance(spec, Scheme):
        if params:
            raise InitlabError("keyword parameters need a spec string, not a Scheme")
        return spec
    parsed = parse_spec(spec)
    info = scheme_info(parsed.name)
    if params:
        extra = parsed.kwargs + tuple(params.items())
        parsed = ParsedSpec(parsed.text, parsed.label, parsed.name, parsed.args, extra)
    bound = bind_params(parsed, "scheme", info.law, _SKIP)
    if info.check is not None:
        full = {**_defaults(info), **bound}
        try:
            info.check(**full)
        except InitlabError as err:
            raise InitlabError(f"{err} in {parsed.text!r}") from None
    label = parsed.label if parsed.label is not None else parsed.text.strip()
    return Scheme(info, tuple(bound.items()), label, parsed.text)


def _defaults(info: SchemeInfo) -> dict[str, Value]:
    params = signature_params(info.law, _SKIP)
    return {n: p.default for n, p in params.items() if p.default is not p.empty}


def std_of_truncated(a: float, b: float) -> float:
    """Std of a standard normal truncated to ``[a, b]`` (units of the parent sigma)."""
    z = _cdf(b) - _cdf(a)
    mean = (_pdf(a) - _pdf(b)) / z
    var = 1.0 + (a * _pdf(a) - b * _pdf(b)) / z - mean * mean
    return math.sqrt(max(var, 0.0))


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
