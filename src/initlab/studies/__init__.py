"""Studies: named experiments that compose schemes, stacks, probes and trainers into results.

Each study is a module with ``Config``, ``run(config, *, dataset, progress, should_stop) -> Result``,
``Result.to_dict()``, ``Result.figures()`` and ``Result.figure(name)`` (the contract:
:mod:`initlab.studies.config`); its verb is on the facade (``initlab.probe``, ``initlab.compare``,
``initlab.symmetry``, ``initlab.reproduce``). This package is the one place for their types:

>>> import initlab
>>> initlab.studies.CompareConfig is initlab.studies.compare.Config
True
"""

from __future__ import annotations

from . import compare, diagnose, events, probe, reproduce, symmetry
from .compare import CompareConfig, CompareResult
from .diagnose import DiagnoseConfig, DiagnoseResult
from .probe import LayerProbe, ProbeConfig, ProbeResult, SpecProbe
from .reproduce import ReproduceConfig, ReproduceResult
from .symmetry import SymmetryCase, SymmetryConfig, SymmetryResult

__all__ = [
    "CompareConfig",
    "CompareResult",
    "DiagnoseConfig",
    "DiagnoseResult",
    "LayerProbe",
    "ProbeConfig",
    "ProbeResult",
    "ReproduceConfig",
    "ReproduceResult",
    "SpecProbe",
    "SymmetryCase",
    "SymmetryConfig",
    "SymmetryResult",
    "compare",
    "diagnose",
    "events",
    "probe",
    "reproduce",
    "symmetry",
]
