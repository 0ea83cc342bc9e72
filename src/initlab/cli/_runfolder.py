"""Run folders: ``config.json`` (resolved config, versions, seed), ``results.json``, figures (PNG + SVG).

Every file is written atomically, so an interrupted run never leaves a half-written file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.env import environment
from ..core.errors import InitlabError
from ..core.io import atomic_path, write_json, write_text


class RunFolder:
    """A run folder at ``path`` (created if missing; an existing file there is an error)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InitlabError(f"--out {str(path)!r} exists and is not a folder")
        self.path.mkdir(parents=True, exist_ok=True)
        self.files: list[str] = []

    def write_config(self, command: str, config: dict[str, Any]) -> Path:
        """``config.json``: the command, its resolved configuration, versions and start time."""
        doc = {
            "command": command,
            "config": config,
            "versions": environment(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return self.write_json("config.json", doc)

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
