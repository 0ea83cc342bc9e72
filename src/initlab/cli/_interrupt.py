"""Clean Ctrl-C for long runs: the first SIGINT asks the study to stop between training steps (it
returns what it finished, marked partial, and the command exits 130); a second SIGINT aborts at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Stop:
    """A ``should_stop()`` callable for the library, set by SIGINT."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


@contextmanager
def graceful_stop() -> Iterator[Stop]:
    """Install the SIGINT handler for the block and yield its :class:`Stop` flag."""
    stop = Stop()
    try:
        old = signal.signal(signal.SIGINT, stop.handle)
    except ValueError:  # not the main thread: plain KeyboardInterrupt handling applies
        yield stop
        return
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, old)
