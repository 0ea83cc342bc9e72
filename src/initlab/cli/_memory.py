"""Memory: a run's size checked up front, and an allocation that fails turned into one line.

A study command may declare ``StudyCommand.memory(config) -> bytes``, a rough estimate of its peak
memory; :func:`check_memory` refuses a run whose estimate exceeds the memory available (Linux:
``MemAvailable`` of ``/proc/meminfo``; elsewhere the physical memory), before anything is created.
An allocation that fails anyway (``MemoryError``, or torch's ``can't allocate memory``
``RuntimeError``) is recognised by :func:`out_of_memory`, which gives the line to print.
"""

from __future__ import annotations

import os
import re

from ..core.errors import InitlabError


def available_bytes() -> int | None:
    """The memory available to a new allocation, or ``None`` when it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def size_text(n: float) -> str:
    """``n`` bytes as a short text: ``"1.5 GB"``."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def check_memory(need: int, what: str, available: int | None = None) -> None:
    """``InitlabError`` if ``need`` bytes exceed the memory available (``None``: read it now)."""
    avail = available_bytes() if available is None else available
    if avail is not None and need > avail:
        raise InitlabError(
            f"{what} needs about {size_text(need)} of memory, more than the {size_text(avail)} "
            "available: use smaller sizes"
        )


_TORCH_OOM = re.compile(r"can't allocate memory|not enough memory|out of memory", re.IGNORECASE)
_TRIED = re.compile(r"tried to allocate (\d+) bytes")


def out_of_memory(err: BaseException) -> str | None:
    """The one-line message for an allocation failure, or ``None`` if ``err`` is not one."""
    if isinstance(err, MemoryError):
        return f"out of memory ({err})" if str(err) else "out of memory: use smaller sizes"
    if isinstance(err, RuntimeError) and _TORCH_OOM.search(str(err)):
        tried = _TRIED.search(str(err))
        size = f" ({size_text(int(tried.group(1)))} in one allocation)" if tried else ""
        return f"out of memory{size}: use smaller sizes"
    return None
