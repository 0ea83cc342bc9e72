"""Finding, verifying and downloading dataset files. A local http.server on 127.0.0.1 is the mirror."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from initlab import InitlabError, load_dataset
from initlab.data import (
    DataFile,
    DatasetInfo,
    Repack,
    dataset_info,
    datasets,
    register_dataset,
    resolve,
    verify,
)
from initlab.data.catalogue import ROLES
from initlab.data.idx import write_idx

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass
class Mirror:
    """What the test server serves and saw."""

    root: Path
    url: str = ""
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    cut_once: set[str] = field(default_factory=set)  # file names whose first transfer breaks midway
    ignore_range: bool = False


def _handler(mirror: Mirror) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        """GET with Range support; can cut a transfer midway (once per file)."""

        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            rng = self.headers.get("Range")
            mirror.requests.append((name, rng))
            path = mirror.root / name
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            start = 0
            if rng and not mirror.ignore_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if name in mirror.cut_once:
                mirror.cut_once.discard(name)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    root = tmp_path / "mirror"
    root.mkdir()
    m = Mirror(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(m))
    # a short poll interval: shutdown() waits up to one interval (the default, 0.5 s, per test)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    m.url = f"http://127.0.0.1:{server.server_address[1]}/"
    yield m
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache, no $INITLAB_DATA, and a private 'system' folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("INITLAB_DATA", raising=False)
    monkeypatch.setattr(resolve, "SYSTEM_DATASETS", tmp_path / "system")
    return tmp_path


def make_files(folder: Path, seed: int = 0) -> dict[str, bytes]:
    """Tiny synthetic dataset: 30 training and 12 test 28x28 images; returns name -> bytes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(30) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(12) % 10).astype(np.uint8),
    }
    out = {}
    for role, arr in arrays.items():
        p = write_idx(folder / FILES[role], arr)
        out[FILES[role]] = p.read_bytes()
    return out


