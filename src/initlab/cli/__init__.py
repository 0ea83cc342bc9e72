"""The ``initlab`` command line: argument parsing and run folders only.

Each subcommand lives in its own module (``initlab.cli._<name>``). The study commands (probe,
compare, symmetry, reproduce, diagnose) declare a ``COMMAND`` (a ``StudyCommand``) and share one
choreography, :mod:`initlab.cli._study`: flags generated from the study's ``Config``, run folder,
progress bar, ``--threads``, and SIGINT turned into the study's ``should_stop`` (exit 130, partial).
``main(argv) -> int`` is callable from tests: bad input (and an out-of-memory or OS error) prints
``error: <message>`` on one line and returns 2 (no traceback unless ``--debug``, which may stand
anywhere on the command line); Ctrl-C returns 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..core.errors import InitlabError
from ._interrupt import Stop, graceful_stop
from ._study import StudyCommand, add_study, config_from_args

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: list[str] = [
    "_schemes",
    "_translate",
    "_diagnose",
    "_probe",
    "_symmetry",
    "_compare",
    "_depth",
    "_reproduce",
    "_sweep",
    "_phase",
]


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are ``InitlabError`` (one line, exit 2), not usage dumps."""

    def error(self, message: str) -> NoReturn:
        raise InitlabError(f"{message} (see '{self.prog} --help')")


def build_parser() -> Parser:
    from ..core.env import version

    __version__ = version()
    parser = Parser(
        prog="initlab",
        description="initlab: a laboratory for neural-network weight initialization.",
    )
    parser.add_argument("--version", action="version", version=f"initlab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, StudyCommand):
            add_study(sub, command)  # flags generated from the study's Config
        else:
            module.add_parser(sub)  # a command of its own (``schemes``): registers its parser and run
    return parser


def study_commands() -> list[StudyCommand]:
    """The study subcommands (each module's ``COMMAND``), in the order ``--help`` lists them."""
    modules = [importlib.import_module(f"{__name__}.{name}") for name in COMMANDS]
    return [m.COMMAND for m in modules if isinstance(getattr(m, "COMMAND", None), StudyCommand)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 130 interrupted).

    ``--debug`` may stand anywhere before a ``--`` (it is taken out before parsing). Without it,
    every error from the user's input or environment is one ``error:`` line: an
    :class:`InitlabError`, an allocation that fails (naming the size), an ``OSError`` (naming the
    path), and a ``SystemExit`` raised during a run (a user's code calling ``sys.exit``).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    cut = args_list.index("--") if "--" in args_list else len(args_list)
    debug = "--debug" in args_list[:cut]
    args_list = [a for a in args_list[:cut] if a != "--debug"] + args_list[cut:]
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(args_list)
        except SystemExit as exc:  # --help / --version
            return exc.code if isinstance(exc.code, int) else 0
        if args.command is None:
            parser.print_help()
            return 0
        try:
            return int(args.run(args))
        except SystemExit as exc:  # only a user's code (a model factory) exits during a run
            raise InitlabError(f"the run called sys.exit({exc.code!r}) (a model factory?)") from exc
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except Exception as err:
        message = _one_line(err)
        if debug or message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


def _one_line(err: Exception) -> str | None:
    """The ``error:`` line for an exception from the user's input or environment, else ``None``."""
    from ._memory import out_of_memory

    if isinstance(err, InitlabError):
        return str(err)
    oom = out_of_memory(err)
    if oom is not None:
        return oom
    if isinstance(err, OSError):
        where = f": {err.filename!r}" if err.filename is not None else ""
        return f"{err.strerror or err}{where}"
    return None


__all__ = [
    "COMMANDS",
    "Parser",
    "Stop",
    "StudyCommand",
    "build_parser",
    "config_from_args",
    "graceful_stop",
    "main",
    "study_commands",
]
