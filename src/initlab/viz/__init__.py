"""Figures (matplotlib, imported lazily: only these modules import it). Functions return the figure."""

from __future__ import annotations

from ._style import pyplot

__all__ = ["pyplot"]
