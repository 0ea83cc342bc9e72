"""Initialization schemes: registry, spec parsing, fans, the catalogue, and ``init_``."""

from __future__ import annotations

from . import _catalogue as _catalogue  # fills the registry
from ._apply import WEIGHTED, ParamInit, init_
from ._fans import fan, fans
from ._registry import Law, Scheme, SchemeInfo, register_scheme, scheme, scheme_info, schemes
from ._registry import std_of_truncated as truncated_normal_std
from ._sample import sample_law

__all__ = [
    "WEIGHTED",
    "Law",
    "ParamInit",
    "Scheme",
    "SchemeInfo",
    "fan",
    "fans",
    "init_",
    "register_scheme",
    "sample_law",
    "scheme",
    "scheme_info",
    "schemes",
    "truncated_normal_std",
]
