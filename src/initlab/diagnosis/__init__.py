"""Diagnose a model at initialization: per-layer signal statistics with findings, and an init audit.

* :func:`diagnose` -- one forward and one backward pass through hooks (:mod:`._hooks`), per-layer
  statistics, and plain-language findings (:mod:`._findings`, where the thresholds are stated).
* :func:`audit` -- for each weight, the scheme its values most plausibly came from (:mod:`._audit`).
"""

from __future__ import annotations

from ._audit import DEEP, Audit, AuditWarning, WeightAudit, audit
from ._diagnose import Diagnosis, LayerStats, diagnose
from ._findings import DEAD, EXPLODING, SATURATED, VANISHING, Finding
from ._hooks import Recorder

__all__ = [
    "DEAD",
    "DEEP",
    "EXPLODING",
    "SATURATED",
    "VANISHING",
    "Audit",
    "AuditWarning",
    "Diagnosis",
    "Finding",
    "LayerStats",
    "Recorder",
    "WeightAudit",
    "audit",
    "diagnose",
]
