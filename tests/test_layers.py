"""The layout's dependency rule holds, and the check would catch a planted violation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import initlab
from layers import FACADE, LAYERS, suite_violations, violations

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
    names -= FACADE
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


TESTS = Path(__file__).parent


def test_tests_use_public_names_and_mirror_the_layout() -> None:
    found = suite_violations(TESTS)
    assert not found, "\n".join(str(v) for v in found)


def _planted_test(tmp_path: Path, rel: str, text: str) -> list[str]:
    """The violations of a suite holding one file, ``rel`` (the rules look at one file at a time; the
    real suite, checked above, has none)."""
    root = tmp_path / "tests"
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text + "\n")
    return [str(v) for v in suite_violations(root)]


@pytest.mark.parametrize(
    ("line", "target"),
    [
        ("from initlab.train._engine import Engine", "initlab.train._engine"),
        ("import initlab.tools._trace", "initlab.tools._trace"),
        ("from initlab.train.trainer import _Sampler", "initlab.train.trainer._Sampler"),
        ("from initlab.cli import _interrupt", "initlab.cli._interrupt"),
        ("import initlab\nx = initlab.tools._trace.followers", "initlab.tools._trace"),
        ("mp.setattr('initlab.cli._interrupt.Stop.__call__', f)", "initlab.cli._interrupt.Stop.__call__"),
    ],
)
def test_planted_private_use_in_a_test_is_caught(tmp_path: Path, line: str, target: str) -> None:
    found = _planted_test(tmp_path, "train/test_planted.py", "from initlab.train import train\n" + line)
    assert len(found) == 1 and f"imports {target}:" in found[0] and "private" in found[0], found


def test_public_names_and_dunders_pass(tmp_path: Path) -> None:
    text = "import initlab\nfrom initlab import __version__\nfrom initlab.train import Sampler\n"
    text += "x = initlab.__file__"
    assert _planted_test(tmp_path, "train/test_planted.py", text) == []


@pytest.mark.parametrize(
    ("rel", "why"),
    [
        ("test_stray.py", "outside tests/<layer>/"),
        ("misc/test_stray.py", "mirrors no layer"),
        ("train/deeper/test_stray.py", "mirrors no layer"),
        ("theory/test_stray.py", "never imports the layer it mirrors"),
    ],
)
def test_planted_misplaced_test_file_is_caught(tmp_path: Path, rel: str, why: str) -> None:
    found = _planted_test(tmp_path, rel, "from initlab.train import train")
    assert len(found) == 1 and why in found[0], found
