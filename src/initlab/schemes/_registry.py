"""The scheme registry: entries and bound ``Scheme`` objects.

A scheme is registered with :func:`register_scheme` on a function ``law(shape, *, params) -> Law``
that states, for a weight of that shape, exactly which distribution the values come from (one of the
law types of :mod:`._laws`). The law samples itself and derives its std from the parameters it
samples with, so the metadata, the samples and the theory cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..core.errors import InitlabError
from ..core.registry import Registry
from ..core.spec import ParsedSpec, Value, bind_params, canonical, parse_spec, signature_params
from ._laws import LAWS, Law

LawFn = Callable[..., Law]
#: ``bias(weight_shape, **params)``: the bias law, or ``None`` for zero biases (for these parameters).
BiasFn = Callable[..., Law | None]
#: ``rule(model, **params) -> {parameter name: law}``: a module-aware scheme's laws for the parameters
#: its structure singles out (residual outputs, branch norms, the classifier); every other weight gets
#: the scheme's ``law(shape)``.
ModuleRule = Callable[..., dict[str, Law]]


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
    bias: BiasFn | None
    module_rule: ModuleRule | None = None

    @property
    def module_aware(self) -> bool:
        """Whether the scheme needs the module structure (residual marks): ``init_`` on a whole model."""
        return self.module_rule is not None

    @property
    def doc(self) -> str:
        return (self.law.__doc__ or "").strip()


SCHEMES: Registry[SchemeInfo] = Registry("scheme")
_SKIP = frozenset({"shape"})


def register_scheme(
    *,
    distribution: str,
    formula: str,
    reference: str,
    needs_fans: bool,
    check: Callable[..., None] | None = None,
    bias: BiasFn | None = None,
    module_rule: ModuleRule | None = None,
) -> Callable[[LawFn], LawFn]:
    """Decorator registering ``law(shape, *, params) -> Law`` under its ``__name__``.

    ``check(**params)`` validates parameters when the spec is parsed; ``bias(weight_shape, **params)``
    gives the bias law for schemes that initialise biases (else, or where it returns ``None``, biases
    are zero).
    ``module_rule(model, **params)`` makes the scheme **module-aware** (:data:`ModuleRule`): ``init_`` on
    a module applies the rule's laws to the parameters it names and ``law(shape)`` to every other
    weight; ``law(shape)`` alone is then the law of an ordinary (unmarked) layer, and ``init_`` on a
    bare tensor is an error (a tensor does not know whether it ends a residual branch).
    """

    def deco(fn: LawFn) -> LawFn:
        SCHEMES.add(
            fn.__name__,
            SchemeInfo(
                fn.__name__, fn, distribution, formula, reference, needs_fans, check, bias, module_rule
            ),
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
        if self.info.needs_fans and 0 in dims:
            raise InitlabError(
                f"scheme {self.text!r} scales by fan_in/fan_out, which are 0 for the zero-size weight of "
                f"shape {dims}: there is nothing to scale (a layer with no inputs or no outputs)"
            )
        return dims

    def law(self, shape: Sequence[int]) -> Law:
        """The distribution of the entries of a weight of this shape."""
        return _checked(self, self.info.law(self._shape(shape), **self.params), "law")

    def std(self, shape: Sequence[int]) -> float:
        """Analytic standard deviation of the entries for a weight of this shape."""
        return self.law(shape).std

    def module_laws(self, model: nn.Module) -> dict[str, Law]:
        """The laws a module-aware scheme gives the parameters of ``model`` its structure singles out
        (``{}`` for an ordinary scheme); see :func:`register_scheme`."""
        if self.info.module_rule is None:
            return {}
        laws = self.info.module_rule(model, **{**_defaults(self.info), **self.params})
        return {name: _checked(self, law, f"law for {name}") for name, law in laws.items()}

    def bias_law(self, weight_shape: Sequence[int]) -> Law | None:
        """The bias law for a layer with this weight shape, or ``None`` for zero biases."""
        if self.info.bias is None:
            return None
        law = self.info.bias(self._shape(weight_shape), **self.params)
        return None if law is None else _checked(self, law, "bias law")

    def sample(
        self,
        shape: Sequence[int],
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """Draw a new tensor of ``shape``; randomness only from ``generator``."""
        dims = self._shape(shape)
        return self.law(dims).sample(dims, generator=generator, dtype=dtype, device=device)

    __call__ = sample


def _checked(sch: Scheme, law: object, what: str) -> Law:
    """A registered function must return one of the law types (a plug-in's mistake, caught early)."""
    if not isinstance(law, LAWS):
        names = ", ".join(t.__name__ for t in LAWS)
        raise InitlabError(f"scheme {sch.text!r} returned {law!r} as its {what}; expected one of {names}")
    return law


def schemes(pattern: str | None = None) -> list[str]:
    """Names of the registered schemes, those matching a shell-style ``pattern`` if given.

    >>> schemes("he_*")
    ['he_normal', 'he_uniform']
    """
    return SCHEMES.names(pattern)


def scheme_info(name: str) -> SchemeInfo:
    """The registry entry for ``name`` (unknown names suggest the closest ones)."""
    return SCHEMES[name]


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
