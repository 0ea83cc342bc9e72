"""The scheme catalogue. Each function states, for a weight shape, the exact law of its entries.

Docstrings give the distribution, the formula and the paper; the doctests are run by the test suite.
Conventions: ``fan_in``/``fan_out`` as in :mod:`._fans`; ``n`` is the fan selected by ``mode``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from ..activations import activation
from ._fans import FanMode, fan, fans
from ._laws import Constant, Identity, Law, Normal, Orthogonal, Sparse, TruncatedNormal, Uniform
from ._laws import truncated_normal_std as std_of_truncated
from ._registry import register_scheme, require

Distribution = Literal["normal", "truncated_normal", "uniform"]
_SQRT3 = math.sqrt(3.0)


def _positive(name: str) -> Callable[..., None]:
    def check(**p: float) -> None:
        require(p[name] > 0, f"{name}={p[name]} must be > 0")

    return check


# -- constants ---------------------------------------------------------------------------------


@register_scheme(distribution="constant", formula="0", reference="-", needs_fans=False)
def zeros(shape: tuple[int, ...]) -> Law:
    """All zeros. Every unit computes the same thing: the symmetry the study warns about.

    >>> import initlab; initlab.scheme("zeros").std((3, 4))
    0.0
    """
    return Constant(0.0)


@register_scheme(distribution="constant", formula="0", reference="-", needs_fans=False)
def ones(shape: tuple[int, ...]) -> Law:
    """All ones.

    >>> import initlab; float(initlab.scheme("ones").sample((2, 2)).sum())
    4.0
    """
    return Constant(1.0)


@register_scheme(distribution="constant", formula="0", reference="-", needs_fans=False)
def constant(shape: tuple[int, ...], *, value: float = 0.5) -> Law:
    """Every entry equals ``value`` (default 0.5).

    >>> import initlab; initlab.scheme("constant(value=0.5)").sample((1, 3)).tolist()
    [[0.5, 0.5, 0.5]]
    """
    return Constant(value)


# -- plain distributions -----------------------------------------------------------------------


def _check_uniform(*, a: float, b: float) -> None:
    require(a < b, f"uniform needs a < b, got a={a}, b={b}")


@register_scheme(
    distribution="uniform",
    formula="(b - a) / sqrt(12)",
    reference="-",
    needs_fans=False,
    check=_check_uniform,
)
def uniform(shape: tuple[int, ...], *, a: float = 0.0, b: float = 1.0) -> Law:
    """``U(a, b)``; std ``(b - a) / sqrt(12)``. Same values as ``torch.nn.init.uniform_``.

    >>> import initlab; round(initlab.scheme("uniform(a=-2, b=2)").std((10, 10)), 4)
    1.1547
    """
    return Uniform(a, b)


@register_scheme(
    distribution="normal", formula="std", reference="-", needs_fans=False, check=_positive("std")
)
def normal(shape: tuple[int, ...], *, mean: float = 0.0, std: float = 1.0) -> Law:
    """``N(mean, std^2)``. The study's ``std=1`` and ``std=0.01`` cases. Same values as ``normal_``.

    >>> import initlab; initlab.scheme("normal(std=0.01)").std((100, 100))
    0.01
    """
    return Normal(std, mean)


def _check_trunc(*, mean: float, std: float, a: float, b: float) -> None:
    require(std > 0, f"std={std} must be > 0")
    require(a < b, f"trunc_normal needs a < b (in units of std), got a={a}, b={b}")


@register_scheme(
    distribution="truncated normal",
    formula="std * sqrt(1 + (a phi(a) - b phi(b))/Z - ((phi(a) - phi(b))/Z)^2)",
    reference="-",
    needs_fans=False,
    check=_check_trunc,
)
def trunc_normal(
    shape: tuple[int, ...], *, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Law:
    """``N(mean, std^2)`` truncated to ``[mean + a*std, mean + b*std]``: **bounds in units of std**.

    ``torch.nn.init.trunc_normal_`` takes *absolute* bounds (default ``a=-2, b=2``), so
    ``trunc_normal_(w, std=0.02)`` truncates at +-100 std, i.e. not at all; here
    ``trunc_normal(std=0.02)`` truncates at +-2 std. The entries' std is ``std`` times the std of a
    standard normal truncated to ``[a, b]`` (``Z = Phi(b) - Phi(a)``), 0.8796 for +-2.

    >>> import initlab; round(initlab.scheme("trunc_normal(std=1)").std((10, 10)), 4)
    0.8796
    """
    return TruncatedNormal(scale=std, low=mean + a * std, high=mean + b * std, loc=mean)


# -- variance scaling --------------------------------------------------------------------------


def _vs_law(std: float, distribution: str) -> Law:
    if distribution == "normal":
        return Normal(std)
    if distribution == "uniform":
        bound = _SQRT3 * std
        return Uniform(-bound, bound)
    # truncated at +-2 parent sigmas, parent sigma enlarged so that the entries' std is `std`
    sigma = std / std_of_truncated(-2.0, 2.0)
    return TruncatedNormal(scale=sigma, low=-2.0 * sigma, high=2.0 * sigma)


def _check_vs(*, scale: float, mode: str, distribution: str) -> None:
    require(scale > 0, f"scale={scale} must be > 0")


@register_scheme(
    distribution="normal | truncated normal | uniform",
    formula="sqrt(scale / n), n by mode",
    reference="Klambauer et al. 2017 / TensorFlow VarianceScaling",
    needs_fans=True,
    check=_check_vs,
)
def variance_scaling(
    shape: tuple[int, ...],
    *,
    scale: float = 1.0,
    mode: FanMode = "fan_in",
    distribution: Distribution = "truncated_normal",
) -> Law:
    """Entries with std ``sqrt(scale / n)``; ``n`` by ``mode``: fan_in, fan_out, their mean or geometric mean.

    ``truncated_normal`` truncates at +-2 parent sigmas and divides the parent sigma by 0.8796 (the
    std of a standard normal truncated to +-2) so the entries' std is exactly ``sqrt(scale / n)``, as
    in TensorFlow/JAX. ``uniform`` uses bounds ``+-sqrt(3 scale / n)``. Every Glorot/He/LeCun scheme
    is a special case (e.g. he_normal = variance_scaling(scale=2, distribution=normal)).

    >>> import initlab; initlab.scheme("variance_scaling(scale=2, mode=fan_in)").std((50, 200))
    0.1
    """
    return _vs_law(math.sqrt(scale / fan(shape, mode)), distribution)


def _check_variance(*, w: float, b: float) -> None:
    require(w > 0, f"w={w} (sigma_w^2) must be > 0")
    require(b >= 0, f"b={b} (sigma_b^2) must be >= 0")


def _variance_bias(shape: tuple[int, ...], *, w: float = 1.0, b: float = 0.0) -> Law | None:
    return Normal(math.sqrt(b)) if b > 0 else None  # b = 0: zero biases, as every other scheme


@register_scheme(
    distribution="normal",
    formula="sqrt(w / fan_in); bias sqrt(b)",
    reference="Poole et al. 2016; Schoenholz et al. 2017",
    needs_fans=True,
    check=_check_variance,
    bias=_variance_bias,
)
def variance(shape: tuple[int, ...], *, w: float = 1.0, b: float = 0.0) -> Law:
    """Mean-field parameters given directly: weights ``N(0, w / fan_in)``, biases ``N(0, b)``.

    ``w`` is ``sigma_w^2`` and ``b`` is ``sigma_b^2`` as Poole et al. (2016), *Exponential expressivity
    in deep neural networks through transient chaos*, and Schoenholz et al. (2017), *Deep information
    propagation*, write them: the pre-activation variance map is ``q_l = w E[phi(z)^2] + b``. The
    phase diagrams of those papers are grids of ``variance(w=..., b=...)``. ``b = 0`` zeroes the
    biases (and draws nothing for them), so ``variance(w=2)`` is ``he_normal`` and ``variance(w=1)``
    is ``lecun_normal``, value for value.

    >>> import initlab; s = initlab.scheme("variance(w=2, b=0.05)")
    >>> s.std((10, 200)), round(s.bias_law((10, 200)).std ** 2, 12)
    (0.1, 0.05)
    """
    return Normal(math.sqrt(w / fans(shape)[0]))


def _check_gain(*, gain: float) -> None:
    require(gain > 0, f"gain={gain} must be > 0")


@register_scheme(
    distribution="uniform",
    formula="gain * sqrt(2 / (fan_in + fan_out))",
    reference="Glorot & Bengio 2010",
    needs_fans=True,
    check=_check_gain,
)
def xavier_uniform(shape: tuple[int, ...], *, gain: float = 1.0) -> Law:
    """Glorot uniform: ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Glorot & Bengio (2010), *Understanding the difficulty of training deep feedforward neural networks*.
    Same values as ``torch.nn.init.xavier_uniform_``.

    >>> import initlab; initlab.scheme("xavier_uniform").std((100, 100))
    0.1
    """
    return _vs_law(gain * math.sqrt(2.0 / sum(fans(shape))), "uniform")


@register_scheme(
    distribution="normal",
    formula="gain * sqrt(2 / (fan_in + fan_out))",
    reference="Glorot & Bengio 2010",
    needs_fans=True,
    check=_check_gain,
)
def xavier_normal(shape: tuple[int, ...], *, gain: float = 1.0) -> Law:
    """Glorot normal: ``N(0, gain^2 * 2 / (fan_in + fan_out))`` (Glorot & Bengio 2010).

    This is the *true* Glorot init; the classic textbook study's "Xavier" is :func:`lecun_normal`.

    >>> import initlab; initlab.scheme("xavier_normal").std((100, 100))
    0.1
    """
    return _vs_law(gain * math.sqrt(2.0 / sum(fans(shape))), "normal")


@register_scheme(
    distribution="uniform", formula="1 / sqrt(fan_in)", reference="LeCun et al. 1998", needs_fans=True
)
def lecun_uniform(shape: tuple[int, ...]) -> Law:
    """LeCun uniform: ``U(-sqrt(3 / fan_in), sqrt(3 / fan_in))``, std ``1 / sqrt(fan_in)``.

    LeCun, Bottou, Orr & Mueller (1998), *Efficient BackProp*.

    >>> import initlab; initlab.scheme("lecun_uniform").std((10, 100))
    0.1
    """
    return _vs_law(1.0 / math.sqrt(fans(shape)[0]), "uniform")


@register_scheme(
    distribution="normal", formula="1 / sqrt(fan_in)", reference="LeCun et al. 1998", needs_fans=True
)
def lecun_normal(shape: tuple[int, ...]) -> Law:
    """LeCun normal: ``N(0, 1 / fan_in)`` (LeCun et al. 1998, *Efficient BackProp*).

    **This is what the classic textbook study calls "Xavier"** (std ``1/sqrt(n)`` with ``n`` the
    number of inputs). Glorot & Bengio's own rule averages fan_in and fan_out: :func:`xavier_normal`.
    With SELU it is the init of self-normalising networks (Klambauer et al. 2017).

    >>> import initlab; initlab.scheme("Xavier: lecun_normal").std((100, 100))
    0.1
    """
    return _vs_law(1.0 / math.sqrt(fans(shape)[0]), "normal")


def _he_std(shape: tuple[int, ...], mode: str, nonlinearity: str, negative_slope: float) -> float:
    act = (
        activation(nonlinearity, negative_slope=negative_slope)
        if nonlinearity == "leaky_relu"
        else activation(nonlinearity)
    )
    return act.gain() / math.sqrt(fan(shape, "fan_in" if mode == "fan_in" else "fan_out"))


def _check_he(*, mode: str, nonlinearity: str, negative_slope: float) -> None:
    activation(nonlinearity)  # unknown names raise with suggestions
    require(negative_slope >= 0, f"negative_slope={negative_slope} must be >= 0")


@register_scheme(
    distribution="uniform",
    formula="gain / sqrt(n), gain = sqrt(2) for relu",
    reference="He et al. 2015",
    needs_fans=True,
    check=_check_he,
)
def he_uniform(
    shape: tuple[int, ...],
    *,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    nonlinearity: str = "relu",
    negative_slope: float = 0.0,
) -> Law:
    """He (Kaiming) uniform: ``U(-b, b)``, ``b = sqrt(3) * gain / sqrt(n)``, ``n`` = fan_in or fan_out.

    He, Zhang, Ren & Sun (2015), *Delving Deep into Rectifiers*. ``gain`` is
    ``gain(nonlinearity)`` of :mod:`initlab.activations` (sqrt 2 for relu, sqrt(2 / (1 + slope^2))
    for leaky_relu).
    Same values as ``torch.nn.init.kaiming_uniform_(nonlinearity="relu")``.

    >>> import initlab; round(initlab.scheme("he_uniform").std((10, 200)), 4)
    0.1
    """
    return _vs_law(_he_std(shape, mode, nonlinearity, negative_slope), "uniform")


@register_scheme(
    distribution="normal",
    formula="gain / sqrt(n), gain = sqrt(2) for relu",
    reference="He et al. 2015",
    needs_fans=True,
    check=_check_he,
)
def he_normal(
    shape: tuple[int, ...],
    *,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    nonlinearity: str = "relu",
    negative_slope: float = 0.0,
) -> Law:
    """He (Kaiming) normal: ``N(0, gain^2 / n)``, ``gain = sqrt(2)`` for ReLU, ``n`` = fan_in or fan_out.

    He, Zhang, Ren & Sun (2015), *Delving Deep into Rectifiers*. Keeps the second moment of ReLU
    pre-activations constant with depth. Same values as ``torch.nn.init.kaiming_normal_``.

    >>> import initlab; round(initlab.scheme("he_normal").std((10, 200)), 4)
    0.1
    """
    return _vs_law(_he_std(shape, mode, nonlinearity, negative_slope), "normal")


# -- structured --------------------------------------------------------------------------------


@register_scheme(
    distribution="orthogonal",
    formula="gain / sqrt(max(rows, cols))",
    reference="Saxe et al. 2014",
    needs_fans=True,
    check=_check_gain,
)
def orthogonal(shape: tuple[int, ...], *, gain: float = 1.0) -> Law:
    """A (semi-)orthogonal matrix times ``gain``, from the QR decomposition of a Gaussian matrix.

    Saxe, McClelland & Ganguli (2014), *Exact solutions to the nonlinear dynamics of learning in
    deep linear neural networks*. Conv weights are flattened to ``(out, in * kernel)``. Every entry's
    square sums to ``gain^2 * min(rows, cols)``, so the std is ``gain / sqrt(max(rows, cols))``.
    Same values as ``torch.nn.init.orthogonal_``.

    >>> import initlab; initlab.scheme("orthogonal").std((100, 400))
    0.05
    """
    return Orthogonal(gain, shape)


@register_scheme(
    distribution="identity",
    formula="sqrt(p (1 - p)), p = min(out, in) / numel",
    reference="Le et al. 2015 (IRNN)",
    needs_fans=True,
)
def identity(shape: tuple[int, ...]) -> Law:
    """Identity for 2-D weights (``torch.nn.init.eye_``), Dirac delta for conv weights (``dirac_``).

    Preserves the input exactly in a linear network (Le, Jaitly & Hinton 2015 use it for RNNs).
    Entries are 0/1 with ``p = min(out, in) / numel`` ones: std ``sqrt(p (1 - p))``.

    >>> import initlab; initlab.scheme("identity").sample((2, 2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return Identity(shape)


def _check_sparse(*, sparsity: float, std: float) -> None:
    require(0 <= sparsity <= 1, f"sparsity={sparsity} must be in [0, 1]")
    require(std > 0, f"std={std} must be > 0")


@register_scheme(
    distribution="sparse normal",
    formula="std * sqrt(1 - ceil(sparsity * rows) / rows)",
    reference="Martens 2010",
    needs_fans=True,
    check=_check_sparse,
)
def sparse(shape: tuple[int, ...], *, sparsity: float = 0.1, std: float = 0.01) -> Law:
    """Each column has ``ceil(sparsity * rows)`` zeros, the rest ``N(0, std^2)`` (``torch.nn.init.sparse_``).

    Martens (2010), *Deep learning via Hessian-free optimization*. 2-D weights only.

    >>> import initlab; round(initlab.scheme("sparse(sparsity=0.5, std=1)").std((10, 4)), 4)
    0.7071
    """
    return Sparse(sparsity, std, shape)


def _torch_default_bias(shape: tuple[int, ...]) -> Law:
    bound = 1.0 / math.sqrt(fans(shape)[0]) if fans(shape)[0] > 0 else 0.0
    return Uniform(-bound, bound)


@register_scheme(
    distribution="uniform",
    formula="1 / sqrt(3 fan_in)",
    reference="PyTorch nn.Linear / nn.ConvNd reset_parameters",
    needs_fans=True,
    bias=_torch_default_bias,
)
def torch_default(shape: tuple[int, ...]) -> Law:
    """PyTorch's default for ``nn.Linear``/``nn.ConvNd``: weight and bias ``U(+-1/sqrt(fan_in))``.

    PyTorch writes it as ``kaiming_uniform_(w, a=sqrt(5))``: gain ``sqrt(2 / (1 + 5)) = 1/sqrt(3)``, so
    the bound is ``sqrt(3) * gain / sqrt(fan_in) = 1 / sqrt(fan_in)`` and the std ``1 / sqrt(3 fan_in)``
    -- a third of LeCun's variance, which in a deep ReLU stack shrinks the pre-activation variance
    about 6x per layer. With ``variance(b > 0)``, one of two schemes that also initialise biases.

    >>> import initlab; round(initlab.scheme("torch_default").std((10, 100)), 4)
    0.0577
    """
    return _torch_default_bias(shape)
