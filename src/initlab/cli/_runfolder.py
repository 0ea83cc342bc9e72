"""Run folders: ``config.json`` (resolved config, versions, seed), ``results.json``, figures (PNG + SVG).

A run never half-overwrites a folder. Everything is checked when the command starts (before a long
run): ``--out`` must be a new folder, an empty one, or -- with ``--force`` -- one holding an earlier
run (its ``config.json``); a folder holding other files, a file, or a place that cannot be written
is an error. The run writes into a hidden staging folder beside ``--out``
(``.<name>.<random>.partial``); when it finishes, :meth:`RunFolder.finish` swaps the staging folder
in as ``--out`` as a whole (an earlier run there is replaced only then). A run that fails, or is
aborted, removes its staging folder and any parent folders it created: nothing is left behind and
an earlier run's files are untouched. Every file is written atomically.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.env import environment
from ..core.errors import InitlabError
from ..core.io import atomic_path, write_json, write_text

#: The file that marks a folder as holding a run.
MARKER = "config.json"


class RunFolder:
    """A run folder for ``path``, checked now, staged by :meth:`start` (see the module docstring).

    ``target`` is where the run ends up (after :meth:`finish`); until then the files go to a staging
    folder beside it, :attr:`staging` (:attr:`path` is where the files are now). ``force``: an
    earlier run at ``path`` may be replaced.
    """

    def __init__(self, path: str | Path, *, force: bool = False) -> None:
        self.target = Path(path)
        self.files: list[str] = []
        shown = repr(str(path))
        final = Path(os.path.abspath(path))
        self._final = final
        if final.exists() and not final.is_dir():
            raise InitlabError(f"--out {shown} exists and is not a folder")
        if final.is_dir():
            try:
                entries = sorted(os.listdir(final))
            except OSError as err:
                raise InitlabError(f"--out {shown}: cannot read the folder ({err.strerror})") from None
            if MARKER in entries and not force:
                raise InitlabError(
                    f"--out {shown} already holds a run ({MARKER}); pass --force to replace it "
                    "when the new run finishes, or choose another --out"
                )
            if entries and MARKER not in entries:
                raise InitlabError(
                    f"--out {shown} holds files that are not a run's ({', '.join(entries[:3])}"
                    f"{', ...' if len(entries) > 3 else ''}); choose a new or empty folder"
                )
        top = final  # the topmost folder this run creates (None: the parent existed)
        while not top.parent.exists() and top.parent != top:
            top = top.parent
        self._created: Path | None = top if top != final else None
        base = top.parent  # the nearest folder that exists
        if not base.is_dir():
            raise InitlabError(f"--out {shown}: cannot create the folder ({str(base)!r} is not a folder)")
        if not os.access(base, os.W_OK | os.X_OK):
            raise InitlabError(f"--out {shown}: cannot create the folder ({str(base)!r} is not writable)")
        self.staging: Path | None = None
        self._where = final

    def start(self) -> None:
        """Create the staging folder (and ``--out``'s missing parents); an OS error is one line."""
        shown = repr(str(self.target))
        try:
            self._final.parent.mkdir(parents=True, exist_ok=True)
            prefix = f".{self._final.name}."
            self.staging = Path(tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=self._final.parent))
        except OSError as err:
            self.discard()
            raise InitlabError(f"--out {shown}: cannot create the folder ({err.strerror})") from None
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(self.staging, 0o777 & ~mask)  # mkdtemp makes 0700; give the folder the usual mode
        self._where = self.staging  # where the files go until finish()

    @property
    def path(self) -> Path:
        """Where the files are now: the staging folder until :meth:`finish`, then ``--out``."""
        return self._where

    def finish(self) -> None:
        """Put the run in place as a whole: the staging folder becomes ``path`` (replacing an earlier run)."""
        final = self._final
        if self.staging is None:
            raise InitlabError("the run folder was never started")  # a bug, not bad input
        try:
            if final.is_dir():
                old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
                os.replace(final, old / "run")
                os.replace(self.staging, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.staging, final)
        except OSError as err:
            self.discard()
            raise InitlabError(
                f"--out {str(self.target)!r}: cannot move the finished run in place ({err})"
            ) from None
        self._where = self.target
        self.staging = None
        self._created = None  # finished: discard() has nothing left to remove

    def discard(self) -> None:
        """Remove the staging folder and the parent folders this run created (a run that failed)."""
        if self.staging is not None and self.staging != self._final:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        if self._created is None:
            return
        folder = self._final.parent
        while True:
            try:
                folder.rmdir()  # only ever removes an empty folder
            except OSError:
                return
            if folder == self._created:
                return
            folder = folder.parent

    @staticmethod
    def config_document(command: str, config: dict[str, Any]) -> dict[str, Any]:
        """``config.json``: the command, its resolved configuration, versions and start time (now)."""
        return {
            "command": command,
            "config": config,
            "versions": environment(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def write_json(self, name: str, obj: Any) -> Path:
        self.files.append(name)
        return write_json(self._where / name, obj)

    def write_text(self, name: str, text: str) -> Path:
        self.files.append(name)
        return write_text(self._where / name, text)

    def save_figure(self, fig: Any, stem: str) -> list[Path]:
        """Save ``fig`` as ``stem.png`` (150 dpi) and ``stem.svg``, atomically; closes the figure."""
        out = []
        for ext in ("png", "svg"):
            dest = self._where / f"{stem}.{ext}"
            with atomic_path(dest) as tmp:
                fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
            self.files.append(dest.name)
            out.append(dest)
        from ..viz import pyplot

        pyplot().close(fig)
        return out
