"""The one contract of every study, and how a ``Config`` field describes its command-line flag.

A study is a module ``initlab.studies.<name>`` with

* ``Config`` -- a frozen dataclass: everything that defines a run, with its defaults; ``validate()``
  raises ``InitlabError`` for the first bad setting; ``to_dict()`` is what a run folder's
  ``config.json`` records; ``data_name()`` names the dataset ``run`` needs (``None`` if none);
* ``run(config, *, dataset=None, progress=None, should_stop=None) -> Result`` -- ``dataset`` skips
  loading ``config.data_name()``; ``progress(done, total, **info)`` reports (``True``: a bar);
  ``should_stop()`` is polled between steps and ends the run early, its result marked ``partial``;
* ``Result`` -- ``to_dict()`` (the ``results.json`` document), ``figures()`` (``name -> matplotlib
  Figure``; viz is imported lazily inside), ``figure(name, **options)`` (one of them, with the
  drawing function's options), ``figure_names()`` (the names ``figures()`` draws) and ``partial``.

Each study's verb (``initlab.probe``, ``initlab.compare``, ``initlab.symmetry``,
``initlab.reproduce``) takes the same forms: ``verb(config)``, ``verb(**fields)`` or
``verb(config, **fields)`` (the fields replace the config's, see :func:`configure`), plus
``dataset=`` (a loaded :class:`~initlab.data.Dataset`, or a dataset name), ``data_dir=``,
``download_progress=``, ``progress=`` and ``should_stop=``; it returns the study's ``Result``.
``progress`` (and ``download_progress``) may also be ``True``: a progress bar drawn by
:mod:`initlab.studies.progress` -- an HTML bar in a Jupyter notebook, a terminal bar elsewhere.
Without it the library prints nothing.

Every ``Result`` also displays itself in Jupyter (``_repr_html_``, :mod:`initlab.studies.display`):
its table, findings and main figure.

Every field is declared with :func:`option`, whose metadata the CLI turns into a flag: the flag's
name, type, default and help all come from the field, so no default is written twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from typing import Any, TypeVar

from ..core.errors import InitlabError, closest
from ..data import Dataset, load_dataset

C = TypeVar("C")

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


def configure(cls: type[C], config: C | None, fields: Mapping[str, Any], study: str) -> C:
    """``config`` (default ``cls()``) with the keyword ``fields`` replaced: the one way a study verb
    turns its arguments into a ``Config`` (lists become tuples, as a frozen config holds them).

    >>> from initlab.studies.compare import CompareConfig
    >>> configure(CompareConfig, None, {"inits": ["he_normal"], "seeds": 2}, "compare").inits
    ('he_normal',)
    """
    if config is not None and not isinstance(config, cls):
        raise InitlabError(f"{study}() takes a {cls.__name__}, got {type(config).__name__}: {config!r:.80}")
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for name in fields:
        if name not in names:
            raise InitlabError(f"{study}() has no setting {name!r}{closest(name, names)}")
    base = config if config is not None else cls()
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return dataclasses.replace(base, **values)  # type: ignore[type-var]


def check_labels(specs: Iterable[str], flag: str) -> None:
    """The one rule of every study for its list of init specs: each parses, and no two share a
    label (a label names a curve, a table row and a ``results.json`` entry, so two equal ones would
    silently merge). ``InitlabError`` quoting both specs otherwise; ``flag`` (``"--init"``,
    ``"--case"``) is how the user wrote them."""
    from ..schemes import scheme

    seen: dict[str, str] = {}
    for text in specs:
        label = scheme(text).label
        if label in seen:
            raise InitlabError(
                f"two {flag} specs share the label {label!r} ({seen[label]!r} and {text!r}); "
                "give each its own label: 'name: spec'"
            )
        seen[label] = text


def figure_error(study: str, name: str, names: Iterable[str]) -> InitlabError:
    """An ``InitlabError`` for a figure name a result does not draw, listing the ones it does."""
    pool = list(names)
    return InitlabError(
        f"{study} has no figure {name!r}{closest(name, pool)}; figures: {', '.join(pool) or 'none'}"
    )


def dataset_for(
    config: Any,
    dataset: Dataset | None,
    data_dir: Any = None,
    download_progress: Progress | bool | None = None,
) -> Dataset | None:
    """The data a study verb hands to ``run``: ``dataset`` if given, else ``config.data_name()``
    loaded from ``data_dir`` (``download_progress`` reports a download; ``True``: a bar that appears
    only if a download happens, :mod:`initlab.studies.progress`); ``None`` where the study needs no
    data, or neither is given (``run`` then loads the data itself, timing it)."""
    from .progress import progress_bar

    name = config.data_name()
    if dataset is not None or name is None or (data_dir is None and download_progress in (None, False)):
        return dataset
    with progress_bar(download_progress, f"download {name}") as tick:
        return load_dataset(name, data_dir=data_dir, progress=tick)
