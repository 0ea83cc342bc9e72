"""Model families: architectures built from a spec string, ``mlp(layers=4, width=100)``.

A family is a registered builder with keyword parameters; its spec string is parsed by the project's
spec parser (:mod:`initlab.core.spec`, as for schemes): ``name``, ``name(v1, v2)`` positionally in
the order of the table below, or ``name(key=value, ...)``; values are integers, ``true``/``false``
or names. ``PACKAGE.MODULE:FACTORY`` (anything with a ``:``) is a user's own no-argument factory
(:mod:`initlab.ensemble.target`).

:func:`model_factory` checks the spec at once (by building the model on the ``meta`` device: no
memory, no randomness) and returns a no-argument factory for :meth:`Ensemble.from_factory`. Every
family's model takes the dataset's **flat** input ``(B, prod(in_shape))`` -- MNIST's ``(B, 784)``
-- reshapes it inside as it needs (``nn.Unflatten``) and returns logits ``(B, classes)``.

Randomness: a family's own initial values that no scheme touches (a ViT's position embedding and
class token) are drawn from the global RNG while the factory runs, which
:meth:`Ensemble.from_factory` forks and seeds per model; every Linear/ConvNd weight is then drawn
by the scheme. Norm gains and biases start at PyTorch's constants (1 and 0).

Residual branches are marked (:func:`initlab.schemes.branches`) for depth-aware schemes and the probe.

>>> make = model_factory("mlp(layers=2, width=8)")
>>> make()
Sequential(
  (0): Linear(in_features=784, out_features=8, bias=True)
  (1): ActivationModule(relu)
  (2): Linear(in_features=8, out_features=8, bias=True)
  (3): ActivationModule(relu)
  (4): Linear(in_features=8, out_features=10, bias=True)
)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from ..activations import Activation, ActivationModule, activation
from ..core.errors import InitlabError, check_int, closest
from ..core.registry import Registry
from ..core.spec import Value, bind_params, canonical, format_value, parse_spec, signature_params
from ._conv import Norm, Pool, plain_cnn
from ._resnet import Block, ResNet, blocks_per_stage
from ._vit import Pooling, ViT
from .target import load_factory

_NO_SKIP: frozenset[str] = frozenset()


@dataclass(frozen=True)
class IO:
    """What every builder is given besides its parameters: the data's sample shape, the number of
    classes, the activation (already resolved) and the spec as written (for error messages)."""

    in_shape: tuple[int, ...]
    classes: int
    activation: Activation
    spec: str

    @property
    def features(self) -> int:
        """``prod(in_shape)``: the width of the flat input."""
        return math.prod(self.in_shape)

    def act(self) -> ActivationModule:
        """A fresh activation module."""
        return ActivationModule(self.activation)

    def at_least(self, key: str, value: int, minimum: int) -> int:
        """``value`` if ``>= minimum``, else an ``InitlabError`` quoting the spec."""
        if value < minimum:
            raise InitlabError(f"{key}={value} in {self.spec!r}: must be >= {minimum}")
        return value

    def image(self) -> tuple[int, int, int]:
        """``in_shape`` as ``(C, H, W)``; an ``InitlabError`` when the data is not images."""
        if len(self.in_shape) != 3:
            raise InitlabError(
                f"{self.spec!r} needs image input (C, H, W), but the data's sample shape is {self.in_shape}"
            )
        c, h, w = self.in_shape
        return c, h, w


Builder = Callable[..., nn.Module]  #: ``build(io: IO, *, params...) -> nn.Module``


@dataclass(frozen=True)
class Family:
    """Registry entry: a builder ``build(io, *, params...)``, a one-line summary, default activation."""

    name: str
    build: Builder
    summary: str
    activation: str = "relu"

    def params(self) -> dict[str, Any]:
        """The family's parameters and their defaults, in order."""
        return {n: p.default for n, p in signature_params(self.build, _NO_SKIP).items()}

    def usage(self) -> str:
        """``name(key=default, ...)``, as the README and error messages show it."""
        return canonical(self.name, self.params())


FAMILIES: Registry[Family] = Registry("model family")


