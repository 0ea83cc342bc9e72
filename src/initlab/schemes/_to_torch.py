"""The catalogue in ``torch.nn.init`` terms: the call that reproduces each scheme, value for value.

The code fills a weight ``w`` (``(out, in)`` or ``(out, in/groups, *kernel)``) in place and repeats
initlab's arithmetic, so that with the same generator state (``torch.manual_seed(s)`` here,
``generator=torch.Generator().manual_seed(s)`` in initlab) the values are bit-identical to
:func:`initlab.init_` wherever ``same_values`` says so. Where ``torch.nn.init`` has the rule
(``xavier_*``, ``kaiming_*``, ``orthogonal_``, ...) the code calls it; where it does not
(``variance_scaling``, gains that ``calculate_gain`` lacks) the code computes the fans itself with
torch's convention: ``fan_in = w[0].numel()``, ``fan_out = w.shape[0] * w[0, 0].numel()``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..activations import activation
from ..core.spec import Value
from ._interop import Draft, exact_num
from ._laws import truncated_normal_std

P = dict[str, Value]
NN = "torch.nn.init"
_CALC_GAIN = frozenset(
    {"linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"}
)  #: torch.nn.init.calculate_gain
_FAN = {
    "fan_in": "fan_in = w[0].numel()  # in/groups * kernel",
    "fan_out": "fan_out = w.shape[0] * w[0, 0].numel()  # out * kernel",
}
_ZERO_BIAS = f"{NN}.zeros_(b)"


def _fans(mode: str) -> tuple[list[str], str]:
    """Lines computing the fan of ``mode`` the way :func:`initlab.schemes.fan` does, and its name."""
    if mode in _FAN:
        return [_FAN[mode]], f"float({mode})"
    both = [_FAN["fan_in"], _FAN["fan_out"]]
    if mode == "fan_avg":
        return [*both, "fan = (fan_in + fan_out) / 2.0"], "fan"
    return [*both, "fan = math.sqrt(fan_in * fan_out)"], "fan"


def _draw(std_expr: str, distribution: str) -> list[str]:
    """Lines drawing ``w`` with std ``std_expr`` the way ``_vs_law`` does."""
    if distribution == "normal":
        return [f"{NN}.normal_(w, 0.0, {std_expr})"]
    if distribution == "uniform":
        return [f"bound = math.sqrt(3.0) * {std_expr}", f"{NN}.uniform_(w, -bound, bound)"]
    c = exact_num(truncated_normal_std(-2.0, 2.0))
    return [
        f"sigma = {std_expr} / {c}  # parent sigma: the std of N(0, 1) truncated to +-2 is {c}",
        f"{NN}.trunc_normal_(w, 0.0, sigma, -2.0 * sigma, 2.0 * sigma)",
    ]


def _constant(p: P) -> Draft:
    return Draft(
        f"{NN}.constant_(w, {exact_num(float(p['value']))})", True, same_values=True, bias=_ZERO_BIAS
    )


def _uniform(p: P) -> Draft:
    a, b = exact_num(float(p["a"])), exact_num(float(p["b"]))
    return Draft(f"{NN}.uniform_(w, a={a}, b={b})", True, same_values=True, bias=_ZERO_BIAS)


def _normal(p: P) -> Draft:
    m, s = exact_num(float(p["mean"])), exact_num(float(p["std"]))
    return Draft(f"{NN}.normal_(w, mean={m}, std={s})", True, same_values=True, bias=_ZERO_BIAS)


def _trunc_normal(p: P) -> Draft:
    m, s, a, b = (float(p[k]) for k in ("mean", "std", "a", "b"))
    lo, hi = m + a * s, m + b * s
    mean = f"mean={exact_num(m)}, " if m != 0 else ""
    code = f"{NN}.trunc_normal_(w, {mean}std={exact_num(s)}, a={exact_num(lo)}, b={exact_num(hi)})"
    note = (
        f"torch's a and b are absolute bounds, initlab's are in units of std: "
        f"trunc_normal(a={a:g}, b={b:g}) is a={lo:.6g}, b={hi:.6g} here"
    )
    if s != 1.0:
        note += f" (`trunc_normal_(w, std={s:g})` alone truncates at +-2 absolute: +-{2 / s:.4g} std)"
    notes = [note]
    if a <= 2.0 and b >= -2.0:
        return Draft(code, True, tuple(notes), same_values=True, bias=_ZERO_BIAS)
    notes.append(
        "the interval lies entirely beyond 2 std from the mean, where trunc_normal_'s inverse-CDF "
        "sampler loses the distribution in float32 (at 8 std every value lands on a bound; torch warns "
        "'The distribution of values may be incorrect'); initlab draws it by an inverse CDF in logs: "
        "no exact torch.nn.init equivalent"
    )
    return Draft(code, False, tuple(notes), bias=_ZERO_BIAS)


def _variance_scaling(p: P) -> Draft:
    scale, mode, dist = float(p["scale"]), str(p["mode"]), str(p["distribution"])
    lines, fan = _fans(mode)
    code = "\n".join([*lines, *_draw(f"math.sqrt({exact_num(scale)} / {fan})", dist)])
    note = "torch.nn.init has no variance_scaling: the fans are computed as torch computes them"
    return Draft(code, True, (note,), same_values=True, bias=_ZERO_BIAS)


def _xavier(p: P, fn: str) -> Draft:
    gain = float(p["gain"])
    arg = "" if gain == 1.0 else f", gain={exact_num(gain)}"
    return Draft(f"{NN}.{fn}(w{arg})", True, same_values=True, bias=_ZERO_BIAS)


def _lecun(fn: str) -> Draft:
    note = "torch.nn.init has no lecun_*: LeCun is Kaiming with gain 1 (nonlinearity='linear')"
    return Draft(f'{NN}.{fn}(w, nonlinearity="linear")', True, (note,), same_values=True, bias=_ZERO_BIAS)


def _he(p: P, distribution: str) -> Draft:
    mode, nl, slope = str(p["mode"]), str(p["nonlinearity"]), float(p["negative_slope"])
    if nl in _CALC_GAIN:
        args = ["w"]
        if nl == "leaky_relu" and slope != 0.0:
            args.append(f"a={exact_num(slope)}")
        if mode != "fan_in":
            args.append(f'mode="{mode}"')
        args.append(f'nonlinearity="{nl}"')
        fn = "kaiming_normal_" if distribution == "normal" else "kaiming_uniform_"
        return Draft(f"{NN}.{fn}({', '.join(args)})", True, same_values=True, bias=_ZERO_BIAS)
    gain = activation(nl).gain()
    lines, fan = _fans(mode)
    code = "\n".join([*lines, *_draw(f"{exact_num(gain)} / math.sqrt({fan})", distribution)])
    note = (
        f"torch.nn.init.calculate_gain has no {nl!r}: {exact_num(gain)} is initlab's variance-preserving "
        f"gain 1/sqrt(E[{nl}(z)^2]), z ~ N(0, 1), written out"
    )
    return Draft(code, True, (note,), same_values=True, bias=_ZERO_BIAS)


def _orthogonal(p: P) -> Draft:
    gain = float(p["gain"])
    arg = "" if gain == 1.0 else f", gain={exact_num(gain)}"
    return Draft(f"{NN}.orthogonal_(w{arg})", True, same_values=True, bias=_ZERO_BIAS)


def _identity(p: P) -> Draft:
    code = f"{NN}.eye_(w) if w.dim() == 2 else {NN}.dirac_(w)"
    return Draft(code, True, ("eye_ for Linear weights, dirac_ for conv weights",), True, _ZERO_BIAS)


def _sparse(p: P) -> Draft:
    code = f"{NN}.sparse_(w, sparsity={exact_num(float(p['sparsity']))}, std={exact_num(float(p['std']))})"
    note = (
        "the same law, other values: torch's sparse_ draws its zero positions with torch.randperm from "
        "the global RNG even when given generator=; initlab draws them from its generator"
    )
    return Draft(code, True, (note,), bias=_ZERO_BIAS)


def _torch_default(p: P) -> Draft:
    code = f"bound = 1.0 / math.sqrt(w[0].numel())  # 1 / sqrt(fan_in)\n{NN}.uniform_(w, -bound, bound)"
    note = (
        "what nn.Linear / nn.ConvNd's reset_parameters draw: kaiming_uniform_(w, a=math.sqrt(5)) is "
        "U(+-1/sqrt(fan_in)) too, with a bound rounded differently (same law, not always the same bits)"
    )
    return Draft(code, True, (note,), same_values=True, bias=f"{NN}.uniform_(b, -bound, bound)")


def _variance(p: P) -> Draft:
    w, b = float(p["w"]), float(p["b"])
    lines, fan = _fans("fan_in")
    code = "\n".join([*lines, *_draw(f"math.sqrt({exact_num(w)} / {fan})", "normal")])
    bias = f"{NN}.normal_(b, 0.0, math.sqrt({exact_num(b)}))" if b > 0 else _ZERO_BIAS
    note = "sigma_w^2 = w, sigma_b^2 = b: the weight is variance_scaling(w, fan_in, normal), the bias N(0, b)"
    return Draft(code, True, (note,), same_values=True, bias=bias)


RULES: dict[str, Callable[[P], Draft]] = {
    "zeros": lambda p: Draft(f"{NN}.zeros_(w)", True, same_values=True, bias=_ZERO_BIAS),
    "ones": lambda p: Draft(f"{NN}.ones_(w)", True, same_values=True, bias=_ZERO_BIAS),
    "constant": _constant,
    "uniform": _uniform,
    "normal": _normal,
    "trunc_normal": _trunc_normal,
    "variance_scaling": _variance_scaling,
    "xavier_uniform": lambda p: _xavier(p, "xavier_uniform_"),
    "xavier_normal": lambda p: _xavier(p, "xavier_normal_"),
    "lecun_uniform": lambda p: _lecun("kaiming_uniform_"),
    "lecun_normal": lambda p: _lecun("kaiming_normal_"),
    "he_uniform": lambda p: _he(p, "uniform"),
    "he_normal": lambda p: _he(p, "normal"),
    "orthogonal": _orthogonal,
    "identity": _identity,
    "sparse": _sparse,
    "torch_default": _torch_default,
    "variance": _variance,
}
