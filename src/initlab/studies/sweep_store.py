"""A sweep's results store: one SQLite table, one row per trained model, keyed by the cell's hash.

Why SQLite: it is in Python's standard library (no dependency), every language and every dataframe
library reads it (pandas ``read_sql``, DuckDB ``sqlite_scan``, R's DBI), and it is transactional: the
rows of one finished ensemble are committed at once, so a process killed at any moment leaves the
file consistent and loses at most the cells still training. The primary key is the cell's canonical
hash (:func:`initlab.studies.sweep_grid.cell_key`), so a cell is stored once however often a sweep
is rerun (``INSERT OR IGNORE``).

Columns (:data:`COLUMNS`): the grid values (``model_params`` and ``init_params`` as JSON objects,
flattened to ``model.NAME`` / ``init.NAME`` by :func:`load_store`), the seed, the fixed training
settings, and the measurements: ``final_loss`` (mean training loss over the last ``smooth``
iterations), ``best_loss`` (the lowest such moving average), ``test_accuracy`` and ``test_loss``
(at the end), ``diverged_at`` (NULL if it did not), ``wall_seconds`` (the ensemble's wall time over
its models), and the ``initlab_version`` and ``torch_version`` that trained it. NaN is stored as NULL.
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.errors import InitlabError

TABLE = "cells"
#: (name, SQLite type) of every column, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "TEXT PRIMARY KEY"),
    ("dataset", "TEXT"),
    ("model", "TEXT"),
    ("model_family", "TEXT"),
    ("model_params", "TEXT"),
    ("activation", "TEXT"),
    ("init", "TEXT"),
    ("init_scheme", "TEXT"),
    ("init_params", "TEXT"),
    ("optimizer", "TEXT"),
    ("lr", "REAL"),
    ("iterations", "INTEGER"),
    ("seed", "INTEGER"),
    ("batch_size", "INTEGER"),
    ("sampling", "TEXT"),
    ("momentum", "REAL"),
    ("batch_seed", "INTEGER"),
    ("final_loss", "REAL"),
    ("best_loss", "REAL"),
    ("test_accuracy", "REAL"),
    ("test_loss", "REAL"),
    ("diverged_at", "INTEGER"),
    ("iterations_done", "INTEGER"),
    ("wall_seconds", "REAL"),
    ("ensemble_models", "INTEGER"),
    ("device", "TEXT"),
    ("backend", "TEXT"),
    ("initlab_version", "TEXT"),
    ("torch_version", "TEXT"),
    ("finished_at", "TEXT"),
)
NAMES = tuple(n for n, _ in COLUMNS)
_JSON = ("model_params", "init_params")


class Store:
    """The results store at ``path`` (a SQLite file, created if absent; ``None``: in memory only)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = None if path is None else os.fspath(path)
        try:
            if self.path is not None:  # runs/s.sqlite in a fresh clone: its folders are made
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._db = sqlite3.connect(":memory:" if self.path is None else self.path)
            cols = ", ".join(f"{n} {t}" for n, t in COLUMNS)
            with self._db:
                self._db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({cols})")
            have = [r[1] for r in self._db.execute(f"PRAGMA table_info({TABLE})")]
        except (sqlite3.DatabaseError, OSError) as err:
            raise InitlabError(f"cannot use {self.path!r} as a sweep store: {err}") from None
        missing = [n for n in NAMES if n not in have]
        if missing:
            raise InitlabError(
                f"{self.path!r} has a table {TABLE!r} without the columns {', '.join(missing)}: "
                "not a sweep store of this initlab"
            )

    def keys(self) -> set[str]:
        """The keys of every stored cell."""
        return {r[0] for r in self._db.execute(f"SELECT key FROM {TABLE}")}

    def add(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert ``rows`` in one transaction (a key already stored is kept as it was); returns the
        number of rows inserted."""
        marks = ", ".join("?" for _ in NAMES)
        values = [tuple(_cell(n, r.get(n)) for n in NAMES) for r in rows]
        with self._db:
            before = self._db.total_changes
            self._db.executemany(
                f"INSERT OR IGNORE INTO {TABLE} ({', '.join(NAMES)}) VALUES ({marks})", values
            )
            return self._db.total_changes - before

    def rows(self, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Stored rows as dicts (all, or those of ``keys``, in store order), JSON columns decoded."""
        cur = self._db.execute(f"SELECT {', '.join(NAMES)} FROM {TABLE} ORDER BY rowid")
        wanted = None if keys is None else set(keys)
        out = []
        for values in cur:
            row = dict(zip(NAMES, values, strict=True))
            if wanted is None or row["key"] in wanted:
                for n in _JSON:
                    row[n] = json.loads(row[n]) if row[n] is not None else {}
                out.append(row)
        return out

    def close(self) -> None:
        self._db.close()


def check_store(path: str | os.PathLike[str] | None) -> None:
    """Raise ``InitlabError`` unless ``path`` can be a store: absent (its folder existing or to be
    made under an existing one), or a SQLite file whose ``cells`` table, if any, has every column.
    Reads only; creates nothing."""
    if path is None:
        return
    shown = os.fspath(path)
    if not os.path.exists(shown):
        parent = os.path.dirname(os.path.abspath(shown))
        while not os.path.exists(parent):  # the nearest existing ancestor must be a folder
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            raise InitlabError(f"cannot create the sweep store {shown!r}: {parent!r} is not a folder")
        return
    if not os.path.isfile(shown):
        raise InitlabError(f"the sweep store {shown!r} is not a file")
    try:
        db = sqlite3.connect(f"file:{os.path.abspath(shown)}?mode=ro", uri=True)
        try:
            have = [r[1] for r in db.execute(f"PRAGMA table_info({TABLE})")]
        finally:
            db.close()
    except sqlite3.DatabaseError as err:
        raise InitlabError(f"cannot use {shown!r} as a sweep store: {err}") from None
    missing = [n for n in NAMES if n not in have]
    if have and missing:
        raise InitlabError(
            f"{shown!r} has a table {TABLE!r} without the columns {', '.join(missing)}: "
            "not a sweep store of this initlab"
        )


def _cell(name: str, value: Any) -> Any:
    if name in _JSON:
        return json.dumps(value or {}, sort_keys=True)
    if isinstance(value, float) and value != value:
        return None  # NaN: SQL NULL
    return value


def flat(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row with its parameter objects flattened: ``model.layers``, ``init.w``, ..."""
    out = {k: v for k, v in row.items() if k not in _JSON}
    for prefix, col in (("model", "model_params"), ("init", "init_params")):
        for k, v in (row.get(col) or {}).items():
            out[f"{prefix}.{k}"] = v
    return out


def load_store(path: str | os.PathLike[str], *, frame: bool | None = None) -> Any:
    """Every row of the sweep store at ``path``, parameters flattened (:func:`flat`).

    ``frame=None``: a pandas ``DataFrame`` if pandas is installed (``pip install initlab[pandas]``),
    else a list of dicts; ``True``: a DataFrame (an error without pandas); ``False``: a list of dicts.
    """
    if not os.path.isfile(path):
        raise InitlabError(f"no sweep store at {os.fspath(path)!r}")
    store = Store(path)
    try:
        rows = [flat(r) for r in store.rows()]
    finally:
        store.close()
    if frame is False:
        return rows
    try:
        pd = importlib.import_module("pandas")  # optional: no stubs needed
    except ImportError:
        if frame:
            raise InitlabError("load_store(frame=True) needs pandas: pip install initlab[pandas]") from None
        return rows
    return pd.DataFrame(rows)


__all__ = ["COLUMNS", "Store", "check_store", "flat", "load_store"]
