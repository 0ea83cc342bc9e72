"""Translations of the depth-aware schemes (:mod:`._depth`) into torch, JAX, Flax and Keras.

``delta_orthogonal`` is a per-tensor law: torch fills the centre with ``orthogonal_`` (the same
values as ``init_``), JAX and Flax have ``delta_orthogonal`` (HWIO kernels). ``zero_residual``,
``fixup`` and ``depth_scaled`` read a model's residual marks, which no framework's initializer sees:
no exact equivalent, and the notes say what to do (their base law on an unmarked layer).
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.spec import Value
from ._interop import Draft, Target, exact_num, num

P = dict[str, Value]

_MODULE = (
    "no exact equivalent: {name} is module-aware (it reads the model's residual marks, which an "
    "initializer of one tensor cannot see); initialise every layer with its base ({base}) and then "
    "{then}"
)
_THEN = {
    "zero_residual": "set the last layer of each residual branch (or its last norm's gain) to zero",
    "fixup": "multiply the weights inside each of the L branches of m layers by L^(-1/(2m-2)) and zero "
    "each branch's last layer and the classifier",
    "depth_scaled": "multiply each residual-output projection's weights by 1/sqrt(n)",
}
_BASE = {"zero_residual": "base", "fixup": None, "depth_scaled": "base"}


def _module_aware(name: str) -> Callable[[P], Draft]:
    def rule(q: P) -> Draft:
        key = _BASE[name]
        base = str(q[key]) if key is not None else "he_normal"
        return Draft(None, False, (_MODULE.format(name=name, base=base, then=_THEN[name]),))

    return rule


def _torch_delta(q: P) -> Draft:
    gain = float(q["gain"])
    arg = "" if gain == 1.0 else f", gain={exact_num(gain)}"
    code = (
        "w.zero_()\n"
        f"torch.nn.init.orthogonal_(w[(slice(None), slice(None), *(k // 2 for k in w.shape[2:]))]{arg})"
    )
    note = "the (out, in) matrix at the kernel's centre (k // 2 per axis); the whole weight for a Linear"
    return Draft(code, True, (note,), same_values=True, bias="torch.nn.init.zeros_(b)")


def _jax_delta(prefix: str, zeros: str) -> Callable[[P], Draft]:
    def rule(q: P) -> Draft:
        gain = float(q["gain"])
        arg = "" if gain == 1.0 else f"scale={num(gain)}"
        notes = (
            "conv kernels (3-5 D, HWIO) only; a Dense kernel is plain "
            f"{prefix}.orthogonal({arg}); JAX requires in <= out",
            "the centre is (k - 1) // 2 per axis: initlab's k // 2 for odd kernels",
        )
        return Draft(f"{prefix}.delta_orthogonal({arg})", True, notes, bias=zeros)

    return rule


def _keras_delta(q: P) -> Draft:
    return Draft(
        None,
        False,
        ("no exact equivalent: Keras has no delta-orthogonal initializer (Orthogonal fills every tap)",),
    )


_AWARE = {name: _module_aware(name) for name in _THEN}

RULES: dict[Target, dict[str, Callable[[P], Draft]]] = {
    "torch": {"delta_orthogonal": _torch_delta, **_AWARE},
    "jax": {
        "delta_orthogonal": _jax_delta("jax.nn.initializers", "jax.nn.initializers.zeros"),
        **_AWARE,
    },
    "flax": {
        "delta_orthogonal": _jax_delta("nn.initializers", "nn.initializers.zeros_init()"),
        **_AWARE,
    },
    "keras": {"delta_orthogonal": _keras_delta, **_AWARE},
}
