"""Measurements: per-layer statistics (pure functions), symmetry measures, and forward/backward hooks."""

from __future__ import annotations

from . import stats
from .hooks import Call, Recorder, first_tensor, frozen_buffers, units_view
from .units import distinct_units, effective_rank

__all__ = [
    "Call",
    "Recorder",
    "distinct_units",
    "effective_rank",
    "first_tensor",
    "frozen_buffers",
    "stats",
    "units_view",
]
