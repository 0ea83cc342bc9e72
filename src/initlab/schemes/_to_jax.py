"""The catalogue in ``jax.nn.initializers`` terms (Flax re-exports them as ``flax.linen.initializers``).

What the source says (``jax/_src/nn/initializers.py``):

- ``variance_scaling(scale, mode, distribution)``: std ``sqrt(scale / n)``, ``n`` by mode (fan_in,
  fan_out, fan_avg, fan_geo_avg, as initlab); ``"truncated_normal"`` truncates at +-2 and divides by
  0.87962566103423978 (the std of N(0, 1) truncated to +-2), ``"normal"`` is untruncated,
  ``"uniform"`` is ``U(+-sqrt(3 scale / n))``. Fans from ``in_axis=-2``, ``out_axis=-1``, the rest
  the receptive field: a kernel ``(in, out)`` or HWIO has initlab's fans for the same layer.
- ``lecun_normal``, ``he_normal``, ``glorot_normal`` are that *truncated* normal, so none equals
  initlab's untruncated namesake (same std, thinner tails: nothing beyond 2.27 std).
- ``uniform(scale)`` is ``U[0, scale)``; ``normal(stddev)`` has mean 0; ``truncated_normal(stddev,
  lower, upper)`` truncates at ``lower``/``upper`` *in units of stddev* and does not correct the std.
- ``orthogonal(scale, column_axis=-1)``: a Haar-random (semi-)orthogonal ``(prod(others), out)``
  matrix, the transpose of torch's ``(out, in * kernel)``: the same law for the same layer.

Where JAX has no initializer for a law the code is a plain function of ``(key, shape, dtype)``,
which is all a JAX initializer is.
"""

from __future__ import annotations

from collections.abc import Callable

from ..activations import activation
from ..core.spec import Value
from ._interop import Draft, num

P = dict[str, Value]
_SIG = "lambda key, shape, dtype=jnp.float32: "
TRUNCATED = (
    "{p}.{fn}() is not the same: a normal truncated at +-2 sigma, sigma corrected by 1/0.87962566103423978 "
    "so that the std is the same; thinner tails (kurtosis 2.37, not 3; nothing beyond 2.27 std)"
)


