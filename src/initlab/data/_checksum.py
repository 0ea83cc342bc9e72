"""Checksums: the one place where files are hashed and compared with the catalogue.

A file is accepted when its size and digest match the published original (SHA-256 where the
catalogue has it, MD5 otherwise) or one of the known repacks of the same content (e.g. Debian's
re-gzipped copy, by SHA-256). Digests are memoised per process on (path, size, mtime), so a file is
hashed once per process however often it is loaded.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import InitlabError

if TYPE_CHECKING:
    from .catalogue import DataFile

_MEMO: dict[tuple[str, int, int, str], str] = {}
_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """Hex digest (``"sha256"`` or ``"md5"``) of a file, read in 1 MiB chunks."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, algorithm)
    hit = _MEMO.get(key)
    if hit is not None:
        return hit
    h = hashlib.new(algorithm)
    with open(p, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    _MEMO[key] = digest = h.hexdigest()
    return digest


def verify(path: str | os.PathLike[str], expected: DataFile) -> str:
    """Check ``path`` against the catalogue entry; returns which variant matched, else raises.

    The error names the file, the size or digest found and the one expected.
    """
    p = Path(path)
    size = p.stat().st_size
    variants = expected.variants()
    sized = [v for v in variants if v.size is None or v.size == size]
    if not sized:
        sizes = ", ".join(f"{v.size} ({v.source})" for v in variants)
        raise InitlabError(
            f"{str(p)!r}: size {size} bytes, expected {sizes}; the file is incomplete or not {expected.name}"
        )
    for v in sized:
        if file_digest(p, v.algorithm) == v.digest:
            return v.source
    first = sized[0]
    raise InitlabError(
        f"{str(p)!r}: checksum mismatch: {first.algorithm} {file_digest(p, first.algorithm)}, expected "
        f"{first.digest} ({first.source} {expected.name}); the file is corrupt or not the published one"
    )
