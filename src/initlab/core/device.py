"""Devices: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``, checked before any work starts.

``resolve_device("auto")`` is the first available of CUDA (device 0), Apple's MPS and the CPU. A
device that is not there is an :class:`InitlabError` naming what this machine has, so a run never
starts on the wrong device or fails halfway through.

>>> resolve_device("cpu")
device(type='cpu')
>>> resolve_device(None)
device(type='cpu')
"""

from __future__ import annotations

import re

import torch

from .errors import InitlabError

#: The device names every ``--device`` flag accepts (``cuda:N`` for any N as well).
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _cuda_summary() -> str:
    if not torch.cuda.is_available():
        built = "built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        return f"this machine has no CUDA device (torch {torch.__version__}, {built})"
    n = torch.cuda.device_count()
    names = ", ".join(f"cuda:{i}" for i in range(n))
    return f"this machine has {n} CUDA device{'s' if n != 1 else ''} ({names})"


def resolve_device(spec: str | torch.device | None = "cpu") -> torch.device:
    """The ``torch.device`` for ``spec``, checked to exist here (``None`` is the CPU)."""
    if spec is None:
        return torch.device("cpu")
    if isinstance(spec, torch.device):
        spec = str(spec)
    if not isinstance(spec, str):
        raise InitlabError(f"device must be a string such as 'cpu' or 'cuda:0', got {spec!r}")
    name = spec.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise InitlabError("device mps is not available: this machine has no Apple MPS backend")
        return torch.device("mps")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match:
        index = int(match.group(1) or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise InitlabError(f"device {spec} is not available: {_cuda_summary()}")
        return torch.device("cuda", index)
    raise InitlabError(f"unknown device {spec!r}; use one of auto, cpu, cuda, cuda:N, mps")
