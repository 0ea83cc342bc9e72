"""Terminal output for the CLI: one rich console, tables, and a progress bar."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table


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
    """A progress bar; yields a ``tick(done, total, **info)`` callback for the library to call."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
        transient=False,
    )
    task = bar.add_task(description, total=None, info="")
    started = False

    def tick(done: int, total: int, **info: Any) -> None:
        nonlocal started
        if not started:  # the bar appears with the first tick, so early errors print alone
            bar.start()
            started = True
        text = "  ".join(f"{k}={_fmt(v)}" for k, v in info.items())
        bar.update(task, completed=done, total=total, info=text)

    try:
        yield tick
    finally:
        if started:
            bar.stop()
