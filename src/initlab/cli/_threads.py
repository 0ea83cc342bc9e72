"""How many CPU threads a run uses: ``--threads``, or a default that adapts to a busy machine.

PyTorch's default is one thread per core it sees, whether or not other processes already run on
those cores. On a shared machine that is the worst choice: OpenMP threads spin-wait for each other
at every parallel region, and one preempted thread stalls them all (measured: ``reproduce --quick``
224 s with 2 threads, 47 s with 1, load about 6 on 2 cores). The policy:

* the CPUs this process may use: ``os.sched_getaffinity(0)`` (``os.cpu_count()`` where that does
  not exist), capped by torch's own default (which follows ``OMP_NUM_THREADS``);
* the other work on them: the 1-minute load average (``os.getloadavg()``);
* default threads = the CPUs left free, rounded, at least 1;
* ``--threads N`` is obeyed as given (a positive integer, else an error);
* a machine whose load leaves no CPU free is *overloaded*: a run there says so once on stderr when
  it has finished (so the line never stands in front of an ``error:`` line), with the thread
  count it used and, where it used more than one, the suggestion ``--threads 1``.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

from ..core.errors import InitlabError


@dataclass(frozen=True)
class ThreadChoice:
    """The threads a run uses and why: ``note`` is the one stderr line of an overloaded machine."""

    threads: int
    cpus: int  #: CPUs this process may run on
    load: float | None  #: the 1-minute load average (None where the system has none)
    note: str | None


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average, or None where the system does not report one."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


MAX_THREADS = 4096  #: above this, --threads is a typo (and torch's int32 setter overflows)


def choose_threads(requested: int | None, torch_default: int) -> ThreadChoice:
    """The thread count for ``--threads requested`` (None: the adaptive default, see the module)."""
    if requested is not None and requested <= 0:
        raise InitlabError(f"--threads must be a positive integer, got {requested}")
    if requested is not None and requested > MAX_THREADS:
        raise InitlabError(f"--threads {requested} is more than any machine has (at most {MAX_THREADS})")
    cpus = min(usable_cpus(), max(1, torch_default))
    load = load_average()
    free = cpus if load is None else cpus - load
    threads = requested if requested is not None else max(1, min(cpus, math.floor(free + 0.5)))
    note = None
    if load is not None and free < 1:
        how = "as given" if requested is not None else "chosen for the load, as --threads 1"
        tip = "; --threads 1 is usually fastest here" if threads > 1 else ""
        note = (
            f"note: this machine is overloaded (load average {load:.1f} on {cpus} usable "
            f"CPU{'s' if cpus != 1 else ''}): running on {threads} thread{'s' if threads != 1 else ''} "
            f"({how}){tip}"
        )
    return ThreadChoice(threads, cpus, load, note)


def threads_for(requested: int | None) -> ThreadChoice:
    """:func:`choose_threads` against torch's default: call it before anything is created (a bad
    ``--threads`` is an input error); :func:`use_threads` applies it once the run starts."""
    import torch

    return choose_threads(requested, torch.get_num_threads())


def use_threads(choice: ThreadChoice) -> None:
    """Set torch's threads (once the run starts: nothing is changed by a command that fails earlier)."""
    import torch

    torch.set_num_threads(choice.threads)


def say_overloaded(choice: ThreadChoice) -> None:
    """The one stderr line of a run on an overloaded machine, printed when the run has finished
    (or stopped on Ctrl-C) -- after its output, never in front of an ``error:`` line."""
    if choice.note is not None:
        print(choice.note, file=sys.stderr, flush=True)
