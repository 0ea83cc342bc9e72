"""Initialization schemes: registry, spec parsing, fans, laws, the catalogue, and ``init_``.

A scheme is one decorated function returning the law of a weight's entries for its shape; the law
types (:class:`Normal`, :class:`Uniform`, :class:`TruncatedNormal`, :class:`Orthogonal`,
:class:`Constant`, :class:`DeltaOrthogonal`, :class:`Identity`, :class:`Sparse`; ``Law`` is their
union) sample themselves and derive their ``std`` from the parameters they sample with. Module-aware
schemes (``zero_residual``, ``fixup``, ``depth_scaled``) read the residual marks of a model, or, on a
model without any, the marks implied by the blocks :func:`infer_marks` recognises (ResNet and
transformer blocks of torchvision, timm, Hugging Face).
:func:`translate` writes a catalogue scheme as the equivalent initializer call in PyTorch, JAX, Flax
or Keras.
"""

from __future__ import annotations

from . import _catalogue as _catalogue  # fills the registry
from . import _depth as _depth  # the depth-aware entries
from ._apply import ParamInit, init_
from ._depth import classifier, fixup_scale
from ._fans import fan, fans
from ._infer import Recognised, infer_marks, is_conv1d
from ._interop import LAYOUTS, TARGETS, Target, Translation
from ._laws import (
    LAWS,
    Constant,
    DeltaOrthogonal,
    Identity,
    Law,
    LawKind,
    Normal,
    Orthogonal,
    Sparse,
    TruncatedNormal,
    Uniform,
    sample_law,
    scaled,
    truncated_normal_std,
)
from ._marks import (
    BLOCK,
    GATE,
    RESIDUAL,
    RESIDUAL_NORM,
    WEIGHTED,
    Branch,
    branches,
    has_marks,
    mark_block,
    mark_gate,
    mark_residual,
    mark_residual_norm,
    recognised,
    residual_blocks,
    residual_norms,
    residual_outputs,
)
from ._registry import (
    SCHEMES,
    ModuleRule,
    Scheme,
    SchemeInfo,
    register_scheme,
    scheme,
    scheme_info,
    schemes,
)
from ._translate import translate, translations

__all__ = [
    "BLOCK",
    "GATE",
    "LAWS",
    "LAYOUTS",
    "RESIDUAL",
    "RESIDUAL_NORM",
    "SCHEMES",
    "TARGETS",
    "WEIGHTED",
    "Branch",
    "Constant",
    "DeltaOrthogonal",
    "Identity",
    "Law",
    "LawKind",
    "ModuleRule",
    "Normal",
    "Orthogonal",
    "ParamInit",
    "Recognised",
    "Scheme",
    "SchemeInfo",
    "Sparse",
    "Target",
    "Translation",
    "TruncatedNormal",
    "Uniform",
    "branches",
    "classifier",
    "fan",
    "fans",
    "fixup_scale",
    "has_marks",
    "infer_marks",
    "init_",
    "is_conv1d",
    "mark_block",
    "mark_gate",
    "mark_residual",
    "mark_residual_norm",
    "recognised",
    "register_scheme",
    "residual_blocks",
    "residual_norms",
    "residual_outputs",
    "sample_law",
    "scaled",
    "scheme",
    "scheme_info",
    "schemes",
    "translate",
    "translations",
    "truncated_normal_std",
]
