"""Studies: named experiments that compose schemes, stacks, probes and trainers into results.

Each study is a module with ``Config``, ``run(config, *, dataset, progress, should_stop) -> Result``,
``Result.to_dict()``, ``Result.figures()`` and ``Result.figure(name)`` (the contract:
:mod:`initlab.studies.config`); its verb is on the facade (``initlab.probe``, ``initlab.compare``,
``initlab.symmetry``, ``initlab.reproduce``, ``initlab.depth``, ``initlab.sweep``, ``initlab.phase``;
a sweep's store loads with :func:`load_store`). Every ``run`` and verb takes ``progress=True`` for a
progress bar (:func:`progress_bar`: HTML in a notebook, rich in a terminal), and every result displays
itself in Jupyter (``_repr_html_``). This package is the one place for their types:

>>> import initlab
>>> initlab.studies.CompareConfig is initlab.studies.compare.Config
True
"""

from __future__ import annotations

from . import compare, depth, diagnose, phase, probe, reproduce, sweep, symmetry
from .compare import CompareConfig, CompareResult
from .depth import DepthConfig, DepthResult, DepthRow
from .diagnose import DiagnoseConfig, DiagnoseResult
from .phase import PhaseConfig, PhaseResult
from .phase_depth import PhaseDepthResult
from .probe import LayerProbe, ProbeConfig, ProbeResult, SpecProbe
from .progress import NotebookBar, TerminalBar, progress_bar
from .reproduce import ReproduceConfig, ReproduceResult
from .sweep import SweepConfig, SweepResult, config_from_toml
from .sweep_store import Store, load_store
from .symmetry import SymmetryCase, SymmetryConfig, SymmetryResult

__all__ = [
    "CompareConfig",
    "CompareResult",
    "DepthConfig",
    "DepthResult",
    "DepthRow",
    "DiagnoseConfig",
    "DiagnoseResult",
    "LayerProbe",
    "NotebookBar",
    "PhaseConfig",
    "PhaseDepthResult",
    "PhaseResult",
    "ProbeConfig",
    "ProbeResult",
    "ReproduceConfig",
    "ReproduceResult",
    "SpecProbe",
    "Store",
    "SweepConfig",
    "SweepResult",
    "SymmetryCase",
    "SymmetryConfig",
    "SymmetryResult",
    "TerminalBar",
    "compare",
    "config_from_toml",
    "depth",
    "diagnose",
    "load_store",
    "phase",
    "probe",
    "progress_bar",
    "reproduce",
    "sweep",
    "symmetry",
]
