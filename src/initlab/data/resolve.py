"""Finding a dataset's files, and downloading them when they are nowhere to be found.

For each of the four files, the first folder that holds it wins, in this order:

1. ``data_dir`` (``--data-dir``), as ``<dir>/<name>/<file>`` or ``<dir>/<file>``; a ``data_dir`` is
   a promise: if it does not hold all four files the load is an error naming the files and the
   folders looked in (it never falls back to another copy silently);
2. ``$INITLAB_DATA``, the same two layouts;
3. the copy shipped inside initlab (MNIST only);
4. the user cache, ``$XDG_CACHE_HOME/initlab/<name>`` (default ``~/.cache/initlab/<name>``);
5. the system folder ``/usr/share/datasets/<name>`` (Debian's ``dataset-fashion-mnist`` package);
6. a download from the dataset's mirrors, in order, into the user cache.

No file is ever used unverified: a file found in 1-3 or 5 that fails its checksum is an error naming
it (a corrupt file in the cache is deleted and downloaded again). A download goes to
``<cache>/<name>/<file>.part``, resumes with an HTTP ``Range`` request after a broken transfer (also
in a later run), and is moved into place only once its checksum matches; a mismatch deletes it.
Progress goes to an optional ``progress(done_bytes, total_bytes, file=name)`` callback.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import InitlabError
from ._checksum import verify
from .catalogue import ROLES, DataFile, DatasetInfo, Role

#: Environment variable naming a folder of datasets (searched after ``data_dir``).
ENV_VAR = "INITLAB_DATA"
#: Debian's folder for dataset packages.
SYSTEM_DATASETS = Path("/usr/share/datasets")
#: Folder of the files shipped with initlab.
BUNDLED = Path(__file__).parent

Progress = Callable[..., None]


@dataclass(frozen=True)
class Located:
    """A verified file: where it is and how it was found (``"--data-dir"``, ``"cache"``, ...)."""

    path: Path
    origin: str


def cache_dir() -> Path:
    """The user cache for initlab: ``$XDG_CACHE_HOME/initlab``, else ``~/.cache/initlab``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "initlab"


def search_path(info: DatasetInfo, data_dir: str | os.PathLike[str] | None = None) -> list[tuple[str, Path]]:
    """The folders searched for ``info``'s files, in order, each with its origin label."""
    dirs: list[tuple[str, Path]] = []
    for origin, root in (("--data-dir", data_dir), (f"${ENV_VAR}", os.environ.get(ENV_VAR) or None)):
        if root is not None:
            dirs += [(origin, Path(root) / info.name), (origin, Path(root))]
    if info.bundled is not None:
        dirs.append(("package data", BUNDLED / info.bundled))
    dirs.append(("cache", cache_dir() / info.name))
    dirs.append(("system", SYSTEM_DATASETS / info.name))
    return dirs


