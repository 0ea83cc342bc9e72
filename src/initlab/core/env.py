"""The machine and library versions a result was measured with (the setup note of every run)."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any


def version() -> str:
    """initlab's installed version (``0.0.0`` when running from a source tree that is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("initlab")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def environment() -> dict[str, Any]:
    """Versions, CPU model and thread counts: the setup note of the report."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy
    import torch

    try:
        __version__ = version("initlab")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        __version__ = "0.0.0"

    return {
        "initlab": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average": _load_average(),
    }


def _load_average() -> float | None:
    """The 1-minute system load average at the start (other work on the machine slows a run down)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this platform
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ``ZMQInteractiveShell``, Colab, VS Code):
    where output is rich HTML and ``matplotlib``'s inline backend shows figures. IPython is never
    imported here: a kernel has imported it already."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None