def register_family(*, summary: str, activation: str = "relu") -> Callable[[Builder], Builder]:
    """Decorator: register ``build(io, *, params...)`` under its ``__name__`` (twice is an error).

    Parameters are keyword-only with annotations (``int``, ``bool``, ``Literal[...]``) and defaults;
    the spec parser binds and checks them.
    """

    def deco(build: Builder) -> Builder:
        FAMILIES.add(build.__name__, Family(build.__name__, build, summary, activation))
        return build

    return deco


def families(pattern: str | None = None) -> list[str]:
    """Names of the registered model families (those matching a shell-style ``pattern``).

    >>> families()
    ['cnn', 'mlp', 'resnet', 'vit']
    """
    return FAMILIES.names(pattern)


def family(name: str) -> Family:
    """The registry entry of family ``name`` (an unknown name is an error with the closest names)."""
    found = FAMILIES.get(name)
    if found is None:
        raise InitlabError(
            f"unknown model family {name!r}{closest(name, FAMILIES.names())}; families: "
            f"{', '.join(FAMILIES.names())}, or PACKAGE.MODULE:FACTORY for your own"
        )
    return found


@dataclass(frozen=True)
class ModelFactory:
    """A no-argument model factory made from a spec: ``factory() -> nn.Module``.

    ``spec`` is the canonical spec (``mlp(layers=4, width=100, bias=true)``, or the target for a
    user's factory), ``family`` the family name (``"factory"`` for ``MOD:FACTORY``), ``params`` the
    bound parameters and ``activation`` the activation spec (``None`` for a user's factory).
    """

    spec: str
    family: str
    build: Callable[[], nn.Module] = field(repr=False, compare=False)
    params: dict[str, Value] = field(default_factory=dict)
    activation: str | None = None

    def __call__(self) -> nn.Module:
        return self.build()


def _check_io(in_shape: tuple[int, ...], classes: int) -> tuple[tuple[int, ...], int]:
    dims = tuple(in_shape)
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in dims):
        raise InitlabError(f"in_shape {in_shape!r} must be positive integers, e.g. (1, 28, 28)")
    return dims, check_int(classes, "classes")


