"""The layout's dependency rule holds, and the check would catch a planted violation."""

from __future__ import annotations

import shutil
from pathlib import Path

import initlab
from layers import LAYERS, violations

PACKAGE = Path(initlab.__file__).parent


def test_imports_only_go_down() -> None:
    found = violations(PACKAGE)
    assert not found, "\n".join(str(v) for v in found)


def test_every_folder_is_a_layer() -> None:
    names = {
        p.stem
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"
    }
    names -= {"__init__", "__main__"}
    assert names == {n for layer in LAYERS for n in layer}


def _planted(tmp_path: Path, rel: str, line: str) -> list[str]:
    root = tmp_path / "initlab"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__", "*.gz"))
    target = root / rel
    target.write_text(target.read_text() + "\n" + line + "\n")
    return [str(v) for v in violations(root)]


def test_planted_upward_import_is_caught(tmp_path: Path) -> None:
    found = _planted(tmp_path, "schemes/_apply.py", "from ..tools import auto_init_")
    assert len(found) == 1 and "upward (schemes is below tools)" in found[0], found


def test_planted_lazy_upward_import_outside_studies_is_caught(tmp_path: Path) -> None:
    found = _planted(tmp_path, "theory/__init__.py", "def f():\n    from ..studies import probe")
    assert len(found) == 1 and "upward" in found[0], found


def test_planted_private_import_is_caught(tmp_path: Path) -> None:
    found = _planted(tmp_path, "train/trainer.py", "from ..schemes._laws import Normal")
    assert len(found) == 1 and "private module of another layer" in found[0], found


def test_planted_facade_import_is_caught(tmp_path: Path) -> None:
    found = _planted(tmp_path, "core/env.py", "from .. import __version__")
    assert len(found) == 1 and "facade" in found[0], found
