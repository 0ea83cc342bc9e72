"""Activation registry: elementwise nonlinearities with their gains.

Each activation is registered once by name (``activation("leaky_relu(negative_slope=0.2)")`` builds
one) and knows two gains:

* ``"torch"`` -- PyTorch's ``torch.nn.init.calculate_gain`` table, defined for linear, sigmoid,
  tanh (5/3), relu (sqrt 2), leaky_relu (sqrt(2 / (1 + slope^2))) and selu (3/4).
* ``"numerical"`` -- the variance-preserving gain ``1 / sqrt(E_{z~N(0,1)}[phi(z)^2])`` computed by
  the composite Gauss-Legendre rule of :mod:`initlab.core.quadrature` (exact at ReLU's kink): with
  weights of variance ``gain^2 / fan_in`` a unit-variance Gaussian pre-activation maps to a unit
  second moment (the mean-field fixed point condition at q = 1, Poole et al. 2016). It coincides
  with PyTorch for linear, relu and leaky_relu; PyTorch's tanh 5/3 and sigmoid 1 are chosen
  differently (for tanh, to keep the signal in the non-linear regime), and its selu 3/4 is chosen
  for self-normalising nets, so those differ on purpose.

``gain(name)`` (method ``"auto"``) returns PyTorch's value where PyTorch defines one and the
numerical one otherwise. ``activations("*elu*")`` lists the registered names matching a pattern.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.errors import InitlabError
from ..core.quadrature import gaussian_expectation
from ..core.registry import Registry
from ..core.spec import Value, bind_params, canonical, parse_spec

GainMethod = Literal["auto", "torch", "numerical"]
_SKIP = frozenset({"x"})


@dataclass(frozen=True)
class ActivationInfo:
    """Registry entry: the function and its metadata (frozen)."""

    name: str
    fn: Callable[..., Tensor]
    formula: str
    bounds: Callable[..., tuple[float | None, float | None]]
    torch_gain: Callable[..., float] | None


ACTIVATIONS: Registry[ActivationInfo] = Registry("activation")


def register_activation(
    *,
    formula: str,
    bounds: Callable[..., tuple[float | None, float | None]],
    torch_gain: Callable[..., float] | None = None,
) -> Callable[[Callable[..., Tensor]], Callable[..., Tensor]]:
    """Decorator: register ``fn(x, *, params...)`` under its ``__name__``; twice is an error."""

    def deco(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        ACTIVATIONS.add(fn.__name__, ActivationInfo(fn.__name__, fn, formula, bounds, torch_gain))
        return fn

    return deco


@dataclass(frozen=True)
class Activation:
    """An activation with bound parameters, e.g. ``leaky_relu(negative_slope=0.2)``."""

    info: ActivationInfo
    params: dict[str, Value] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def spec(self) -> str:
        """Canonical spec string (parses back to an equal activation)."""
        return canonical(self.info.name, self.params)

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """The image of the function: ``(lower, upper)``, ``None`` where unbounded."""
        return self.info.bounds(**self.params)

    def __call__(self, x: Tensor) -> Tensor:
        return self.info.fn(x, **self.params)

    def second_moment(self, q: float = 1.0) -> float:
        """``E[phi(sqrt(q) z)^2]`` for ``z ~ N(0, 1)`` (:mod:`initlab.core.quadrature`)."""
        return gaussian_expectation(lambda x: self(x) ** 2, scale=math.sqrt(q))

    def gain(self, method: GainMethod = "auto") -> float:
        """The gain by PyTorch's table (``"torch"``), by quadrature (``"numerical"``), or ``"auto"``."""
        if method not in ("auto", "torch", "numerical"):
            raise InitlabError(f"unknown gain method {method!r}; use auto, torch or numerical")
        if method != "numerical" and self.info.torch_gain is not None:
            return float(self.info.torch_gain(**self.params))
        if method == "torch":
            raise InitlabError(f"PyTorch defines no gain for {self.spec!r}; use method='numerical'")
        return 1.0 / math.sqrt(self.second_moment(1.0))


def activations(pattern: str | None = None) -> list[str]:
    """Names of the registered activations, those matching a shell-style ``pattern`` if given.

    >>> activations("*elu*")
    ['elu', 'gelu', 'leaky_relu', 'relu', 'selu']
    """
    return ACTIVATIONS.names(pattern)


