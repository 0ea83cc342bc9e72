"""Measurements: per-layer statistics (pure functions), histograms, symmetry measures, hooks."""

from __future__ import annotations

from . import stats
from .histogram import Histogram, histogram
from .hooks import Call, Recorder, first_tensor, frozen_buffers, units_view
from .units import distinct_units, effective_rank

__all__ = [
    "Call",
    "Histogram",
    "Recorder",
    "distinct_units",
    "effective_rank",
    "first_tensor",
    "frozen_buffers",
    "histogram",
    "stats",
    "units_view",
]
