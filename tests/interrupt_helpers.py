"""Ctrl-C in a real process: start ``python -m initlab ...``, wait until it has trained, send SIGINT.

No fixed sleep: the child's consoles behave as a terminal (``TTY_COMPATIBLE=1``, ``TTY_INTERACTIVE=1``:
rich draws its live progress bar, as a user sees it), and the signal goes out as soon as the bar
shows at least ``min_done`` finished steps of ``total``. The trainer ticks the bar about a hundred
times a run, so a ``total`` of a few thousand iterations shows progress after a few dozen steps and
still leaves the run far from done when the signal arrives.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class Interrupted:
    returncode: int
    stdout: str  #: without terminal control codes
    stderr: str  #: without terminal control codes


def _pump(stream: IO[bytes], into: bytearray, on_data: threading.Event) -> None:
    while chunk := os.read(stream.fileno(), 65536):
        into += chunk
        on_data.set()


def interrupt_after_progress(
    argv: Sequence[str], total: int, *, min_done: int = 1, timeout: float = 120.0
) -> Interrupted:
    """Run ``initlab *argv``; SIGINT once its progress bar shows ``>= min_done`` of ``total`` steps."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        "TTY_COMPATIBLE": "1",
        "TTY_INTERACTIVE": "1",
        "COLUMNS": "200",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "initlab", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = bytearray(), bytearray()
    news = threading.Event()
    readers = [
        threading.Thread(target=_pump, args=(proc.stdout, out, threading.Event()), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, err, news), daemon=True),
    ]
    for r in readers:
        r.start()
    counter = re.compile(rb"(\d+)/%d\b" % total)
    try:
        progressed = False
        while not progressed and proc.poll() is None:
            if not news.wait(timeout):
                break
            news.clear()
            tail = ANSI.sub(b"", bytes(err[-8192:]))
            progressed = any(int(n) >= min_done for n in counter.findall(tail))
        assert progressed, f"no progress to {min_done}/{total}: {ANSI.sub(b'', bytes(err)).decode()}"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for r in readers:
        r.join(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    clean = (ANSI.sub(b"", bytes(b)).decode(errors="replace") for b in (out, err))
    return Interrupted(proc.returncode, *clean)
