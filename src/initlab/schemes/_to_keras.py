"""The catalogue in ``keras.initializers`` terms (Keras 3, any backend).

What the source says (``keras/src/initializers/random_initializers.py``):

- ``VarianceScaling(scale, mode, distribution)``: modes fan_in, fan_out, fan_avg (no fan_geo_avg);
  distributions ``"truncated_normal"`` (at +-2, divided by 0.87962566103423978),
  ``"untruncated_normal"`` and ``"uniform"`` (``U(+-sqrt(3 scale / n))``). **``"normal"`` is an alias
  of ``"truncated_normal"``**, so initlab's ``distribution=normal`` is Keras' ``untruncated_normal``.
  Fans (``compute_fans``): ``(in, out)`` for 2-D, ``shape[-2] * receptive`` and
  ``shape[-1] * receptive`` for conv kernels: initlab's fans for the same layer.
- ``LecunNormal``, ``HeNormal``, ``GlorotNormal`` are that truncated normal.
- ``TruncatedNormal(mean, stddev)`` truncates at ``mean +- 2 stddev`` (only there) without correction.
- ``Orthogonal(gain)``: a Haar-random ``(prod(shape[:-1]), shape[-1])`` matrix; ``Identity(gain)`` is
  2-D only.
"""

from __future__ import annotations

from collections.abc import Callable

from ..activations import activation
from ..core.spec import Value
from ._interop import Draft, num

P = dict[str, Value]
K = "keras.initializers"
_BIAS = f"{K}.Zeros()"
_DIST = {"normal": "untruncated_normal", "truncated_normal": "truncated_normal", "uniform": "uniform"}
_TRUNC = (
    "{fn}() is not the same: a normal truncated at +-2 sigma, sigma corrected by 1/0.87962566103423978 "
    "so that the std is the same; "
    "thinner tails (kurtosis 2.37, not 3; nothing beyond 2.27 std)"
)
_ALIAS = (
    'Keras reads distribution="normal" as "truncated_normal": the untruncated one is "untruncated_normal"'
)


def _vs(scale: float, mode: str, dist: str, *notes: str) -> Draft:
    if mode == "fan_geo_avg":
        note = (
            "no exact equivalent: Keras' VarianceScaling has no fan_geo_avg; for one layer with known "
            "fans, VarianceScaling(scale=scale * sqrt(fan_in / fan_out), mode='fan_in', ...) is the same law"
        )
        return Draft(None, False, (note,), bias=_BIAS)
    if dist == "normal":
        notes = (*notes, _ALIAS)
    code = f'{K}.VarianceScaling(scale={num(scale)}, mode="{mode}", distribution="{_DIST[dist]}")'
    return Draft(code, True, notes, bias=_BIAS)


def _uniform(q: P) -> Draft:
    code = f"{K}.RandomUniform(minval={num(float(q['a']))}, maxval={num(float(q['b']))})"
    return Draft(code, True, bias=_BIAS)


def _normal(q: P) -> Draft:
    code = f"{K}.RandomNormal(mean={num(float(q['mean']))}, stddev={num(float(q['std']))})"
    return Draft(code, True, bias=_BIAS)


def _trunc_normal(q: P) -> Draft:
    m, s, a, b = (float(q[k]) for k in ("mean", "std", "a", "b"))
    if a == -2.0 and b == 2.0:
        note = "Keras' TruncatedNormal truncates at mean +- 2 stddev, as trunc_normal's default a=-2, b=2"
        return Draft(f"{K}.TruncatedNormal(mean={num(m)}, stddev={num(s)})", True, (note,), bias=_BIAS)
    note = (
        f"no exact equivalent: Keras' TruncatedNormal always truncates at mean +- 2 stddev, here "
        f"a={a:g}, b={b:g}"
    )
    return Draft(None, False, (note,), bias=_BIAS)


def _xavier_uniform(q: P) -> Draft:
    gain = float(q["gain"])
    if gain == 1.0:
        return Draft(f"{K}.GlorotUniform()", True, bias=_BIAS)
    return _vs(gain**2, "fan_avg", "uniform", "GlorotUniform() has gain 1: scale = gain^2")


