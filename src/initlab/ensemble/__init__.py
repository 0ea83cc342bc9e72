"""Ensembles: M models of one architecture with a leading model axis ``M``, run as one computation."""

from __future__ import annotations

from .ensemble import Ensemble, InitFn
from .stack import Stack

__all__ = ["Ensemble", "InitFn", "Stack"]
