"""Ctrl-C while the ``initlab`` command starts: exit 130 quietly, not with a traceback from deep in torch.

Importing torch takes seconds, and it happens while the package's facade is imported, before any
:mod:`initlab.cli` code runs (``python -m initlab`` and the ``initlab`` script both import the
package first). :func:`guard` installs a SIGINT handler that raises ``SystemExit(130)`` -- which
Python ends on without a traceback -- only when this process *is* the command starting; a library
user's ``import initlab`` is never touched. The facade restores the previous handler as soon as its
imports are done, and :func:`initlab.cli.main` handles Ctrl-C from there on. This module sits beside
the facade, above every layer (it is not part of the library below the CLI).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Any


def is_cli_start(orig_argv: Sequence[str], argv0: str) -> bool:
    """True for ``python [opts] -m initlab ...`` (``sys.orig_argv``) and the ``initlab`` script.

    >>> is_cli_start(["python", "-X", "importtime", "-m", "initlab", "probe"], "-m")
    True
    >>> is_cli_start(["python", "-m", "pytest"], "-m"), is_cli_start(["python", "x.py"], "x.py")
    (False, False)
    >>> is_cli_start(["/venv/bin/python", "/venv/bin/initlab", "probe"], "/venv/bin/initlab")
    True
    """
    args = list(orig_argv)
    if "-m" in args and args.index("-m") + 1 < len(args):
        return args[args.index("-m") + 1] == "initlab"
    return os.path.basename(argv0) == "initlab"


def _exit_130(signum: int, frame: Any) -> None:
    raise SystemExit(130)


def guard() -> Any:
    """Install the quiet Ctrl-C exit if the command is starting; returns what :func:`release` restores."""
    if not is_cli_start(getattr(sys, "orig_argv", []), sys.argv[0] if sys.argv else ""):
        return None
    try:
        return signal.signal(signal.SIGINT, _exit_130)
    except ValueError:  # not the main thread
        return None


def release(previous: Any) -> None:
    """Put back the handler :func:`guard` replaced (nothing if it replaced none)."""
    if previous is not None:
        signal.signal(signal.SIGINT, previous)
