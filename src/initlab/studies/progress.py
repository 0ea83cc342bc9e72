"""Progress bars for Python callers: ``progress=True`` in any study (``initlab.compare(progress=True)``).

A study's ``progress`` is a callable ``progress(done, total, **info)`` (the CLI passes its terminal
bar), ``None``/``False`` for silence -- the library never prints unless asked -- or ``True`` for a bar
drawn here:

* in a Jupyter kernel (:func:`initlab.core.env.in_notebook`), an HTML ``<progress>`` element updated
  in place through IPython's ``display_id`` (no widget library needed, and the executed notebook
  keeps the bar's final state: label, ``done/total``, elapsed seconds, the last ``info`` values);
* elsewhere, a rich progress bar on stderr, as on the command line.

Either bar appears with the first tick (a run that fails while checking its input shows no bar)
and is updated at most every ``interval`` seconds, and always on the last tick.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..core.env import in_notebook
from ..core.errors import InitlabError
from ..core.html import escape, number
from .config import Progress


def _info(info: dict[str, Any]) -> str:
    return "  ".join(f"{k}={number(v)}" for k, v in info.items())


class NotebookBar:
    """``tick(done, total, **info)`` drawing an HTML progress bar in the notebook's output."""

    def __init__(self, description: str, *, interval: float = 0.2) -> None:
        self.description = description
        self.interval = interval
        self.handle: Any = None
        self.start = time.perf_counter()
        self.shown = -float("inf")
        self.state: tuple[int, int, dict[str, Any]] = (0, 0, {})

    def html(self, final: bool = False) -> str:
        """The bar as HTML (every value escaped)."""
        done, total, info = self.state
        elapsed = time.perf_counter() - self.start
        count = f"{done}/{total}" if total else str(done)
        if final:
            timing = f"{elapsed:.1f} s" if done >= total else f"stopped after {elapsed:.1f} s"
        else:
            left = elapsed * (total - done) / done if done and total else None
            timing = f"{elapsed:.1f} s" + ("" if left is None else f", ~{left:.0f} s left")
        bar = f'<progress value="{done}" max="{max(total, 1)}" style="width:18em"></progress>'
        parts = [f"<code>{escape(self.description)}</code>", bar, escape(count), escape(timing)]
        if info:
            parts.append(f"<small>{escape(_info(info))}</small>")
        return f'<div class="initlab-progress">{" ".join(parts)}</div>'

    def __call__(self, done: int, total: int, **info: Any) -> None:
        self.state = (done, total, info)
        now = time.perf_counter()
        if now - self.shown < self.interval and done < total:
            return
        self.shown = now
        self._show(self.html())

    def _show(self, text: str) -> None:
        ipd: Any = importlib.import_module("IPython.display")  # present: this is a Jupyter kernel
        if self.handle is None:
            self.handle = ipd.display(ipd.HTML(text), display_id=True)
        else:
            self.handle.update(ipd.HTML(text))

    def close(self) -> None:
        """The final state: done, or where the run stopped (only if the bar was shown)."""
        if self.shown > -float("inf"):
            self._show(self.html(final=True))


class TerminalBar:
    """``tick(done, total, **info)`` drawing a rich progress bar on stderr."""

    def __init__(self, description: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(stderr=True),
        )
        self.task = self.bar.add_task(description, total=None, info="")
        self.started = False

    def __call__(self, done: int, total: int, **info: Any) -> None:
        if not self.started:
            self.bar.start()
            self.started = True
        self.bar.update(self.task, completed=done, total=total, info=_info(info))

    def close(self) -> None:
        if self.started:
            self.bar.stop()


@contextmanager
def progress_bar(progress: Progress | bool | None, description: str) -> Iterator[Progress | None]:
    """The callable a study reports to: ``progress`` itself if callable, ``None`` for ``None`` or
    ``False``, and for ``True`` a bar labelled ``description`` (notebook or terminal, see the
    module docstring), closed when the block ends (also on an error or a stop)."""
    if progress is None or progress is False:
        yield None
        return
    if progress is not True:
        if not callable(progress):
            raise InitlabError(
                f"progress must be True, False, None or a callable progress(done, total, **info), "
                f"got {type(progress).__name__}"
            )
        yield progress
        return
    bar: NotebookBar | TerminalBar = NotebookBar(description) if in_notebook() else TerminalBar(description)
    try:
        yield bar
    finally:
        bar.close()
