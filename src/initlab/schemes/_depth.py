"""Depth-aware schemes: zero-residual, Fixup, depth-scaled (GPT-2), delta-orthogonal.

``zero_residual``, ``fixup`` and ``depth_scaled`` are **module-aware** (``module_rule`` in
:func:`register_scheme`): they read the residual marks (:mod:`initlab.schemes._marks`) of the model
given to ``init_`` and give the marked layers their own law; every other weight gets the scheme's
``law(shape)``, which is its base law (the law of an unmarked layer). ``init_`` on a bare tensor with
one of them is an ``InitlabError``; a model without marks and without a recognised block
(:mod:`._infer`; a plain MLP or CNN) gets the base law everywhere, so every scheme applies to every
family. ``delta_orthogonal`` is an ordinary per-tensor law.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from ..core.errors import InitlabError
from ._catalogue import he_normal
from ._infer import is_conv1d
from ._laws import Constant, DeltaOrthogonal, Law, scaled
from ._marks import WEIGHTED, branches, residual_blocks, residual_outputs
from ._registry import Scheme, register_scheme, require, scheme


def _base(spec: str, who: str) -> Scheme:
    try:
        base = scheme(spec)
    except InitlabError as err:
        raise InitlabError(f"{who}: base {spec!r}: {err}") from None
    require(not base.info.module_aware, f"{who}: base {spec!r} must be an ordinary (per-tensor) scheme")
    return base


def _weight(model: nn.Module, name: str) -> Tensor:
    w = model.get_submodule(name).weight
    if not isinstance(w, Tensor):
        raise InitlabError(f"{name} has no weight tensor")
    return w


def _shape(model: nn.Module, name: str) -> tuple[int, ...]:
    """The layer's weight shape as ``(out, in[/groups], *kernel)``: Hugging Face's ``Conv1D`` stores it
    transposed ``(in, out)``, so its law is drawn for ``(out, in)`` (the fans a Linear would have)."""
    shape = tuple(_weight(model, name).shape)
    return shape[::-1] if is_conv1d(model.get_submodule(name)) else shape


# -- zero-residual -----------------------------------------------------------------------------


def _check_base(*, base: str, **_: object) -> None:
    _base(base, "scheme")


def _zero_residual_rule(model: nn.Module, *, base: str) -> dict[str, Law]:
    laws: dict[str, Law] = {}
    for br in branches(model):
        norm = model.get_submodule(br.norm) if br.norm is not None else None
        if norm is not None and isinstance(getattr(norm, "weight", None), Tensor):
            laws[f"{br.norm}.weight"] = Constant(0.0)  # the branch's last norm gain: f(x) = 0
        else:
            laws[f"{br.output}.weight"] = Constant(0.0)
    return laws


@register_scheme(
    distribution="base law; 0 on residual-branch outputs",
    formula="0 (branch's last layer or its norm gain); base elsewhere",
    reference="Goyal et al. 2017; Zhang et al. 2019; De & Smith 2020",
    needs_fans=False,
    check=_check_base,
    module_rule=_zero_residual_rule,
)
def zero_residual(shape: tuple[int, ...], *, base: str = "he_normal") -> Law:
    """Zero-initialised residual branches: every residual block starts as the identity.

    The last layer of each marked residual branch is set to zero -- or, when the branch ends in a
    marked norm with a gain (a ResNet basic block's second BatchNorm), that norm's gain, as
    torchvision's ``zero_init_residual`` and Goyal et al. (2017, *Accurate, large minibatch SGD*) do.
    Every other weight is drawn from ``base`` (default ``he_normal``); a model without marks (nor
    recognised blocks) gets ``base`` everywhere. At initialisation the residual stream is then the
    same after every block (SkipInit, De & Smith 2020; Zhang et al. 2019).
    Module-aware: ``init_`` on the whole model; this law is the base's, for an unmarked layer.

    >>> import initlab; initlab.scheme("zero_residual").std((10, 200))
    0.1
    """
    return _base(base, "zero_residual").law(shape)


# -- Fixup -------------------------------------------------------------------------------------


def _check_fixup(*, m: int) -> None:
    require(m == 0 or m >= 2, f"m={m} must be >= 2 layers per branch (or 0: counted from the marks)")


def fixup_scale(blocks: int, m: int) -> float:
    """Fixup's factor on the He std inside a branch: ``L^(-1/(2m-2))`` for ``L`` branches of ``m`` layers.

    >>> fixup_scale(16, 2), fixup_scale(64, 3)
    (0.25, 0.3535533905932738)
    """
    require(blocks >= 1, f"fixup needs at least one residual branch, got {blocks}")
    require(m >= 2, f"fixup needs m >= 2 weighted layers per branch, got {m}")
    return float(blocks ** (-1.0 / (2 * m - 2)))


def classifier(model: nn.Module) -> str | None:
    """The last Linear/ConvNd of ``model`` outside every marked residual block (``None`` if none)."""
    blocks = residual_blocks(model)
    outside = [
        n
        for n, mod in model.named_modules()
        if isinstance(mod, WEIGHTED) and not any(n == b or n.startswith(b + ".") for b in blocks)
    ]
    return outside[-1] if outside else None


def _fixup_rule(model: nn.Module, *, m: int) -> dict[str, Law]:
    found = branches(model)
    if not found:
        return {}  # no residual branch: He everywhere
    laws: dict[str, Law] = {}
    for br in found:
        if m and len(br.layers) != m:
            raise InitlabError(
                f"fixup(m={m}): the branch ending at {br.output!r} has {len(br.layers)} weighted layers"
            )
        if len(br.layers) >= 2:
            scale = fixup_scale(len(found), len(br.layers))
            for name in br.layers[:-1]:
                laws[f"{name}.weight"] = scaled(he_normal(_shape(model, name)), scale)
        laws[f"{br.output}.weight"] = Constant(0.0)
    head = classifier(model)
    if head is not None:
        laws[f"{head}.weight"] = Constant(0.0)
    return laws


@register_scheme(
    distribution="normal; 0 on branch outputs and the classifier",
    formula="sqrt(2 / fan_in) L^(-1/(2m-2)) inside the L branches of m layers",
    reference="Zhang, Dauphin & Ma 2019",
    needs_fans=True,
    check=_check_fixup,
    module_rule=_fixup_rule,
)
def fixup(shape: tuple[int, ...], *, m: int = 0) -> Law:
    """Fixup (Zhang, Dauphin & Ma 2019, *Fixup initialization: residual learning without normalization*).

    Inside each of the ``L`` marked residual branches of ``m`` weighted layers, He normal scaled by
    ``L^(-1/(2m-2))`` (std ``sqrt(2 / fan_in) L^(-1/(2m-2))``); the last layer of each branch and the
    classifier (the last weighted layer outside every block) set to zero; every other layer He normal.
    ``m=0`` counts each branch's layers from the marks (:func:`initlab.schemes.branches`; in a block of
    several branches, the layers after the previous branch's output); an explicit ``m`` must match
    them. A model without marks (nor recognised blocks) gets He normal everywhere. Fixup's
    scalar multipliers and biases are the family option ``resnet(..., norm=none, fixup=true)``.
    Module-aware: ``init_`` on the whole model; this law is He normal, for an unmarked layer.

    >>> import initlab; initlab.scheme("fixup").std((10, 200))
    0.1
    """
    return he_normal(shape)


# -- depth-scaled (GPT-2) ----------------------------------------------------------------------


def _check_depth_scaled(*, base: str, n: int) -> None:
    _base(base, "depth_scaled")
    require(n >= 0, f"n={n} must be >= 1 residual layers (or 0: counted from the marks)")


def _depth_scaled_rule(model: nn.Module, *, base: str, n: int) -> dict[str, Law]:
    outs = residual_outputs(model)
    if not outs:
        return {}  # no residual output: the base law everywhere
    count = n if n else len(outs)
    law = _base(base, "depth_scaled")
    factor = 1.0 / math.sqrt(count)
    return {f"{o}.weight": scaled(law.law(_shape(model, o)), factor) for o in outs}


@register_scheme(
    distribution="base law; residual outputs scaled",
    formula="base / sqrt(n), n residual layers, on residual-output projections",
    reference="Radford et al. 2019 (GPT-2); nanoGPT",
    needs_fans=False,
    check=_check_depth_scaled,
    module_rule=_depth_scaled_rule,
)
def depth_scaled(shape: tuple[int, ...], *, base: str = "normal(std=0.02)", n: int = 0) -> Law:
    """Any ``base`` scheme with the residual-output projections (the marked layers) scaled by ``1/sqrt(n)``.

    GPT-2 (Radford et al. 2019) "scales the weights of residual layers at initialization by a factor
    of 1/sqrt(N), where N is the number of residual layers"; nanoGPT draws every weight from
    ``normal(std=0.02)`` and its ``c_proj`` layers from ``normal(std=0.02 / sqrt(2 n_layer))``: the
    default here, with ``n`` (0: counted from the marks, two per transformer block) residual layers.
    The residual stream's variance then grows by about ``1 + 1/n`` per layer instead of doubling.
    A model without marks (nor recognised blocks) gets ``base`` everywhere.
    Module-aware: ``init_`` on the whole model; this law is the base's, for an unmarked layer.

    >>> import initlab; initlab.scheme("depth_scaled").std((64, 64))
    0.02
    """
    return _base(base, "depth_scaled").law(shape)


# -- delta-orthogonal --------------------------------------------------------------------------


def _check_gain(*, gain: float) -> None:
    require(gain > 0, f"gain={gain} must be > 0")


@register_scheme(
    distribution="delta orthogonal",
    formula="gain sqrt(min(out, in) / numel)",
    reference="Xiao et al. 2018",
    needs_fans=True,
    check=_check_gain,
)
def delta_orthogonal(shape: tuple[int, ...], *, gain: float = 1.0) -> Law:
    """Delta-orthogonal (Xiao et al. 2018, *Dynamical isometry and a mean field theory of CNNs*).

    A conv kernel ``(out, in, *k)`` is zero except ``gain`` times a (semi-)orthogonal ``(out, in)``
    matrix at the spatial centre (``k // 2`` on each axis): at initialisation the convolution is an
    orthogonal map of the channels at every position, so a deep linear conv net is an isometry (10,000
    layers trained in the paper, with tanh and ``gain`` near 1). A Linear weight gets a plain
    orthogonal matrix. Std ``gain sqrt(min(out, in) / numel)``.

    >>> import initlab; initlab.scheme("delta_orthogonal").sample((2, 2, 3, 3))[:, :, 0, 0].tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    return DeltaOrthogonal(gain, shape)
