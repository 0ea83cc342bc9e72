"""initlab: a laboratory for neural-network weight initialization, on PyTorch.

>>> import initlab
>>> initlab.scheme("Xavier: lecun_normal").label
'Xavier'
"""

from __future__ import annotations

from . import theory
from .activations import Activation, activation, activations, gain
from .core.env import version
from .core.errors import InitlabError
from .data import Dataset, load_dataset
from .schemes import Law, ParamInit, Scheme, fans, register_scheme, scheme, schemes
from .studies.compare import CompareConfig, CompareResult, compare
from .studies.diagnose import DiagnoseConfig, DiagnoseResult
from .studies.probe import LayerProbe, ProbeConfig, ProbeResult, SpecProbe, probe
from .studies.reproduce import ReproduceConfig, ReproduceResult, reproduce
from .studies.symmetry import SymmetryConfig, SymmetryResult, symmetry
from .tools import Audit, AutoInitPlan, Diagnosis, LSUVResult, audit, auto_init_, diagnose, init_, lsuv_
from .train import TrainConfig, TrainResult

__version__ = version()

__all__ = [
    "Activation",
    "Audit",
    "AutoInitPlan",
    "CompareConfig",
    "CompareResult",
    "Dataset",
    "DiagnoseConfig",
    "DiagnoseResult",
    "Diagnosis",
    "InitlabError",
    "LSUVResult",
    "Law",
    "LayerProbe",
    "ParamInit",
    "ProbeConfig",
    "ProbeResult",
    "ReproduceConfig",
    "ReproduceResult",
    "Scheme",
    "SpecProbe",
    "SymmetryConfig",
    "SymmetryResult",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "activation",
    "activations",
    "audit",
    "auto_init_",
    "compare",
    "diagnose",
    "fans",
    "gain",
    "init_",
    "load_dataset",
    "lsuv_",
    "probe",
    "register_scheme",
    "reproduce",
    "scheme",
    "schemes",
    "symmetry",
    "theory",
]
