"""What every study command shares: flags generated from the study's ``Config``, and the run.

:func:`add_study` registers a subcommand whose flags come from the ``Config`` dataclass's fields
(:func:`initlab.studies.config.option` metadata: flag name, help, choices, repeatable...), each with
its default taken from the field, plus ``--out``, ``--threads``, for a study that reads a
dataset ``--data-dir``, and for a study whose result has sink records
(:data:`initlab.studies.events.CONFIGS`: probe, compare, symmetry) ``--tensorboard DIR``.
:func:`run_study` is the one choreography:

1. the flags given (only those: an unset flag keeps the Config's default) become the ``Config``,
   which is validated -- bad input stops here, before anything is written;
   The command's memory estimate (``StudyCommand.memory``) is checked against the memory available,
   and ``--out`` is checked (:class:`RunFolder`: a new or empty folder, or an earlier run with
   ``--force``; writable);
2. ``--threads`` sets torch's CPU threads;
3. under :func:`graceful_stop` (the first Ctrl-C sets ``should_stop``): the dataset is loaded (a
   download bar appears only if a download happens), the staging folder is created, the study
   runs with a progress bar, ``config.json`` (``Config.to_dict()`` plus ``threads`` and
   ``data_dir``), its figures and ``results.json`` are written, and the staging folder is swapped in
   as ``--out`` as a whole; a run that fails leaves nothing behind;
4. with ``--tensorboard DIR`` (checked in step 1: the ``tensorboard`` package is importable), the
   result's records (:mod:`initlab.studies.events`) as TensorBoard event files, one run per spec or
   case in ``DIR/<run>`` (names made safe for a folder), written after the run folder;
5. the command's own printout; exit status 130 if the result is partial (Ctrl-C), else 0.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import MISSING, Field, dataclass, fields, replace
from datetime import datetime
from typing import Any

from ._console import console, progress
from ._interrupt import graceful_stop
from ._memory import check_memory
from ._runfolder import RunFolder
from ._threads import say_overloaded, threads_for, use_threads


@dataclass(frozen=True)
class StudyCommand:
    """A study's subcommand: its module's ``Config``/``run``, texts, and the command's own parts."""

    name: str
    config: type[Any]  #: the study's Config dataclass
    run: Callable[..., Any]  #: the study's ``run(config, *, dataset, progress, should_stop)``
    help: str
    description: str
    out: str | None  #: default run folder; ``None``: ``--out`` is required; ``"{time}"`` is replaced
    report: Callable[[Any, dict[str, Any], RunFolder], None]  #: prints the result and its document
    bar: str | None = None  #: the progress bar's label (``None``: no bar)
    base: Callable[[dict[str, Any]], Any] | None = None  #: the Config the given flags modify
    before: Callable[[Any, Any], str | None] | None = None  #: a line for stderr before running
    document: Callable[[Any, dict[str, Any], RunFolder, float], None] | None = None  #: extra outputs
    memory: Callable[[Any], int] | None = None  #: estimated peak bytes of a run with this Config


def _hint(cls: type[Any], f: Field[Any]) -> Any:
    hint = typing.get_type_hints(cls)[f.name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0]
    return hint


def _default_text(f: Field[Any]) -> str:
    text = f.metadata.get("default_text")
    if text is not None:
        return str(text)
    if f.default is MISSING or f.default is None:
        return ""
    if isinstance(f.default, bool):
        return "on" if f.default else "off"
    return str(f.default)


def add_config_flags(parser: argparse.ArgumentParser, cls: type[Any]) -> None:
    """One flag per ``option`` field of ``cls`` that has one (``flag=None``: Python only)."""
    groups: dict[str, Any] = {}
    for f in fields(cls):
        md = f.metadata
        if md.get("flag", "") is None:
            continue
        text = _default_text(f)
        help_ = md.get("help", "") + (f" (default {text})" if text else "")
        hint = _hint(cls, f)
        kwargs: dict[str, Any] = {"help": help_}
        if md.get("metavar") is not None:
            kwargs["metavar"] = md["metavar"]
        if md.get("positional"):
            parser.add_argument(f.name, **kwargs)
            continue
        flag = md.get("flag") or "--" + f.name.replace("_", "-")
        kwargs.update(dest=f.name, default=argparse.SUPPRESS)
        if md.get("required"):
            kwargs["required"] = True
        if md.get("parse") is not None:
            kwargs["type"] = str
        elif hint is bool:
            kwargs["action"] = argparse.BooleanOptionalAction if md.get("negatable") else "store_true"
        elif md.get("repeatable"):
            kwargs.update(action="append", type=typing.get_args(hint)[0])
        elif typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            kwargs.update(nargs=len(args), type=args[0])
        else:
            kwargs["type"] = hint
        if md.get("choices"):
            kwargs["choices"] = md["choices"]
        target: Any = parser
        group = md.get("exclusive")
        if group is not None:
            if group not in groups:
                groups[group] = parser.add_mutually_exclusive_group()
            target = groups[group]
        target.add_argument(flag, **kwargs)


