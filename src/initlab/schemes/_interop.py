"""What a translation of a scheme into another framework is: the typed result and its pieces.

:func:`initlab.schemes.translate` fills these; the per-framework rules live in ``_to_torch``,
``_to_jax`` (JAX and Flax) and ``_to_keras``. Each rule was read off that framework's source:
``torch/nn/init.py``, ``jax/_src/nn/initializers.py`` (re-exported by ``flax.linen.initializers``)
and ``keras/src/initializers/random_initializers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Target = Literal["torch", "jax", "flax", "keras"]
TARGETS: tuple[Target, ...] = ("torch", "jax", "flax", "keras")

#: Where each framework keeps the fans of a weight; the same fan_in/fan_out in every one.
LAYOUTS: dict[Target, str] = {
    "torch": "Linear weight (out, in), ConvNd weight (out, in/groups, *kernel); "
    "fan_in = in/groups * kernel, fan_out = out * kernel (initlab's own convention)",
    "jax": "kernels are (in, out), conv kernels HWIO (*kernel, in/groups, out): in_axis=-2, "
    "out_axis=-1 (the defaults), the other axes the receptive field; so fan_in and fan_out equal "
    "initlab's for the same layer (the kernel is the transpose of torch's weight)",
    "flax": "nn.Dense kernel (in, out), nn.Conv kernel HWIO (*kernel_size, in/groups, out); "
    "fan_in and fan_out equal initlab's for the same layer (the kernel is the transpose of torch's weight)",
    "keras": "Dense kernel (in, out), Conv2D kernel (kh, kw, in/groups, out) whatever the data_format; "
    "fan_in = shape[-2] * receptive field, fan_out = shape[-1] * receptive field: initlab's fans "
    "for the same layer",
}

#: How the code is used in each framework (``INIT`` stands for the code).
USAGE: dict[Target, str] = {
    "torch": "fills the weight `w` (and bias `b`) in place; `import torch, math`",
    "jax": "INIT(key, shape, dtype) -> array; `import jax, jax.numpy as jnp`",
    "flax": "flax.linen.Dense(features, kernel_init=INIT) (flax.nnx.Linear(..., kernel_init=INIT) alike); "
    "`from flax import linen as nn; import jax, jax.numpy as jnp`",
    "keras": "keras.layers.Dense(units, kernel_initializer=INIT) (pass seed= to a random initializer "
    "for reproducible draws); `import keras`",
}


@dataclass(frozen=True)
class Draft:
    """One framework's rule for one scheme, before it is labelled with the spec and target.

    ``code`` is ``None`` where the framework has no exact equivalent (``notes`` say what comes
    closest); otherwise ``exact`` says whether it draws from the same distribution as initlab.
    ``same_values`` (torch only): with the same generator state, bit-identical to ``init_``.
    """

    code: str | None
    exact: bool
    notes: tuple[str, ...] = ()
    same_values: bool = False
    bias: str | None = None


@dataclass(frozen=True)
class Translation:
    """An initlab scheme written in another framework.

    ``code``: the initializer call (or a few lines) in ``target``; ``None`` where no exact
    equivalent exists. ``exact``: it draws every entry from the same distribution as initlab's
    scheme, for the same layer in that framework's layout (``layout``). ``same_values``: (torch) the
    same generator state gives bit-identical values to :func:`initlab.init_`. ``bias``: the bias as
    ``init_`` sets it on a module (zero, except for ``torch_default``). ``notes``: where the
    framework's similarly named initializer differs, and anything else a user must know.
    """

    spec: str
    target: Target
    code: str | None
    exact: bool
    same_values: bool
    bias: str | None
    notes: tuple[str, ...] = field(default=())

    @property
    def layout(self) -> str:
        """Where ``target`` keeps the fans of a weight (its kernels' axis order)."""
        return LAYOUTS[self.target]

    @property
    def usage(self) -> str:
        """How the code is used in ``target`` and what it imports."""
        return USAGE[self.target]

    def to_dict(self) -> dict[str, object]:
        return {
            "spec": self.spec,
            "target": self.target,
            "code": self.code,
            "exact": self.exact,
            "same_values": self.same_values,
            "bias": self.bias,
            "notes": list(self.notes),
            "layout": self.layout,
            "usage": self.usage,
        }


def num(x: float) -> str:
    """A number for code: the shortest repr that round-trips, after rounding to 15 significant digits
    (so that ``sqrt(2) ** 2`` prints as ``2.0``; the distributions agree to ~1e-15)."""
    return repr(float(f"{float(x):.15g}"))


def exact_num(x: float) -> str:
    """A number for code that must reproduce initlab's float bit for bit: ``repr`` round-trips."""
    return repr(float(x))
