"""Ensembles: M models of one architecture with a leading model axis ``M``, run as one computation."""

from __future__ import annotations

from .stack import Stack

__all__ = ["Stack"]
