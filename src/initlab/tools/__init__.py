"""Tools that work on any user model (``nn.Module``): diagnose, audit, auto init, LSUV, trace.

* :func:`diagnose` -- one forward and one backward pass through hooks (:mod:`initlab.measure.hooks`),
  per-layer statistics, the outputs of the main path's blocks (:mod:`._mainpath`), and plain-language
  findings (:mod:`._findings`, where the rules and thresholds are stated).
* :func:`audit` -- for each weight, the scheme its values most plausibly came from (:mod:`._audit`).
* :func:`auto_init_` / ``init_(model, "auto")`` -- a scheme per layer from the nonlinearity after it.
* :func:`lsuv_` -- layer-sequential unit-variance init (Mishkin & Matas 2016).
* :func:`followers` -- which nonlinearity follows each weighted layer (``torch.fx``, else module order).
"""

from __future__ import annotations

from ..measure import Recorder
from ._audit import DEEP, Audit, AuditWarning, WeightAudit, audit
from ._autoinit import AutoInitPlan, AutoInitStep, auto_init_
from ._diagnose import Diagnosis, LayerStats, diagnose
from ._findings import DEAD, EXPLODING, SATURATED, VANISHING, Finding
from ._identify import Identification, identify, nice
from ._init import init_
from ._lsuv import LSUVResult, lsuv_
from ._trace import Follower, followers

__all__ = [
    "DEAD",
    "DEEP",
    "EXPLODING",
    "SATURATED",
    "VANISHING",
    "Audit",
    "AuditWarning",
    "AutoInitPlan",
    "AutoInitStep",
    "Diagnosis",
    "Finding",
    "Follower",
    "Identification",
    "LSUVResult",
    "LayerStats",
    "Recorder",
    "WeightAudit",
    "audit",
    "auto_init_",
    "diagnose",
    "followers",
    "identify",
    "init_",
    "lsuv_",
    "nice",
]
