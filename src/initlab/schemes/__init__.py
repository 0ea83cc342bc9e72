"""Initialization schemes: registry, spec parsing, fans, laws, the catalogue, and ``init_``.

A scheme is one decorated function returning the law of a weight's entries for its shape; the law
types (:class:`Normal`, :class:`Uniform`, :class:`TruncatedNormal`, :class:`Orthogonal`,
:class:`Constant`, :class:`Identity`, :class:`Sparse`; ``Law`` is their union) sample themselves and
derive their ``std`` from the parameters they sample with. :func:`translate` writes a catalogue
scheme as the equivalent initializer call in PyTorch, JAX, Flax or Keras.
"""

from __future__ import annotations

from . import _catalogue as _catalogue  # fills the registry
from ._apply import WEIGHTED, ParamInit, init_
from ._fans import fan, fans
from ._interop import LAYOUTS, TARGETS, Target, Translation
from ._laws import (
    LAWS,
    Constant,
    Identity,
    Law,
    LawKind,
    Normal,
    Orthogonal,
    Sparse,
    TruncatedNormal,
    Uniform,
    sample_law,
    truncated_normal_std,
)
from ._registry import SCHEMES, Scheme, SchemeInfo, register_scheme, scheme, scheme_info, schemes
from ._translate import translate, translations

__all__ = [
    "LAWS",
    "LAYOUTS",
    "SCHEMES",
    "TARGETS",
    "WEIGHTED",
    "Constant",
    "Identity",
    "Law",
    "LawKind",
    "Normal",
    "Orthogonal",
    "ParamInit",
    "Scheme",
    "SchemeInfo",
    "Sparse",
    "Target",
    "Translation",
    "TruncatedNormal",
    "Uniform",
    "fan",
    "fans",
    "init_",
    "register_scheme",
    "sample_law",
    "scheme",
    "scheme_info",
    "schemes",
    "translate",
    "translations",
    "truncated_normal_std",
]
