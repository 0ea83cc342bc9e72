"""initlab: a laboratory for neural-network weight initialization, on PyTorch.

>>> import initlab
>>> initlab.scheme("Xavier: lecun_normal").label
'Xavier'
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import theory
from ._errors import InitlabError
from ._probe import LayerProbe, ProbeResult, SpecProbe, probe
from .activations import Activation, activation, activations, gain
from .autoinit import AutoInitPlan, auto_init_
from .data import Dataset, load_dataset
from .diagnosis import Audit, Diagnosis, audit, diagnose
from .lsuv import LSUVResult, lsuv_
from .schemes import Law, ParamInit, Scheme, fans, init_, register_scheme, scheme, schemes
from .studies.compare import CompareConfig, CompareResult, compare
from .studies.reproduce import ReproduceConfig, ReproduceResult, reproduce
from .studies.symmetry import SymmetryResult, symmetry
from .train import TrainConfig, TrainResult

try:
    __version__ = version("initlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Activation",
    "Audit",
    "AutoInitPlan",
    "CompareConfig",
    "CompareResult",
    "Dataset",
    "Diagnosis",
    "InitlabError",
    "LSUVResult",
    "Law",
    "LayerProbe",
    "ParamInit",
    "ProbeResult",
    "ReproduceConfig",
    "ReproduceResult",
    "Scheme",
    "SpecProbe",
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
