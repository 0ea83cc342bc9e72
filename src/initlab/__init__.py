"""initlab: a laboratory for neural-network weight initialization, on PyTorch.

The facade holds verbs (a trailing ``_`` when they change a model in place) and three modules:

* the catalogue -- :func:`scheme`, :func:`schemes`, :func:`register_scheme`, :func:`activations`;
* any PyTorch model -- :func:`init_`, :func:`auto_init_`, :func:`lsuv_`, :func:`audit`,
  :func:`diagnose`, :func:`monitor` (their result types and the sinks live in :mod:`initlab.tools`);
* the studies -- :func:`probe`, :func:`compare`, :func:`symmetry`, :func:`reproduce`, :func:`depth`,
  :func:`sweep`, :func:`phase`, each taking a ``Config`` or its fields as keywords and returning a
  ``Result``; those types live in :mod:`initlab.studies` (``initlab.studies.ProbeConfig``, ...);
* data and theory -- :func:`load_dataset` (:mod:`initlab.data`), :mod:`initlab.theory`;
* :class:`InitlabError` for every bad input, and ``__version__``.

Everything else is imported from its layer: ``from initlab.schemes import Scheme, fans``,
``from initlab.activations import activation, gain``, ``from initlab.data import Dataset``.

>>> import initlab
>>> initlab.scheme("Xavier: lecun_normal").label
'Xavier'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _startup

_previous_sigint = _startup.guard()  # Ctrl-C while `initlab` starts (torch imports): exit 130 quietly

from . import studies, theory
from .activations import activations
from .core.env import version
from .core.errors import InitlabError
from .data import load_dataset
from .schemes import register_scheme, scheme, schemes
from .studies.compare import compare
from .studies.depth import depth
from .studies.phase import phase
from .studies.probe import probe
from .studies.reproduce import reproduce
from .studies.sweep import sweep
from .studies.symmetry import symmetry
from .tools import audit, auto_init_, diagnose, init_, lsuv_, monitor

_startup.release(_previous_sigint)
__version__ = version()

__all__ = [
    "InitlabError",
    "__version__",
    "activations",
    "audit",
    "auto_init_",
    "compare",
    "depth",
    "diagnose",
    "init_",
    "load_dataset",
    "lsuv_",
    "monitor",
    "phase",
    "probe",
    "register_scheme",
    "reproduce",
    "scheme",
    "schemes",
    "studies",
    "sweep",
    "symmetry",
    "theory",
]

#: Names the facade had before issue 11, and where each lives now.
_MOVED = {
    **{name: f"initlab.studies.{name}" for name in studies.__all__},
    **{name: f"initlab.tools.{name}" for name in ("Audit", "AutoInitPlan", "Diagnosis", "LSUVResult")},
    **{name: f"initlab.schemes.{name}" for name in ("Law", "ParamInit", "Scheme", "fans")},
    **{name: f"initlab.activations.{name}" for name in ("Activation", "activation", "gain")},
    **{name: f"initlab.train.{name}" for name in ("TrainConfig", "TrainResult")},
    "Dataset": "initlab.data.Dataset",
}


if not TYPE_CHECKING:  # hidden from type checkers, so that a moved name stays a static error

    def __getattr__(name: str) -> Any:
        """A name the facade no longer holds: say where it lives now."""
        if name in _MOVED:
            module, _, attr = _MOVED[name].rpartition(".")
            raise AttributeError(
                f"module 'initlab' has no attribute {name!r}: use `from {module} import {attr}`"
            )
        raise AttributeError(f"module 'initlab' has no attribute {name!r}")
