"""The reproduce report: findings computed from the measurements, rendered as HTML and Markdown."""

from __future__ import annotations

from .build import DEEP_FIGURES, FIGURES, Report, build
from .findings import derive, fmt

__all__ = ["DEEP_FIGURES", "FIGURES", "Report", "build", "derive", "fmt"]
