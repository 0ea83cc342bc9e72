"""The one contract of every study, and how a ``Config`` field describes its command-line flag.

A study is a module ``initlab.studies.<name>`` with

* ``Config`` -- a frozen dataclass: everything that defines a run, with its defaults; ``validate()``
  raises ``InitlabError`` for the first bad setting; ``to_dict()`` is what a run folder's
  ``config.json`` records; ``data_name()`` names the dataset ``run`` needs (``None`` if none);
* ``run(config, *, dataset=None, progress=None, should_stop=None) -> Result`` -- ``dataset`` skips
  loading ``config.data_name()``; ``progress(done, total, **info)`` reports; ``should_stop()`` is
  polled between steps and ends the run early, its result marked ``partial``;
* ``Result`` -- ``to_dict()`` (the ``results.json`` document), ``figures()`` (``name -> matplotlib
  Figure``; viz is imported lazily inside) and ``partial``.

Every field is declared with :func:`option`, whose metadata the CLI turns into a flag: the flag's
name, type, default and help all come from the field, so no default is written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import Any

#: ``should_stop()``: polled by long studies between steps.
ShouldStop = Callable[[], bool]
#: ``progress(done, total, **info)``.
Progress = Callable[..., None]


def option(
    default: Any,
    help: str = "",
    *,
    flag: str | None = "",
    choices: tuple[str, ...] | None = None,
    repeatable: bool = False,
    metavar: str | tuple[str, ...] | None = None,
    default_text: str | None = None,
    positional: bool = False,
    required: bool = False,
    parse: Callable[[str], Any] | None = None,
    exclusive: str | None = None,
    negatable: bool = False,
) -> Any:
    """A dataclass field with a default and the metadata of its command-line flag.

    ``flag``: the flag's name (default ``--`` + the field name with ``-`` for ``_``); ``None`` for a
    setting of the Python API only. ``help`` is completed with ``(default X)`` (``default_text``
    replaces ``X``; ``default_text=""`` says nothing). ``repeatable``: the flag may be given many
    times and its values replace the default tuple. ``positional``/``required``: an argument
    without a default. ``parse``: turns the flag's text into the field's value (``InitlabError`` on
    bad text). ``exclusive``: flags sharing this group name cannot be combined. A ``bool`` field is
    a switch (``--flag``); ``negatable`` adds ``--no-flag``.
    """
    meta = {
        "help": help,
        "flag": flag,
        "choices": choices,
        "repeatable": repeatable,
        "metavar": metavar,
        "default_text": default_text,
        "positional": positional,
        "required": required,
        "parse": parse,
        "exclusive": exclusive,
        "negatable": negatable,
    }
    if positional or required:
        return field(metadata=meta)
    return field(default=default, metadata=meta)