class Rules:
    """The rules for one namespace: ``jax.nn.initializers`` or ``flax.linen.initializers``."""

    def __init__(self, prefix: str, zeros: str, ones: str) -> None:
        self.p, self.zeros, self.ones = prefix, zeros, ones

    def bias(self) -> str:
        return self.zeros

    def vs(self, scale: float, mode: str, dist: str, *notes: str) -> Draft:
        code = f'{self.p}.variance_scaling({num(scale)}, "{mode}", "{dist}")'
        return Draft(code, True, notes, bias=self.bias())

    def table(self) -> dict[str, Callable[[P], Draft]]:
        p = self.p
        return {
            "zeros": lambda q: Draft(self.zeros, True, bias=self.bias()),
            "ones": lambda q: Draft(self.ones, True, bias=self.bias()),
            "constant": lambda q: Draft(f"{p}.constant({num(float(q['value']))})", True, bias=self.bias()),
            "uniform": self.uniform,
            "normal": self.normal,
            "trunc_normal": self.trunc_normal,
            "variance_scaling": lambda q: self.vs(float(q["scale"]), str(q["mode"]), str(q["distribution"])),
            "xavier_uniform": self.xavier_uniform,
            "xavier_normal": lambda q: self.vs(
                float(q["gain"]) ** 2, "fan_avg", "normal", TRUNCATED.format(p=p, fn="glorot_normal")
            ),
            "lecun_uniform": lambda q: Draft(f"{p}.lecun_uniform()", True, bias=self.bias()),
            "lecun_normal": lambda q: self.vs(
                1.0, "fan_in", "normal", TRUNCATED.format(p=p, fn="lecun_normal")
            ),
            "he_uniform": lambda q: self.he(q, "uniform"),
            "he_normal": lambda q: self.he(q, "normal"),
            "orthogonal": self.orthogonal,
            "identity": self.identity,
            "sparse": self.sparse,
            "torch_default": self.torch_default,
            "variance": self.variance,
        }

    def uniform(self, q: P) -> Draft:
        a, b = float(q["a"]), float(q["b"])
        if a == 0.0:
            return Draft(f"{self.p}.uniform(scale={num(b)})", True, bias=self.bias())
        code = f"{_SIG}jax.random.uniform(key, shape, dtype, minval={num(a)}, maxval={num(b)})"
        note = f"{self.p}.uniform(scale) draws from [0, scale) only"
        return Draft(code, True, (note,), bias=self.bias())

    def normal(self, q: P) -> Draft:
        m, s = float(q["mean"]), float(q["std"])
        if m == 0.0:
            return Draft(f"{self.p}.normal(stddev={num(s)})", True, bias=self.bias())
        code = f"{_SIG}{num(m)} + {num(s)} * jax.random.normal(key, shape, dtype)"
        return Draft(code, True, (f"{self.p}.normal has mean 0 only",), bias=self.bias())

    def trunc_normal(self, q: P) -> Draft:
        m, s, a, b = (float(q[k]) for k in ("mean", "std", "a", "b"))
        bounds = f"lower={num(a)}, upper={num(b)}"
        if m == 0.0:
            code = f"{self.p}.truncated_normal(stddev={num(s)}, {bounds})"
        else:
            draw = f"jax.random.truncated_normal(key, {num(a)}, {num(b)}, shape, dtype)"
            code = f"{_SIG}{num(m)} + {num(s)} * {draw}"
        notes = [
            "JAX's lower/upper are in units of stddev, as initlab's a/b, and stddev is the parent sigma "
            "(no correction), as initlab's std"
        ]
        if a <= 2.0 and b >= -2.0:
            return Draft(code, True, tuple(notes), bias=self.bias())
        notes.append(
            "the interval lies entirely beyond 2 std from the mean, where jax.random.truncated_normal's "
            "inverse-CDF sampler (erf/erfinv in the array's dtype) loses the distribution: not exact"
        )
        return Draft(code, False, tuple(notes), bias=self.bias())

    def xavier_uniform(self, q: P) -> Draft:
        gain = float(q["gain"])
        if gain == 1.0:
            return Draft(f"{self.p}.glorot_uniform()", True, bias=self.bias())
        return self.vs(gain**2, "fan_avg", "uniform", "glorot_uniform() has gain 1: scale = gain^2")

    def he(self, q: P, dist: str) -> Draft:
        mode, nl, slope = str(q["mode"]), str(q["nonlinearity"]), float(q["negative_slope"])
        act = activation(nl, negative_slope=slope) if nl == "leaky_relu" else activation(nl)
        scale = act.gain() ** 2
        notes = [f"scale = gain^2 = {num(scale)} ({nl}'s gain in initlab, PyTorch's table where it has one)"]
        if dist == "normal":
            notes.append(TRUNCATED.format(p=self.p, fn="he_normal"))
        elif mode == "fan_in" and num(scale) == "2.0":
            return Draft(f"{self.p}.he_uniform()", True, bias=self.bias())
        return self.vs(scale, mode, dist, *notes)

    def orthogonal(self, q: P) -> Draft:
        gain = float(q["gain"])
        arg = "" if gain == 1.0 else f"scale={num(gain)}"
        note = (
            "column_axis=-1 (the default): orthonormal over the out axis, the transpose of torch's "
            "(out, in * kernel) matrix; a Haar-random matrix and its transpose have the same law"
        )
        return Draft(f"{self.p}.orthogonal({arg})", True, (note,), bias=self.bias())

    def identity(self, q: P) -> Draft:
        code = (
            f"{_SIG}jnp.zeros(shape, dtype).at[(*(k // 2 for k in shape[:-2]), "
            "jnp.arange(min(shape[-2:])), jnp.arange(min(shape[-2:])))].set(1)"
        )
        note = (
            "JAX has no identity initializer: this function is torch's eye_ for a kernel (in, out) and "
            "dirac_ for an HWIO conv kernel (the centre tap, k // 2, of every matching in/out channel)"
        )
        return Draft(code, True, (note,), bias=self.bias())

    def sparse(self, q: P) -> Draft:
        note = (
            "no exact equivalent: JAX has no sparse initializer (Martens 2010: ceil(sparsity * out) zeros "
            "among the out entries of every input, the rest N(0, std^2))"
        )
        return Draft(None, False, (note,), bias=self.bias())

    def variance(self, q: P) -> Draft:
        w, b = float(q["w"]), float(q["b"])
        bias = f"{self.p}.normal(stddev={num(b**0.5)})" if b > 0 else self.bias()
        note = "sigma_w^2 = w, sigma_b^2 = b: the bias initializer draws N(0, b)"
        return Draft(f'{self.p}.variance_scaling({num(w)}, "fan_in", "normal")', True, (note,), bias=bias)

    def torch_default(self, q: P) -> Draft:
        notes = (
            "U(+-1/sqrt(fan_in)): sqrt(3 * (1/3) / fan_in) = 1/sqrt(fan_in)",
            "the bias: PyTorch draws it U(+-1/sqrt(fan_in)) with the kernel's fan_in, which a JAX bias "
            "initializer does not see: bias_init=lambda key, shape, dtype=jnp.float32: "
            "jax.random.uniform(key, shape, dtype, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in)) "
            "with this layer's fan_in",
            "Flax's own default (nn.Dense) is lecun_normal() (truncated) with zero biases, not PyTorch's",
        )
        code = f'{self.p}.variance_scaling(1 / 3, "fan_in", "uniform")'
        return Draft(code, True, notes, bias=None)


JAX = Rules("jax.nn.initializers", "jax.nn.initializers.zeros", "jax.nn.initializers.ones")
FLAX = Rules("nn.initializers", "nn.initializers.zeros_init()", "nn.initializers.ones_init()")