def _he(q: P, dist: str) -> Draft:
    mode, nl, slope = str(q["mode"]), str(q["nonlinearity"]), float(q["negative_slope"])
    act = activation(nl, negative_slope=slope) if nl == "leaky_relu" else activation(nl)
    scale = act.gain() ** 2
    if dist == "uniform" and mode == "fan_in" and num(scale) == "2.0":
        return Draft(f"{K}.HeUniform()", True, bias=_BIAS)
    notes = [f"scale = gain^2 = {num(scale)} ({nl}'s gain in initlab, PyTorch's table where it has one)"]
    if dist == "normal":
        notes.append(_TRUNC.format(fn="HeNormal"))
    return _vs(scale, mode, dist, *notes)


def _orthogonal(q: P) -> Draft:
    note = (
        "orthonormal over the last (out) axis: the transpose of torch's (out, in * kernel) matrix; "
        "a Haar-random matrix and its transpose have the same law"
    )
    return Draft(f"{K}.Orthogonal(gain={num(float(q['gain']))})", True, (note,), bias=_BIAS)


def _identity(q: P) -> Draft:
    note = "Keras' Identity is 2-D only (Dense kernels); Keras has no Dirac initializer for conv kernels"
    return Draft(f"{K}.Identity()", True, (note,), bias=_BIAS)


def _sparse(q: P) -> Draft:
    return Draft(None, False, ("no exact equivalent: Keras has no sparse initializer",), bias=_BIAS)


def _torch_default(q: P) -> Draft:
    notes = (
        "U(+-1/sqrt(fan_in)): sqrt(3 * (1/3) / fan_in) = 1/sqrt(fan_in)",
        "the bias: PyTorch draws it U(+-1/sqrt(fan_in)) with the kernel's fan_in, which a Keras bias "
        "initializer does not see: bias_initializer=keras.initializers.RandomUniform(-1 / math.sqrt(fan_in), "
        "1 / math.sqrt(fan_in)) with this layer's fan_in",
        "Keras' own default (Dense) is GlorotUniform() with zero biases, not PyTorch's",
    )
    code = f'{K}.VarianceScaling(scale=1 / 3, mode="fan_in", distribution="uniform")'
    return Draft(code, True, notes, bias=None)


def _variance(q: P) -> Draft:
    w, b = float(q["w"]), float(q["b"])
    code = f'{K}.VarianceScaling(scale={num(w)}, mode="fan_in", distribution="untruncated_normal")'
    bias = f"{K}.RandomNormal(mean=0.0, stddev={num(b**0.5)})" if b > 0 else _BIAS
    return Draft(code, True, ("sigma_w^2 = w, sigma_b^2 = b: the bias initializer draws N(0, b)",), bias=bias)


RULES: dict[str, Callable[[P], Draft]] = {
    "zeros": lambda q: Draft(f"{K}.Zeros()", True, bias=_BIAS),
    "ones": lambda q: Draft(f"{K}.Ones()", True, bias=_BIAS),
    "constant": lambda q: Draft(f"{K}.Constant(value={num(float(q['value']))})", True, bias=_BIAS),
    "uniform": _uniform,
    "normal": _normal,
    "trunc_normal": _trunc_normal,
    "variance_scaling": lambda q: _vs(float(q["scale"]), str(q["mode"]), str(q["distribution"])),
    "xavier_uniform": _xavier_uniform,
    "xavier_normal": lambda q: _vs(
        float(q["gain"]) ** 2, "fan_avg", "normal", _TRUNC.format(fn="GlorotNormal")
    ),
    "lecun_uniform": lambda q: Draft(f"{K}.LecunUniform()", True, bias=_BIAS),
    "lecun_normal": lambda q: _vs(1.0, "fan_in", "normal", _TRUNC.format(fn="LecunNormal")),
    "he_uniform": lambda q: _he(q, "uniform"),
    "he_normal": lambda q: _he(q, "normal"),
    "orthogonal": _orthogonal,
    "identity": _identity,
    "sparse": _sparse,
    "torch_default": _torch_default,
    "variance": _variance,
}
