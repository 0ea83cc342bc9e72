"""Run folders: ``config.json`` (resolved config, versions, seed), ``results.json``, figures (PNG + SVG).

Every file is written atomically, so an interrupted run never leaves a half-written file. The folder
is created when the command starts (so a bad ``--out`` fails before a long run) and removed again if
the run fails before writing anything; ``config.json`` is written with the results, after the run, so
a run that fails on its input (an unknown model, a corrupt dataset) leaves nothing behind and never
touches an earlier run's files.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.env import environment
from ..core.errors import InitlabError
from ..core.io import atomic_path, write_json, write_text


class RunFolder:
    """A run folder at ``path``, created now (an existing file there, or no way to create it, is an error)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InitlabError(f"--out {str(path)!r} exists and is not a folder")
        top = self.path  # the topmost folder this run creates (None: it existed)
        while not top.parent.exists() and top.parent != top:
            top = top.parent
        self._created: Path | None = None if self.path.exists() else top
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InitlabError(f"--out {str(path)!r}: cannot create the folder ({err.strerror})") from None
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise InitlabError(f"--out {str(path)!r}: the folder is not writable")
        self.files: list[str] = []

    def discard(self) -> None:
        """Remove the folders this run created, if it wrote nothing into them (a run that failed)."""
        if self._created is None or self.files:
            return
        folder = self.path
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
        return write_json(self.path / name, obj)

    def write_text(self, name: str, text: str) -> Path:
        self.files.append(name)
        return write_text(self.path / name, text)

    def save_figure(self, fig: Any, stem: str) -> list[Path]:
        """Save ``fig`` as ``stem.png`` (150 dpi) and ``stem.svg``, atomically; closes the figure."""
        out = []
        for ext in ("png", "svg"):
            dest = self.path / f"{stem}.{ext}"
            with atomic_path(dest) as tmp:
                fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
            self.files.append(dest.name)
            out.append(dest)
        from ..viz import pyplot

        pyplot().close(fig)
        return out
