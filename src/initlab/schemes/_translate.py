"""``translate``: a catalogue scheme as the initializer call of another framework."""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import InitlabError, unknown
from ..core.spec import Value
from . import _to_keras, _to_torch
from ._interop import TARGETS, Draft, Target, Translation
from ._registry import Scheme, _defaults, scheme
from ._to_jax import FLAX, JAX

_RULES: dict[str, dict[str, Callable[[dict[str, Value]], Draft]]] = {
    "torch": _to_torch.RULES,
    "jax": JAX.table(),
    "flax": FLAX.table(),
    "keras": _to_keras.RULES,
}


def translate(spec: str | Scheme, to: str) -> Translation:
    """The initializer call in ``to`` (``torch``, ``jax``, ``flax`` or ``keras``) equal to ``spec``.

    ``exact`` is True when the code draws every entry from initlab's distribution for the same layer
    (kernels in that framework's layout; fans agree, see ``Translation.layout``); ``code`` is ``None``
    where the framework has no exact equivalent, and ``notes`` say what comes closest and where a
    namesake differs (JAX's and Keras' ``lecun_normal``/``he_normal``/``glorot_normal`` are truncated
    normals). Only the catalogue's schemes are known; a scheme registered elsewhere is an error.

    >>> t = translate("lecun_normal", "jax")
    >>> t.code, t.exact
    ('jax.nn.initializers.variance_scaling(1.0, "fan_in", "normal")', True)
    >>> translate("trunc_normal(std=0.02)", "torch").code
    'torch.nn.init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)'
    >>> translate("sparse", "keras").code is None        # no exact equivalent: the notes say so
    True
    """
    if to not in TARGETS:
        raise unknown("framework", to, TARGETS)
    sch = scheme(spec)
    rules = _RULES[to]
    if sch.name not in rules:
        raise InitlabError(
            f"no translation for scheme {sch.name!r}: translate knows the catalogue's schemes "
            f"({', '.join(sorted(rules))}), not one registered elsewhere"
        )
    target: Target = TARGETS[TARGETS.index(to)]  # type: ignore[arg-type]
    d = rules[sch.name]({**_defaults(sch.info), **sch.params})
    exact = d.exact and d.code is not None
    return Translation(sch.spec, target, d.code, exact, d.same_values and exact, d.bias, d.notes)


def translations(spec: str | Scheme) -> list[Translation]:
    """``spec`` translated to every framework, in the order of ``TARGETS``."""
    return [translate(spec, to) for to in TARGETS]
