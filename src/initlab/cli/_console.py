"""Terminal output for the CLI: one rich console, tables, and a progress bar."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from ..studies import TerminalBar


def console() -> Console:
    """A console on stdout; wide enough for our tables when stdout is not a terminal."""
    c = Console(soft_wrap=False, highlight=False)
    if not c.is_terminal:
        c = Console(width=120, soft_wrap=False, highlight=False)
    return c


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table; numbers right-aligned."""
    t = Table(title=title, title_justify="left")
    first = rows[0] if rows else [""] * len(columns)
    for col, val in zip(columns, first, strict=False):
        t.add_column(col, justify="right" if isinstance(val, int | float) else "left")
    for row in rows:
        t.add_row(*(_fmt(v) for v in row))
    return t


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class Tick(Protocol):
    def __call__(self, done: int, total: int, **info: Any) -> None: ...


@contextmanager
def progress(description: str) -> Iterator[Tick]:
    """A progress bar on stderr (:class:`initlab.studies.TerminalBar`, the bar ``progress=True``
    draws outside a notebook); yields the ``tick(done, total, **info)`` callback for the library to
    call. The bar appears with the first tick, so early errors print alone."""
    bar = TerminalBar(description)
    try:
        yield bar
    finally:
        bar.close()
