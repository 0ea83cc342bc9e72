"""The IDX reader: round trips, and every way a file can be wrong names the file and the fault."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from initlab import InitlabError
from initlab.data.idx import decode_idx, encode_idx, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path: Path, dtype: type, suffix: str) -> None:
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((5, 4, 3)) * 100).astype(dtype)
    path = write_idx(tmp_path / f"x-idx3{suffix}", arr)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path, dtype=dtype, ndim=3, shape=(None, 4, 3))
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)
    back.flat[0] = 1  # writable, native byte order


def test_mnist_style_header_bytes() -> None:
    """Images: magic 0x00000803 then count, rows, cols, big-endian (as MNIST's files are)."""
    raw = encode_idx(np.zeros((2, 28, 28), dtype=np.uint8))
    assert raw[:16] == bytes.fromhex("00000803") + struct.pack(">III", 2, 28, 28)
    assert len(raw) == 16 + 2 * 28 * 28
    assert encode_idx(np.array([7, 1], dtype=np.uint8))[:8] == bytes.fromhex("00000801") + struct.pack(
        ">I", 2
    )
    # multi-byte values are big-endian on disk
    assert encode_idx(np.array([1], dtype=np.int32))[-4:] == b"\x00\x00\x00\x01"


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_round_trip_property(shape: list[int], dtype: type, seed: int) -> None:
    arr = np.random.default_rng(seed).integers(-100, 100, size=shape).astype(dtype)
    np.testing.assert_array_equal(decode_idx(encode_idx(arr)), arr)


def _labels(tmp_path: Path, raw: bytes, name: str = "bad-idx1-ubyte") -> Path:
    p = tmp_path / name
    p.write_bytes(raw)
    return p


GOOD = encode_idx(np.arange(10, dtype=np.uint8))


@pytest.mark.parametrize(
    ("raw", "fault"),
    [
        (b"\x01\x00\x08\x01" + GOOD[4:], "bad magic number 0x01000801"),
        (b"\x00\x00\x07\x01" + GOOD[4:], "bad magic number 0x00000701"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00", "shorter than the 4-byte magic"),
        (GOOD[:6], "truncated header"),
        (GOOD[:-3], "truncated: dimensions (10,) need 10 data bytes, found 7"),
        (GOOD + b"garbage", "7 trailing bytes after the 10 data bytes"),
    ],
)
def test_bad_files_name_file_and_fault(tmp_path: Path, raw: bytes, fault: str) -> None:
    p = _labels(tmp_path, raw)
    with pytest.raises(InitlabError) as err:
        read_idx(p)
    assert str(p) in str(err.value)
    assert fault in str(err.value)


def test_wrong_dims_and_dtype(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "img-idx3-ubyte", np.zeros((3, 28, 27), dtype=np.uint8))
    with pytest.raises(InitlabError, match=r"wrong dimensions \(3, 28, 27\), expected \(\*, 28, 28\)"):
        read_idx(p, shape=(None, 28, 28))
    with pytest.raises(InitlabError, match="wrong number of dimensions: 3, expected 1"):
        read_idx(p, ndim=1)
    with pytest.raises(InitlabError, match="wrong dtype uint8"):
        read_idx(p, dtype=np.float32)
    read_idx(p, shape=(3, 28, 27), dtype=np.uint8)  # the right expectations pass


def test_truncated_and_corrupt_gzip(tmp_path: Path) -> None:
    data = gzip.compress(encode_idx(np.arange(1000, dtype=np.int32)))
    p = _labels(tmp_path, data[: len(data) // 2], "cut-idx1.gz")
    with pytest.raises(InitlabError, match="corrupt or truncated gzip") as err:
        read_idx(p)
    assert str(p) in str(err.value)
    p2 = _labels(tmp_path, data[:10] + bytes(len(data) - 10), "zeros-idx1.gz")
    with pytest.raises(InitlabError, match="corrupt or truncated gzip"):
        read_idx(p2)


def test_gzip_of_truncated_idx_is_reported_as_truncated(tmp_path: Path) -> None:
    p = _labels(tmp_path, gzip.compress(GOOD[:-1]), "short-idx1.gz")
    with pytest.raises(InitlabError, match="truncated: dimensions"):
        read_idx(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InitlabError, match="cannot be read"):
        read_idx(tmp_path / "nope")


def test_writer_refuses_unstorable_dtypes(tmp_path: Path) -> None:
    with pytest.raises(InitlabError, match="cannot store dtype"):
        encode_idx(np.zeros(3, dtype=np.int64))
    with pytest.raises(InitlabError, match="1 to 255 dimensions"):
        encode_idx(np.array(3, dtype=np.uint8))