def locate(
    info: DatasetInfo,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> dict[Role, Located]:
    """Find (or download) and verify the four files of ``info``."""
    if data_dir is not None and not Path(data_dir).is_dir():
        raise InitlabError(f"--data-dir {str(data_dir)!r} is not a folder")
    if data_dir is not None:
        _check_data_dir(info, data_dir)
    found: dict[Role, Located] = {}
    for role in ROLES:
        found[role] = _locate_one(info, info.files[role], data_dir, download, progress, timeout)
    return found


def _check_data_dir(info: DatasetInfo, data_dir: str | os.PathLike[str]) -> None:
    """``InitlabError`` unless ``data_dir`` holds every file of ``info`` (in one of its two layouts)."""
    folders = [Path(data_dir) / info.name, Path(data_dir)]
    missing = [f.name for f in info.files.values() if not any((d / f.name).is_file() for d in folders)]
    if missing:
        where = " or ".join(repr(str(d)) for d in folders)
        raise InitlabError(
            f"--data-dir {str(data_dir)!r} does not hold {info.name}: looked for {', '.join(missing)} "
            f"in {where}"
        )


def how_to_provide(info: DatasetInfo) -> str:
    """How a user puts ``info``'s files where initlab finds them without a download."""
    names = ", ".join(f.name for f in info.files.values())
    return (
        f"to work offline, put {names} in a folder and pass --data-dir FOLDER "
        f"(or set ${ENV_VAR}, or copy them to {cache_dir() / info.name})"
    )


def _locate_one(
    info: DatasetInfo,
    file: DataFile,
    data_dir: str | os.PathLike[str] | None,
    download: bool,
    progress: Progress | None,
    timeout: float,
) -> Located:
    searched = search_path(info, data_dir)
    for origin, folder in searched:
        path = folder / file.name
        if not path.is_file():
            continue
        if origin == "cache":
            try:
                verify(path, file)
            except InitlabError:
                path.unlink()  # ours to replace: download it again
                break
            return Located(path, origin)
        try:
            verify(path, file)
        except InitlabError as err:
            raise InitlabError(f"{info.name} ({origin}): {err}") from None
        return Located(path, origin)
    if not download:
        where = ", ".join(sorted({str(f) for _, f in searched}))
        raise InitlabError(f"{info.name}: {file.name} not found in {where} (downloads are off)")
    dest = cache_dir() / info.name / file.name
    try:
        url = download_file(file, info.mirrors, dest, progress=progress, timeout=timeout)
    except InitlabError as err:
        raise InitlabError(f"{info.name}: {err}; {how_to_provide(info)}") from None
    return Located(dest, f"download {url}")


class _Broken(OSError):
    """The server closed the connection before sending everything it announced."""


def download_file(
    file: DataFile,
    mirrors: Sequence[str],
    dest: Path,
    *,
    progress: Progress | None = None,
    timeout: float = 30.0,
    attempts: int = 3,
) -> str:
    """Download ``file`` from the first mirror that serves it intact to ``dest``; returns the URL.

    Each mirror gets ``attempts`` tries, each resuming the ``.part`` file where the last one broke
    off. A complete download that fails its checksum is deleted and the next mirror is tried.
    """
    if not mirrors:
        raise InitlabError(
            f"{file.name}: not found locally and the catalogue lists no mirror to download from"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    problems: list[str] = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + file.name
        for _ in range(attempts):
            try:
                _fetch(url, part, file.size, progress, timeout)
                break
            except urllib.error.HTTPError as err:
                problems.append(f"{url}: HTTP {err.code} {err.reason}")
                if err.code not in (408, 429, 500, 502, 503, 504):
                    break
            except (OSError, http.client.HTTPException) as err:
                problems.append(f"{url}: {type(err).__name__}: {err}")
        else:
            continue  # every attempt broke off: next mirror (the .part file is kept for resuming)
        if not part.is_file():
            continue
        try:
            verify(part, file)
        except InitlabError as err:
            part.unlink()
            problems.append(f"{url}: {err} (deleted)")
            continue
        os.replace(part, dest)
        return url
    raise InitlabError(f"could not download {file.name}: tried " + "; ".join(_once(problems)))


def _once(problems: list[str]) -> list[str]:
    """Each distinct problem once, with how many times it happened (``(3 times)``)."""
    counts: dict[str, int] = {}
    for p in problems:
        counts[p] = counts.get(p, 0) + 1
    return [p if n == 1 else f"{p} ({n} times)" for p, n in counts.items()]


def _fetch(url: str, part: Path, size: int | None, progress: Progress | None, timeout: float) -> None:
    """Download ``url`` into ``part``, resuming from its current length with a Range request."""
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have >= size:
        return  # complete already; the checksum decides
    headers = {"User-Agent": "initlab (dataset download)"}
    if have:
        headers["Range"] = f"bytes={have}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp: Any = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # nothing left to send: complete
            return
        raise
    with resp:
        if have and resp.status != 206:
            have = 0  # the server ignored the Range header: start over
        length = resp.headers.get("Content-Length")
        expected = have + int(length) if length is not None else size
        with open(part, "ab" if have else "wb") as out:
            done = have
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, expected or done, file=part.name.removesuffix(".part"))
    if expected is not None and done < expected:
        raise _Broken(f"connection closed after {done} of {expected} bytes")