def model_factory(
    spec: str,
    *,
    in_shape: tuple[int, ...] = (1, 28, 28),
    classes: int = 10,
    activation: str | None = None,
) -> ModelFactory:
    """A no-argument factory for the model ``spec`` (a family spec or ``PACKAGE.MODULE:FACTORY``).

    ``in_shape`` is one sample's shape (the model takes it flat), ``classes`` the number of logits,
    ``activation`` an activation spec for the families that have one (``None``: the family's
    default, ReLU, or GELU for ``vit``). Bad input is an ``InitlabError`` at once.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InitlabError(f"a model spec must be a non-empty string, got {spec!r}")
    dims, n_classes = _check_io(in_shape, classes)
    if ":" in spec:
        target = spec.strip()
        return ModelFactory(target, "factory", load_factory(target))
    parsed = parse_spec(spec)
    fam = family(parsed.name)
    names = list(fam.params())
    for key, _ in parsed.kwargs:
        if key not in names:
            raise InitlabError(
                f"model family {fam.name!r} has no parameter {key!r} in {parsed.text!r}"
                f"{closest(key, names)}; it takes: {fam.usage()}"
            )
    bound = bind_params(parsed, "model family", fam.build, _NO_SKIP)
    params = {**fam.params(), **bound}
    act = activation_of(activation if activation is not None else fam.activation)
    io = IO(dims, n_classes, act, parsed.text)

    def build() -> nn.Module:
        return fam.build(io, **params)

    with torch.device("meta"):  # check every parameter now: no memory, no randomness
        build()
    return ModelFactory(canonical(fam.name, params), fam.name, build, params, act.spec)


def activation_of(spec: str) -> Activation:
    """The activation for a family (``activation(spec)``, named as the ``activation`` option)."""
    try:
        return activation(spec)
    except InitlabError as err:
        raise InitlabError(f"activation {format_value(spec)}: {err}") from err


# ---------------------------------------------------------------------------------------------
# The classic: a multilayer perceptron.


@register_family(summary="fully connected: `layers` hidden Linear + activation, then a Linear classifier")
def mlp(io: IO, *, layers: int = 4, width: int = 100, bias: bool = True) -> nn.Module:
    """``nn.Sequential(Linear(D, width), act, ..., Linear(width, classes))`` with ``layers`` hidden
    layers, ``D = prod(in_shape)``; the same (spec, seed) gives the same weights and outputs as
    :class:`initlab.ensemble.Stack` with widths ``[D] + [width] * layers + [classes]``."""
    io.at_least("layers", layers, 0)
    io.at_least("width", width, 1)
    widths = [io.features] + [width] * layers + [io.classes]
    mods: list[nn.Module] = []
    for i in range(len(widths) - 1):
        mods.append(nn.Linear(widths[i], widths[i + 1], bias=bias))
        if i < len(widths) - 2:
            mods.append(io.act())
    return nn.Sequential(*mods)


# ---------------------------------------------------------------------------------------------
# Convolutional and residual families (modules in _conv.py, _resnet.py) and the ViT (_vit.py).


@register_family(
    summary="plain conv stack: `depth` x [conv, norm, activation], 2x2 pooling twice, GAP, Linear"
)
def cnn(
    io: IO, *, depth: int = 6, channels: int = 32, kernel: int = 3, norm: Norm = "none", pool: Pool = "max"
) -> nn.Module:
    """:func:`initlab.ensemble._conv.plain_cnn`: convs keep the size (padding ``kernel // 2``, so
    ``kernel`` is odd); ``pool`` (max, avg or none) halves the image after a third and two thirds
    of the layers (28 -> 14 -> 7); then global average pooling and a Linear classifier."""
    io.at_least("depth", depth, 1)
    io.at_least("channels", channels, 1)
    io.at_least("kernel", kernel, 1)
    if kernel % 2 == 0:
        raise InitlabError(
            f"kernel={kernel} in {io.spec!r}: must be odd (padding kernel // 2 keeps the size)"
        )
    return plain_cnn(
        io.image(), io.classes, io.act, depth=depth, channels=channels, kernel=kernel, norm=norm, pool=pool
    )


@register_family(summary="CIFAR-style ResNet: depth = 6n+2 weighted layers, 3 stages of n blocks")
def resnet(
    io: IO,
    *,
    depth: int = 20,
    width: int = 16,
    block: Block = "basic",
    norm: Literal["batch", "none"] = "batch",
    fixup: bool = False,
    gate: bool = False,
) -> nn.Module:
    """:class:`initlab.ensemble._resnet.ResNet` (He et al. 2016): ``depth`` in 8, 14, 20, ..., 56, 110;
    stages of ``width``, ``2 width``, ``4 width`` channels; parameter-free shortcuts. ``fixup=true``
    (with ``norm=none``) adds Fixup's scalar biases and multipliers; ``gate=true`` a SkipInit / ReZero
    branch gate started at 0."""
    n = blocks_per_stage(depth, io.spec)
    io.at_least("width", width, 1)
    if fixup and norm != "none":
        raise InitlabError(f"fixup=true in {io.spec!r}: Fixup replaces normalization; add norm=none")
    return ResNet(
        io.image(), io.classes, io.act, blocks=n, width=width, block=block, norm=norm, fixup=fixup, gate=gate
    )


@register_family(summary="pre-norm Vision Transformer over patch x patch patches", activation="gelu")
def vit(
    io: IO, *, depth: int = 4, dim: int = 64, heads: int = 4, patch: int = 7, pool: Pooling = "cls"
) -> nn.Module:
    """:class:`initlab.ensemble._vit.ViT` (Dosovitskiy et al. 2021): ``depth`` blocks of width ``dim``
    with ``heads`` heads (``heads`` divides ``dim``); ``patch`` divides the image's height and width."""
    io.at_least("depth", depth, 1)
    io.at_least("heads", heads, 1)
    io.at_least("dim", dim, 1)
    io.at_least("patch", patch, 1)
    if dim % heads:
        raise InitlabError(f"dim={dim} in {io.spec!r}: must be a multiple of heads={heads}")
    c, h, w = io.image()
    if h % patch or w % patch:
        raise InitlabError(f"patch={patch} in {io.spec!r}: must divide the image size {h}x{w}")
    return ViT((c, h, w), io.classes, io.act, depth=depth, dim=dim, heads=heads, patch=patch, pool=pool)
