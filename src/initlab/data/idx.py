"""The IDX file format (MNIST and its relatives), gzipped or raw: a strict reader and a writer.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian
uint32 dimensions, then the values in row-major order, big-endian. The reader checks every part:
the two zero bytes, a known dtype code, the number of dimensions (and, when asked, their values),
and that the data is exactly as long as the dimensions say -- neither truncated nor followed by
trailing bytes. A file that fails any check raises :class:`~initlab.InitlabError` naming the file and
what was wrong. Files starting with the gzip magic ``1f 8b`` are decompressed first.

>>> import tempfile, pathlib, numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x-idx2-ubyte.gz"
>>> _ = write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path, ndim=2).tolist()
[[0, 1, 2], [3, 4, 5]]
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..core.errors import InitlabError

#: IDX dtype codes and their big-endian NumPy types.
DTYPES: dict[int, np.dtype[np.generic]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {np.dtype(t).newbyteorder("="): code for code, t in DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _fail(path: str | os.PathLike[str], what: str) -> InitlabError:
    return InitlabError(f"IDX file {str(path)!r}: {what}")


def decode_idx(
    raw: bytes,
    *,
    name: str | os.PathLike[str] = "<bytes>",
    dtype: np.dtype[np.generic] | type | None = None,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
) -> np.ndarray:
    """Decode the (already decompressed) bytes of an IDX file; see :func:`read_idx`."""
    if len(raw) < 4:
        raise _fail(name, f"truncated: {len(raw)} bytes, shorter than the 4-byte magic number")
    zero, code, nd = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in DTYPES:
        raise _fail(
            name,
            f"bad magic number 0x{raw[:4].hex()} (expected 0x0000TTNN: two zero bytes, a dtype code "
            f"in {{{', '.join(f'0x{c:02x}' for c in DTYPES)}}} and the number of dimensions)",
        )
    if nd == 0:
        raise _fail(name, "bad magic number: 0 dimensions")
    if ndim is not None and nd != ndim:
        raise _fail(name, f"wrong number of dimensions: {nd}, expected {ndim}")
    header = 4 + 4 * nd
    if len(raw) < header:
        raise _fail(name, f"truncated header: {len(raw)} bytes, {nd} dimensions need {header}")
    dims = struct.unpack(f">{nd}I", raw[4:header])
    if shape is not None:
        want = tuple(shape)
        if len(want) != nd or any(w is not None and w != d for w, d in zip(want, dims, strict=False)):
            shown = "(" + ", ".join("*" if w is None else str(w) for w in want) + ")"
            raise _fail(name, f"wrong dimensions {dims}, expected {shown}")
    kind = DTYPES[code]
    if dtype is not None and np.dtype(dtype).newbyteorder("=") != kind.newbyteorder("="):
        raise _fail(name, f"wrong dtype {kind.newbyteorder('=').name} (code 0x{code:02x}), expected {dtype}")
    count = int(np.prod(dims, dtype=np.int64))
    need = count * kind.itemsize
    have = len(raw) - header
    if have < need:
        raise _fail(name, f"truncated: dimensions {dims} need {need} data bytes, found {have}")
    if have > need:
        raise _fail(name, f"{have - need} trailing bytes after the {need} data bytes of dimensions {dims}")
    data = np.frombuffer(raw, dtype=kind, count=count, offset=header).reshape(dims)
    return data.astype(kind.newbyteorder("="), copy=True)  # native byte order, writable


def read_idx(
    path: str | os.PathLike[str],
    *,
    dtype: np.dtype[np.generic] | type | None = None,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
) -> np.ndarray:
    """Read an IDX file (gzipped or raw) into a native-endian NumPy array, checking it strictly.

    ``dtype``, ``ndim`` and ``shape`` (``None`` entries match any size) are optional expectations;
    a mismatch, a bad magic number, a truncated file or trailing bytes raise ``InitlabError``.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise _fail(p, f"cannot be read ({err.strerror or err})") from err
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise _fail(p, f"corrupt or truncated gzip data ({err})") from err
    return decode_idx(raw, name=p, dtype=dtype, ndim=ndim, shape=shape)


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of ``array`` (dtype uint8, int8, int16, int32, float32 or float64)."""
    arr = np.asarray(array)
    code = _CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise InitlabError(f"IDX cannot store dtype {arr.dtype}; use one of {sorted(str(k) for k in _CODES)}")
    if arr.ndim == 0 or arr.ndim > 255:
        raise InitlabError(f"IDX stores 1 to 255 dimensions, got an array of shape {arr.shape}")
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + np.ascontiguousarray(arr, dtype=DTYPES[code]).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzipped when ``compress`` (default: when the name ends in .gz)."""
    p = Path(path)
    raw = encode_idx(array)
    if compress if compress is not None else p.suffix == ".gz":
        raw = gzip.compress(raw, mtime=0)
    p.write_bytes(raw)
    return p