def given_flags(cls: type[Any], args: argparse.Namespace) -> dict[str, Any]:
    """The Config fields set on the command line, converted to the fields' types."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        if not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        parse = f.metadata.get("parse")
        if parse is not None:
            value = parse(value)
        elif isinstance(value, list):
            value = tuple(value)
        out[f.name] = value
    return out


def config_from_args(cmd: StudyCommand, args: argparse.Namespace) -> Any:
    """The validated Config: the command's base (default: the Config's defaults) with the flags given."""
    given = given_flags(cmd.config, args)
    cfg = replace(cmd.base(given), **given) if cmd.base is not None else cmd.config(**given)
    cfg.validate()
    return cfg


def add_study(sub: argparse._SubParsersAction[Any], cmd: StudyCommand) -> None:
    p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description)
    add_config_flags(p, cmd.config)
    if _uses_data(cmd.config):
        p.add_argument("--data-dir", default=None, help="folder holding the dataset's files (searched first)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: the CPUs this process may use, less the load average; at least 1)",
    )
    if cmd.out is None:
        p.add_argument("--out", required=True, metavar="DIR", help="run folder to write")
    else:
        shown = cmd.out.replace("{time}", "<date>-<time>")
        p.add_argument("--out", default=cmd.out, help=f"run folder (default {shown})")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the run already in --out (as a whole, when the new run finishes)",
    )
    if _has_events(cmd.config):
        p.add_argument(
            "--tensorboard",
            metavar="DIR",
            default=None,
            help="also write TensorBoard event files to DIR, one run per spec or case "
            "(view: tensorboard --logdir DIR; needs the tensorboard package)",
        )
    p.set_defaults(run=lambda args: run_study(cmd, args))


def _has_events(cls: type[Any]) -> bool:
    from ..studies.events import CONFIGS

    return cls in CONFIGS


def _safe(run: str) -> str:
    """A run name as a relative folder: each ``/``-separated part keeps letters, digits and ``._=,()+-``."""
    import re

    parts = [re.sub(r"[^\w.=,()+-]", "_", part).strip(".") or "_" for part in run.split("/")]
    return "/".join(parts)


def write_tensorboard(result: Any, log_dir: str) -> list[str]:
    """The result's sink records as TensorBoard event files in ``log_dir/<run>``; the runs written."""
    from pathlib import Path

    from ..studies.events import write
    from ..tools import TensorBoardSink

    return write(result, lambda run: TensorBoardSink(Path(log_dir) / _safe(run)))


def _uses_data(cls: type[Any]) -> bool:
    return any(f.name in ("dataset", "input") for f in fields(cls))


class _LazyBar:
    """A download progress bar that appears only if a download happens."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.tick: Any = None

    def __call__(self, done: int, total: int, **info: Any) -> None:
        if self.tick is None:
            self.tick = self.stack.enter_context(progress("download"))
        self.tick(done, total, **info)


def run_study(cmd: StudyCommand, args: argparse.Namespace) -> int:
    """Config from the flags, run folder, dataset, run with a bar and Ctrl-C as ``should_stop``, outputs."""
    import time

    import torch

    cfg = config_from_args(cmd, args)
    if cmd.memory is not None:
        check_memory(cmd.memory(cfg), f"{cmd.name} with these sizes")
    threads = threads_for(args.threads)  # ._threads: --threads, or a default that adapts to the load
    data_dir = getattr(args, "data_dir", None)
    out = args.out
    if cmd.out is not None and out == cmd.out:
        out = out.replace("{time}", datetime.now().strftime("%Y%m%d-%H%M%S"))
    folder = RunFolder(out, force=args.force)  # checked now; created after the dataset is loaded
    tensorboard = getattr(args, "tensorboard", None)
    if tensorboard is not None:
        from ..tools import require_tensorboard

        require_tensorboard()
    use_threads(threads)
    extra: dict[str, Any] = {"threads": torch.get_num_threads()}
    if _uses_data(cmd.config):
        extra["data_dir"] = data_dir
    config_doc = folder.config_document(cmd.name, {**cfg.to_dict(), **extra})  # written after the run
    try:
        with graceful_stop() as stop:  # Ctrl-C from here on: stop cleanly, write what was done
            name = cfg.data_name()
            dataset = None
            if name is not None:
                from ..data import load_dataset

                with ExitStack() as bars:
                    dataset = load_dataset(name, data_dir=data_dir, progress=_LazyBar(bars))
            folder.start()
            if cmd.before is not None:
                line = cmd.before(cfg, dataset)
                if line:
                    import sys

                    print(line, file=sys.stderr, flush=True)
            with ExitStack() as bars:
                tick = bars.enter_context(progress(cmd.bar)) if cmd.bar is not None else None
                result = cmd.run(cfg, dataset=dataset, progress=tick, should_stop=stop)
            folder.write_json("config.json", config_doc)
            t = time.perf_counter()
            for stem, fig in result.figures().items():
                folder.save_figure(fig, stem)
            doc = result.to_dict()
            if cmd.document is not None:
                cmd.document(result, doc, folder, time.perf_counter() - t)
            folder.write_json("results.json", doc)
            folder.finish()
    except BaseException:
        folder.discard()  # nothing finished: leave no empty folder behind
        raise
    cmd.report(result, doc, folder)
    if tensorboard is not None:
        runs = write_tensorboard(result, tensorboard)
        console().print(
            f"wrote TensorBoard events for {len(runs)} run(s) to {tensorboard} (tensorboard --logdir)"
        )
    say_overloaded(threads)  # once, after the output
    return 130 if result.partial else 0


__all__ = [
    "StudyCommand",
    "add_config_flags",
    "add_study",
    "config_from_args",
    "console",
    "run_study",
    "write_tensorboard",
]
