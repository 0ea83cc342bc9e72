"""Where a sweep's ensembles train: the runner interface, and the in-process runner.

A runner takes the ensembles still to train (``chunks``: lists of ``(cell, key)`` pairs sharing an
architecture), a ``train(chunk, dataset, should_stop)`` function returning the chunk's rows (``None``
if stopped), ``data(name)`` giving a loaded dataset, and ``deliver(rows)``, which the driver calls to
store an ensemble's rows (the store stays single-writer: only the driver's ``deliver`` writes it).
It returns whether it stopped early (``should_stop``). :func:`in_process` trains the chunks one
after the other here; :class:`~.sweep_ray.RayRunner` runs each as a Ray task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..data import Dataset
from .config import ShouldStop
from .sweep_grid import Cell

#: One ensemble: its cells and their keys.
Chunk = list[tuple[Cell, str]]
#: The stored rows of one ensemble, one per model.
Rows = list[dict[str, Any]]
#: ``train(chunk, dataset, should_stop)``: the chunk's rows, ``None`` if stopped (picklable for Ray).
TrainChunk = Callable[[Chunk, Dataset, ShouldStop | None], Rows | None]


class Runner(Protocol):
    """``runner(chunks, train, data, deliver, should_stop) -> stopped``."""

    def __call__(
        self,
        chunks: Sequence[Chunk],
        train: TrainChunk,
        data: Callable[[str], Dataset],
        deliver: Callable[[Rows], None],
        should_stop: ShouldStop | None,
    ) -> bool: ...


def in_process(
    chunks: Sequence[Chunk],
    train: TrainChunk,
    data: Callable[[str], Dataset],
    deliver: Callable[[Rows], None],
    should_stop: ShouldStop | None,
) -> bool:
    """Train the chunks one after the other in this process; ``should_stop`` is polled between
    ensembles and (by ``train``) between steps."""
    for chunk in chunks:
        if should_stop is not None and should_stop():
            return True
        rows = train(chunk, data(chunk[0][0].dataset), should_stop)
        if rows is None:
            return True
        deliver(rows)
    return False


__all__ = ["Chunk", "Rows", "Runner", "TrainChunk", "in_process"]