def activation(spec: str | Activation, **params: Value) -> Activation:
    """Build an activation from a spec string (``"tanh"``, ``"elu(alpha=0.5)"``) plus keywords."""
    if isinstance(spec, Activation):
        return spec
    parsed = parse_spec(spec)
    if parsed.label is not None:
        raise InitlabError(f"activation spec {spec!r} cannot carry a label")
    info = ACTIVATIONS[parsed.name]
    merged = dict(parsed.kwargs)
    for k, v in params.items():
        if k in merged:
            raise InitlabError(f"parameter {k!r} given twice for activation {spec!r}")
        merged[k] = v
    bound_spec = type(parsed)(parsed.text, None, parsed.name, parsed.args, tuple(merged.items()))
    bound = bind_params(bound_spec, "activation", info.fn, _SKIP)
    return Activation(info, bound)


def gain(name: str | Activation, method: GainMethod = "auto", **params: Value) -> float:
    """Gain of an activation: ``gain("relu") == sqrt(2)``, ``gain("gelu", method="numerical")``."""
    return activation(name, **params).gain(method)


class ActivationModule(nn.Module):
    """A registered activation as an ``nn.Module`` (for ``nn.Sequential`` models and the families).

    ``ActivationModule("leaky_relu(negative_slope=0.2)")(x) == activation(...)(x)``; ``.act`` is the
    :class:`Activation` (``auto`` init and the probe read its name and gain from it).

    >>> ActivationModule("tanh")
    ActivationModule(tanh)
    """

    def __init__(self, spec: str | Activation) -> None:
        super().__init__()
        self.act = activation(spec)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x)

    def extra_repr(self) -> str:
        return self.act.spec


# ---------------------------------------------------------------------------------------------
# The activations. Formulas as in PyTorch's documentation.

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


@register_activation(formula="x", bounds=lambda: (None, None), torch_gain=lambda: 1.0)
def linear(x: Tensor) -> Tensor:
    return x


@register_activation(formula="1 / (1 + exp(-x))", bounds=lambda: (0.0, 1.0), torch_gain=lambda: 1.0)
def sigmoid(x: Tensor) -> Tensor:
    return torch.sigmoid(x)


@register_activation(formula="tanh(x)", bounds=lambda: (-1.0, 1.0), torch_gain=lambda: 5.0 / 3.0)
def tanh(x: Tensor) -> Tensor:
    return torch.tanh(x)


@register_activation(formula="max(0, x)", bounds=lambda: (0.0, None), torch_gain=lambda: math.sqrt(2.0))
def relu(x: Tensor) -> Tensor:
    return torch.relu(x)


@register_activation(
    formula="max(0, x) + negative_slope * min(0, x)",
    bounds=lambda negative_slope=0.01: (None, None) if negative_slope > 0 else (0.0, None),
    torch_gain=lambda negative_slope=0.01: math.sqrt(2.0 / (1.0 + negative_slope**2)),
)
def leaky_relu(x: Tensor, *, negative_slope: float = 0.01) -> Tensor:
    return F.leaky_relu(x, negative_slope)


@register_activation(formula="x if x > 0 else alpha * (exp(x) - 1)", bounds=lambda alpha=1.0: (-alpha, None))
def elu(x: Tensor, *, alpha: float = 1.0) -> Tensor:
    return F.elu(x, alpha)


@register_activation(
    formula="scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha=1.6733, scale=1.0507",
    bounds=lambda: (-_SELU_SCALE * _SELU_ALPHA, None),
    torch_gain=lambda: 0.75,
)
def selu(x: Tensor) -> Tensor:
    return F.selu(x)


@register_activation(formula="x * Phi(x)", bounds=lambda: (-0.17, None))
def gelu(x: Tensor) -> Tensor:
    return F.gelu(x)


@register_activation(formula="x * sigmoid(x)", bounds=lambda: (-0.2785, None))
def silu(x: Tensor) -> Tensor:
    return F.silu(x)


@register_activation(formula="log(1 + exp(beta * x)) / beta", bounds=lambda beta=1.0: (0.0, None))
def softplus(x: Tensor, *, beta: float = 1.0) -> Tensor:
    return F.softplus(x, beta)


@register_activation(formula="x / (1 + |x|)", bounds=lambda: (-1.0, 1.0))
def softsign(x: Tensor) -> Tensor:
    return F.softsign(x)


@register_activation(formula="x * tanh(softplus(x))", bounds=lambda: (-0.3089, None))
def mish(x: Tensor) -> Tensor:
    return F.mish(x)
