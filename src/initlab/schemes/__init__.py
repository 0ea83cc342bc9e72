"""Initialization schemes: registry, spec parsing, fans, the catalogue, and ``init_``."""

from __future__ import annotations

from . import _catalogue as _catalogue  # fills the registry
from ._apply import ParamInit, init_
from ._fans import fan, fans
from ._registry import Law, Scheme, SchemeInfo, register_scheme, scheme, scheme_info, schemes

__all__ = [
    "Law",
    "ParamInit",
    "Scheme",
    "SchemeInfo",
    "fan",
    "fans",
    "init_",
    "register_scheme",
    "scheme",
    "scheme_info",
    "schemes",
]
