"""Measurements: per-layer statistics (pure functions), fixed-size histograms, symmetry measures,
forward/backward hooks, and the probe of any ensemble (taps and hooks inside the vmapped call)."""

from __future__ import annotations

from . import stats
from .bootstrap import Interval, bootstrap_mean
from .ensemble_probe import BACKWARD_STATS, FORWARD_STATS, EnsembleProbe, Record, probe_ensemble
from .histogram import Histogram, histogram
from .hooks import Call, Recorder, first_tensor, frozen_buffers, units_view
from .taps import Tap, find_taps
from .units import distinct_units, effective_rank

__all__ = [
    "BACKWARD_STATS",
    "FORWARD_STATS",
    "Call",
    "EnsembleProbe",
    "Histogram",
    "Interval",
    "Record",
    "Recorder",
    "Tap",
    "bootstrap_mean",
    "distinct_units",
    "effective_rank",
    "find_taps",
    "first_tensor",
    "frozen_buffers",
    "histogram",
    "probe_ensemble",
    "stats",
    "units_view",
]