def info_for(files: dict[str, bytes], url: str = "http://127.0.0.1:9/", *, sha: bool = True) -> DatasetInfo:
    def entry(name: str) -> DataFile:
        data = files[name]
        if sha:
            return DataFile(name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        return DataFile(name, md5=hashlib.md5(data).hexdigest())

    return DatasetInfo(
        name="tiny",
        title="tiny test set",
        files={role: entry(FILES[role]) for role in ROLES},  # type: ignore[misc]
        mirrors=(url,),
        classes=tuple(str(i) for i in range(10)),
        license="-",
        citation="-",
        sizes=(30, 12),
    )


def cached(tmp: Path) -> list[str]:
    folder = tmp / "cache" / "initlab" / "tiny"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_caches_and_reports_progress(mirror: Mirror, isolated: Path) -> None:
    files = make_files(mirror.root)
    info = info_for(files, mirror.url)
    seen: list[tuple[int, int, str]] = []
    ds = load_dataset(info, progress=lambda done, total, **kw: seen.append((done, total, kw["file"])))
    assert ds.train_x.shape == (30, 784) and ds.test_x.shape == (12, 784)
    assert (
        ds.train_x.dtype == torch.float32 and 0.0 <= float(ds.train_x.min()) <= float(ds.train_x.max()) <= 1.0
    )
    assert ds.train_y.dtype == torch.int64 and ds.train_y.tolist() == [i % 10 for i in range(30)]
    assert all("download" in origin for origin in ds.files.values())
    assert cached(isolated) == sorted(FILES.values())  # no .part left over
    assert {name for _, _, name in seen} == set(FILES.values())
    assert seen[-1][0] == seen[-1][1]
    # second load: from the cache, no request
    n = len(mirror.requests)
    ds2 = load_dataset(info)
    assert len(mirror.requests) == n
    assert all(origin.endswith("(cache)") for origin in ds2.files.values())
    torch.testing.assert_close(ds2.train_x, ds.train_x)


def test_md5_only_entries_work(mirror: Mirror) -> None:
    info = info_for(make_files(mirror.root), mirror.url, sha=False)
    assert load_dataset(info).test_y.tolist() == [i % 10 for i in range(12)]


def test_resume_after_broken_transfer(mirror: Mirror, isolated: Path) -> None:
    files = make_files(mirror.root)
    name = FILES["train_images"]
    mirror.cut_once.add(name)
    ds = load_dataset(info_for(files, mirror.url))
    assert ds.train_x.shape == (30, 784)
    got = [rng for path, rng in mirror.requests if path == name]
    assert got == [None, f"bytes={len(files[name]) // 2}-"]  # the second request resumed
    assert cached(isolated) == sorted(FILES.values())


def test_resume_from_part_file_of_an_earlier_run(mirror: Mirror, isolated: Path) -> None:
    files = make_files(mirror.root)
    name = FILES["test_images"]
    part = isolated / "cache" / "initlab" / "tiny" / (name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(files[name][:100])
    load_dataset(info_for(files, mirror.url))
    assert [rng for path, rng in mirror.requests if path == name] == ["bytes=100-"]
    assert (part.parent / name).read_bytes() == files[name]


def test_server_ignoring_range_restarts_cleanly(mirror: Mirror, isolated: Path) -> None:
    files = make_files(mirror.root)
    name = FILES["test_images"]
    part = isolated / "cache" / "initlab" / "tiny" / (name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes from somewhere else")
    mirror.ignore_range = True
    load_dataset(info_for(files, mirror.url))
    assert (part.parent / name).read_bytes() == files[name]


def test_checksum_mismatch_is_an_error_and_leaves_nothing(mirror: Mirror, isolated: Path) -> None:
    files = make_files(mirror.root)
    info = info_for(files, mirror.url)
    name = FILES["train_labels"]
    bad = bytearray(files[name])
    bad[-5] ^= 0xFF  # same size, different bytes
    (mirror.root / name).write_bytes(bytes(bad))
    with pytest.raises(InitlabError, match="checksum mismatch") as err:
        load_dataset(info)
    assert name in str(err.value)
    assert name not in cached(isolated) and name + ".part" not in cached(isolated)


def test_missing_on_every_mirror(mirror: Mirror) -> None:
    files = make_files(mirror.root)
    info = info_for(files, mirror.url)
    (mirror.root / FILES["test_labels"]).unlink()
    with pytest.raises(InitlabError, match=r"could not download t10k-labels-idx1-ubyte.gz: .*HTTP 404"):
        load_dataset(info)


def test_no_download_lists_where_it_looked(isolated: Path) -> None:
    info = info_for(make_files(isolated / "elsewhere"))
    with pytest.raises(InitlabError, match=r"not found in .*downloads are off"):
        load_dataset(info, download=False)


def test_resolution_order(mirror: Mirror, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = make_files(isolated / "src")
    info = info_for(files, mirror.url)
    # system folder (Debian's /usr/share/datasets/<name>)
    make_files(isolated / "system" / "tiny")
    assert all(o.endswith("(system)") for o in load_dataset(info).files.values())
    # the cache wins over the system folder
    make_files(isolated / "cache" / "initlab" / "tiny")
    assert all(o.endswith("(cache)") for o in load_dataset(info).files.values())
    # $INITLAB_DATA (<dir>/<name>/) wins over the cache
    make_files(isolated / "env" / "tiny")
    monkeypatch.setenv("INITLAB_DATA", str(isolated / "env"))
    assert all(o.endswith("($INITLAB_DATA)") for o in load_dataset(info).files.values())
    # --data-dir (<dir>/ directly) wins over everything
    make_files(isolated / "mine")
    ds = load_dataset(info, data_dir=isolated / "mine")
    assert all(o.endswith("(--data-dir)") for o in ds.files.values())
    assert mirror.requests == []


def test_corrupt_local_file_is_an_error_naming_it(isolated: Path) -> None:
    files = make_files(isolated / "mine")
    info = info_for(files)
    target = isolated / "mine" / FILES["test_images"]
    target.write_bytes(target.read_bytes()[:-1])
    with pytest.raises(InitlabError) as err:
        load_dataset(info, data_dir=isolated / "mine")
    msg = str(err.value)
    assert str(target) in msg and "size" in msg and "--data-dir" in msg


def test_corrupt_cached_file_is_downloaded_again(mirror: Mirror, isolated: Path) -> None:
    files = make_files(mirror.root)
    info = info_for(files, mirror.url)
    make_files(isolated / "cache" / "initlab" / "tiny")
    name = FILES["train_labels"]
    (isolated / "cache" / "initlab" / "tiny" / name).write_bytes(b"junk")
    load_dataset(info)
    assert [p for p, _ in mirror.requests] == [name]


def test_data_dir_must_be_a_folder(isolated: Path) -> None:
    with pytest.raises(InitlabError, match="is not a folder"):
        load_dataset(info_for(make_files(isolated / "x")), data_dir=isolated / "missing")


def test_verified_file_with_bad_content_is_still_rejected(isolated: Path) -> None:
    """A checksum only proves the bytes are the catalogued ones; the reader still checks the format."""
    folder = isolated / "mine"
    files = make_files(folder)
    write_idx(folder / FILES["test_labels"], np.arange(5, dtype=np.uint8))  # 5 labels for 12 images
    files[FILES["test_labels"]] = (folder / FILES["test_labels"]).read_bytes()
    with pytest.raises(InitlabError, match="12 images but 5 labels"):
        load_dataset(info_for(files), data_dir=folder)


def test_repacks_are_accepted_by_their_own_digest(tmp_path: Path) -> None:
    p = tmp_path / "f.gz"
    p.write_bytes(b"repacked bytes")
    entry = DataFile(
        "f.gz", md5="0" * 32, repacks=(Repack("Debian x", hashlib.sha256(b"repacked bytes").hexdigest(), 14),)
    )
    assert verify(p, entry) == "Debian x"
    with pytest.raises(InitlabError, match="checksum mismatch: md5"):
        verify(p, replace(entry, repacks=()))


def test_catalogue() -> None:
    assert {"mnist", "fashion-mnist", "kmnist"} <= set(datasets())
    for name in datasets():
        info = dataset_info(name)
        assert set(info.files) == set(ROLES) and info.mirrors
        for f in info.files.values():
            assert f.variants()
    assert dataset_info("Fashion_MNIST").name == "fashion-mnist"
    with pytest.raises(InitlabError, match="did you mean: mnist"):
        dataset_info("mnsit")
    with pytest.raises(InitlabError, match="already registered"):
        register_dataset(dataset_info("mnist"))
    with pytest.raises(InitlabError, match="no checksum"):
        replace(dataset_info("mnist"), files={**dataset_info("mnist").files, "test_labels": DataFile("x")})


def test_bundled_mnist_works_offline() -> None:
    ds = load_dataset("mnist")
    assert ds.train_x.shape == (60000, 784) and ds.test_x.shape == (10000, 784)
    assert all(o.endswith("(package data)") for o in ds.files.values())
    assert abs(float(ds.train_x.double().mean()) * 255 - 33.3184) < 1e-3  # the published mean pixel
    assert torch.bincount(ds.test_y).tolist()[:2] == [980, 1135]
    assert ds.classes == tuple("0123456789")


def test_data_dir_without_the_dataset_is_an_error_naming_what_was_looked_for(isolated: Path) -> None:
    """A --data-dir is never silently replaced by another copy (here: the bundled MNIST)."""
    empty = isolated / "empty"
    empty.mkdir()
    with pytest.raises(InitlabError) as err:
        load_dataset("mnist", data_dir=empty)
    msg = str(err.value)
    assert "does not hold mnist" in msg and str(empty) in msg and "train-images-idx3-ubyte.gz" in msg
    # one file missing of four: still an error, naming just that file
    files = make_files(isolated / "partial")
    (isolated / "partial" / FILES["test_labels"]).unlink()
    with pytest.raises(InitlabError, match=r"looked for t10k-labels-idx1-ubyte.gz in") as err:
        load_dataset(info_for(files), data_dir=isolated / "partial")
    assert FILES["train_images"] not in str(err.value)


def test_offline_download_failure_says_once_what_was_tried_and_how_to_provide_the_files(
    isolated: Path,
) -> None:
    info = info_for(make_files(isolated / "elsewhere"), "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(InitlabError) as err:
        load_dataset(info)
    msg = str(err.value)
    url = "http://127.0.0.1:9/" + FILES["train_images"]
    assert msg.count(url) == 1 and "(3 times)" in msg
    assert "--data-dir" in msg and "$INITLAB_DATA" in msg and str(isolated / "cache") in msg
    assert not cached(isolated)  # no part file for a download that never started
