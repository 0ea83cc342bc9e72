"""initlab: a laboratory for neural-network weight initialization, on PyTorch.

>>> import initlab
>>> initlab.scheme("Xavier: lecun_normal").label
'Xavier'
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._errors import InitlabError
from .activations import Activation, activation, activations, gain
from .schemes import Law, ParamInit, Scheme, fans, init_, register_scheme, scheme, schemes

try:
    __version__ = version("initlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Activation",
    "InitlabError",
    "Law",
    "ParamInit",
    "Scheme",
    "__version__",
    "activation",
    "activations",
    "fans",
    "gain",
    "init_",
    "register_scheme",
    "scheme",
    "schemes",
]
