"""Atomic file writes (write to a temporary file in the same folder, then ``os.replace``) and the
one conversion of results to plain JSON values, :func:`to_jsonable`.

A reader (or a crash, or Ctrl-C) never sees a half-written file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path, PurePath
from typing import IO, Any

import numpy as np
import torch

from .errors import InitlabError


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is moved onto ``path``."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_with(path: str | os.PathLike[str], writer: Callable[[IO[str]], None]) -> Path:
    """Atomically write a text file produced by ``writer(handle)``."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        writer(fh)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write ``text``."""

    def put(fh: IO[str]) -> None:
        fh.write(text)

    return write_with(path, put)


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values (dict, list, str, int, float, bool, None), recursively.

    - a dataclass instance -> a dict of its fields, field by field (not ``asdict``: no deep copy,
      and each field value goes through these same rules);
    - a ``torch.Tensor`` or ``numpy.ndarray`` -> a number (0-d) or nested lists; a NumPy scalar ->
      the Python number;
    - a dict -> a dict with ``str`` keys; a list or tuple -> a list; a ``Path`` -> its string; an
      ``Enum`` member -> its value;
    - a non-finite float (NaN, +-Inf) -> ``None``: JSON has no NaN (RFC 8259, section 6).

    Anything else (a module, a generator, an arbitrary object) is an :class:`InitlabError`.

    >>> import torch
    >>> to_jsonable({"std": torch.tensor([[1.0, float("nan")]]), "n": torch.tensor(3), "p": Path("a/b")})
    {'std': [[1.0, None]], 'n': 3, 'p': 'a/b'}
    """
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, Enum):  # before str/int/float: a StrEnum or IntEnum member gives its value
        return to_jsonable(obj.value)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):  # numpy.float64 is a float too: a plain float comes out
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, torch.Tensor | np.ndarray | np.generic):
        return to_jsonable(obj.tolist())  # 0-d and NumPy scalars give a number, otherwise nested lists
    raise InitlabError(f"cannot write a {type(obj).__name__} as JSON: {obj!r:.80}")


#: The earlier name of :func:`to_jsonable`.
jsonable = to_jsonable


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically write ``obj`` as indented, strict JSON."""
    return write_text(path, json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")
