"""Bad input, command by command and class by class: exit 2, one ``error:`` line, no traceback,
nothing new or changed on disk.

Every case runs in-process (``initlab.cli.main``) inside a scratch folder that is also the working
directory, and fails before any long work (tiny sizes), so the whole suite takes a few seconds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from initlab.cli import main

TINY: dict[str, list[str]] = {  # each command's cheapest valid run (with --out added)
    "probe": ["probe", "--layers", "1", "--width", "4", "--samples", "4"],
    "compare": ["compare", "--layers", "1", "--width", "4", "--iterations", "1"],
    "symmetry": ["symmetry", "--layers", "1", "--width", "4", "--iterations", "1"],
    "reproduce": ["reproduce", "--quick"],
    "diagnose": ["diagnose", "initlab.examples:mlp20_relu", "--input-shape", "100", "--batch", "2"],
    "depth": [
        *("depth", "--model", "mlp(layers={depth}, width=4)", "--depths", "1", "--init", "he_normal"),
        *("--seeds", "1", "--iterations", "1", "--eval-size", "8", "--probe-samples", "2"),
    ],
    "phase": [
        *("phase", "--depth", "1", "--width", "4", "--iterations", "1", "--sigma-w2", "1"),
        *("--sigma-b2", "0", "--resolution", "2", "--eval-size", "8"),
    ],
    "sweep": [
        "sweep",
        "--model",
        "mlp(layers=1, width=4)",
        "--iterations",
        "1",
        "--seeds",
        "1",
        "--eval-size",
        "8",
    ],
}
STUDIES = list(TINY)

#: Classes of bad input that apply to every study command: (class, extra argv, words of the error).
#: ``{dir}`` is the scratch folder; ``OUT`` stands for a good ``--out``.
COMMON: list[tuple[str, list[str], str]] = [
    ("unknown flag", ["--no-such-flag", "--out", "OUT"], "unrecognized arguments: --no-such-flag"),
    ("negative seed", ["--seed", "-1", "--out", "OUT"], "seed must be >= 0, got -1"),
    ("seed not an integer", ["--seed", "1.5", "--out", "OUT"], "invalid int value: '1.5'"),
    ("--out is a file", ["--out", "{dir}/a-file"], "exists and is not a folder"),
    ("--out under a file", ["--out", "{dir}/a-file/run"], "cannot create the folder"),
    ("--out holds a run", ["--out", "{dir}/old-run"], "already holds a run (config.json); pass --force"),
    ("--out holds other files", ["--out", "{dir}/notes"], "holds files that are not a run's (notes.txt)"),
    ("--out impossible", ["--out", "/proc/initlab-no-such/run"], "cannot create the folder"),
    ("--debug misplaced stays no flag", ["--seed", "-1", "--out", "OUT"], "seed must be >= 0"),
]

#: Classes of bad input of one command: (command, class, argv after the command's TINY, error words).
OWN: list[tuple[str, str, list[str], str]] = [
    ("probe", "value out of range", ["--layers", "0"], "layers must be >= 1, got 0"),
    ("probe", "absurd sizes", ["--width", "100000", "--samples", "100000"], "of memory, more than"),
    ("probe", "unknown activation", ["--activation", "rellu"], "'rellu'"),
    ("probe", "bad spec", ["--init", "normal(std=-1)"], "normal(std=-1)"),
    ("probe", "device not there", ["--device", "cuda:7"], "device cuda:7 is not available"),
    ("probe", "unknown device", ["--device", "gpu"], "unknown device 'gpu'; use one of auto, cpu"),
    ("probe", "unknown family", ["--model", "resnett(depth=8)"], "unknown model family 'resnett'"),
    ("probe", "unknown family parameter", ["--model", "mlp(depht=3)"], "no parameter 'depht'"),
    (
        "probe",
        "absurd model sizes",
        ["--model", "cnn(depth=2, channels=64)", "--samples", "10000000"],
        "of memory, more than",
    ),
    ("compare", "value out of range", ["--lr", "-1"], "-1"),
    ("compare", "absurd sizes", ["--width", "1000000"], "of memory, more than"),
    ("compare", "unknown dataset", ["--dataset", "mnsit"], "'mnsit'"),
    ("compare", "--data-dir not a folder", ["--data-dir", "{dir}/a-file"], "a-file"),
    ("symmetry", "unknown activation", ["--activation", "rellu"], "'rellu'"),
    ("symmetry", "absurd sizes", ["--width", "1000000"], "of memory, more than"),
    ("symmetry", "unknown optimizer", ["--optimizer", "sgdd"], "'sgdd'"),
    ("reproduce", "value out of range", ["--iterations", "0"], "iterations"),
    ("reproduce", "negative seeds", ["--seeds", "-2"], "seeds"),
    ("sweep", "unknown scheme", ["--init", "varaince"], "unknown scheme 'varaince'"),
    ("sweep", "unknown family", ["--model", "mlpp(layers=1)"], "unknown model family 'mlpp'"),
    ("sweep", "empty axis", ["--init-param", "w="], "the grid is empty: --init-param w has no values"),
    ("sweep", "empty axis in the file", ["--grid", "{dir}/empty.toml"], "the grid is empty: --init"),
    (
        "sweep",
        "a parameter in the spec and as an axis",
        ["--init", "variance(w=1)", "--init-param", "w=1,2"],
        "conflicting values: init parameter 'w' is both in 'variance(w=1)' and in --init-param",
    ),
    (
        "sweep",
        "a setting in the file and a flag",
        ["--grid", "{dir}/grid.toml", "--lr", "0.1"],
        "conflicting",
    ),
    ("sweep", "repeated value", ["--lr", "0.1", "--lr", "0.1"], "--lr repeats the value 0.1"),
    ("sweep", "parameter given twice", ["--init-param", "w=1", "--init-param", "w=2"], "gives 'w' twice"),
    ("sweep", "bad range", ["--init", "variance", "--init-param", "w=1:2"], "START:STOP:NUM"),
    ("sweep", "unknown setting in the file", ["--grid", "{dir}/typo.toml"], "unknown setting 'lrs'"),
    ("sweep", "grid file not TOML", ["--grid", "{dir}/a-file"], "not valid TOML"),
    ("sweep", "no grid file", ["--grid", "{dir}/nope.toml"], "no grid file"),
    ("sweep", "store not SQLite", ["--store", "{dir}/old-run/results.json"], "cannot use"),
    ("depth", "unknown scheme", ["--init", "he_nromal"], "unknown scheme 'he_nromal'"),
    ("depth", "empty depth list", ["--depths", ""], "the depth list is empty"),
    ("depth", "not a depth list", ["--depths", "2,x"], "--depths '2,x' must be non-negative integers"),
    ("depth", "repeated depth", ["--depths", "3,3"], "each depth once, got [3, 3]"),
    ("depth", "model without {depth}", ["--model", "mlp(layers=2, width=4)"], "must hold '{depth}'"),
    ("depth", "device not there", ["--device", "cuda:7"], "device cuda:7 is not available"),
    ("phase", "bad grid", ["--sigma-w2", "1:2"], "START:STOP:NUM"),
    ("phase", "negative sigma_b^2", ["--sigma-b2=-0.1,0.1"], "sigma_b^2 >= 0"),
    ("phase", "unknown activation", ["--activation", "tahn"], "'tahn'"),
    (
        "phase",
        "depth view, two sigma_b^2",
        ["--view", "depth", "--sigma-b2", "0,0.1"],
        "one --sigma-b2 value",
    ),
    ("phase", "depth not an integer", ["--view", "depth", "--depths", "2.5"], "positive integers, got 2.5"),
    ("phase", "unknown view", ["--view", "side"], "invalid choice: 'side'"),
    ("diagnose", "unknown module", ["--input-shape", "4"], "cannot import module"),
    ("diagnose", "bad shape", ["--input-shape", "4,x"], "'4,x'"),
    ("diagnose", "absurd sizes", ["--input-shape", "100000,100000"], "of memory, more than"),
    ("diagnose", "long without --vocab", ["--input-shape", "4", "--input-dtype", "long"], "needs --vocab N"),
    ("diagnose", "--vocab with floats", ["--input-shape", "4", "--vocab", "9"], "add --input-dtype long"),
    (
        "diagnose",
        "--vocab 0",
        ["--input-shape", "4", "--input-dtype", "long", "--vocab", "0"],
        "--vocab must be >= 1",
    ),
    ("diagnose", "unknown dtype", ["--input-shape", "4", "--input-dtype", "int8"], "invalid choice: 'int8'"),
    ("diagnose", "device not there", ["--input-shape", "100", "--device", "cuda:7"], "device cuda:7 is not"),
    ("diagnose", "unknown device", ["--input-shape", "100", "--device", "gpu"], "unknown device 'gpu'"),
    ("diagnose", "factory calls sys.exit", ["--input-shape", "4"], "exits() failed: SystemExit: 3"),
    (
        "diagnose",
        "out of memory in the run",
        ["--input-shape", "4"],
        "out of memory (8 TB in one allocation)",
    ),
    ("diagnose", "OS error in the run", ["--input-shape", "4"], "Permission denied: '/data/locked.bin'"),
]

#: The target ``diagnose`` imports in the cases above that need their own.
TARGETS = {
    "unknown module": "nosuch_module_xyz:f",
    "factory calls sys.exit": "badfactories:exits",
    "out of memory in the run": "badfactories:oom",
    "OS error in the run": "badfactories:oserror",
}

FACTORIES = """
import errno, sys
import torch
from torch import nn

def exits():
    sys.exit(3)

class Raises(nn.Module):  # fails where initlab does not wrap the model's errors
    def __init__(self, err):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.err = err
    def named_parameters(self, *args, **kwargs):
        raise self.err
    def forward(self, x):
        return self.lin(x)

def oom():
    message = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 8000000000000 bytes."
    return Raises(RuntimeError(message))

def oserror():
    return Raises(PermissionError(errno.EACCES, "Permission denied", "/data/locked.bin"))
"""


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (``None`` for a folder)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working folder holding a file, an earlier run, a folder of notes and a factory module."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "old-run").mkdir()
    (tmp_path / "old-run" / "config.json").write_text(json.dumps({"command": "earlier"}))
    (tmp_path / "old-run" / "results.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    (tmp_path / "badfactories.py").write_text(FACTORIES)
    (tmp_path / "grid.toml").write_text("lr = [0.1, 0.01]\n")
    (tmp_path / "empty.toml").write_text("init = []\n")
    (tmp_path / "typo.toml").write_text("lrs = [0.1]\n")
    yield tmp_path
    sys.modules.pop("badfactories", None)


def _check(argv: list[str], scratch: Path, capsys: pytest.CaptureFixture[str], words: str) -> None:
    before = _snapshot(scratch)
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: "), lines
    assert words in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert _snapshot(scratch) == before


def _fill(args: list[str], scratch: Path) -> list[str]:
    return [str(scratch / "new-run") if a == "OUT" else a.replace("{dir}", str(scratch)) for a in args]


@pytest.mark.parametrize("command", STUDIES)
@pytest.mark.parametrize(("klass", "extra", "words"), COMMON, ids=[c[0] for c in COMMON])
def test_common_bad_input(
    command: str,
    klass: str,
    extra: list[str],
    words: str,
    scratch: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = TINY[command] + _fill(extra, scratch)
    if klass.startswith("--debug"):  # a "--debug" anywhere is the global flag: the bad seed is still reported
        argv = [*argv[:1], "--debug", *argv[1:]]
        with pytest.raises(ValueError, match="seed must be >= 0"):
            main(argv)
        return
    _check(argv, scratch, capsys, words)


@pytest.mark.parametrize(("command", "klass", "extra", "words"), OWN, ids=[f"{c[0]}-{c[1]}" for c in OWN])
def test_own_bad_input(
    command: str,
    klass: str,
    extra: list[str],
    words: str,
    scratch: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = TINY[command] + _fill(extra, scratch) + ["--out", str(scratch / "new-run")]
    if command == "diagnose":
        argv = ["diagnose", TARGETS.get(klass, "initlab.examples:mlp20_relu"), *_fill(extra, scratch)]
        argv += ["--out", str(scratch / "new-run")]
    _check(argv, scratch, capsys, words)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["schemes", "nosuch"], "unknown scheme 'nosuch'"),
        (["schemes", "normal(std="], "normal(std="),
        (["schemes", "he_normal", "--fan-in", "0"], "--fan-in and --fan-out must be positive"),
        (["schemes", "he_normal", "--fan-in", "x"], "invalid int value: 'x'"),
        (["translate", "nosuch"], "unknown scheme 'nosuch'"),
        (["translate", "normal(std=-1)", "--to", "jax"], "normal(std=-1)"),
        (["translate", "he_normal", "--to", "tf"], "invalid choice: 'tf'"),
        (["translate", "he_normal", "--to", "jax", "--to", "tensorflow"], "invalid choice: 'tensorflow'"),
        (["translate"], "the following arguments are required: spec"),
        (["nosuch-command"], "invalid choice: 'nosuch-command'"),
    ],
)
def test_schemes_translate_and_top_level_bad_input(
    argv: list[str], words: str, scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _check(argv, scratch, capsys, words)


def test_debug_anywhere_shows_the_traceback(scratch: Path) -> None:
    for argv in (
        ["--debug", "probe", "--layers", "0"],
        ["probe", "--debug", "--layers", "0"],
        ["probe", "--layers", "0", "--debug"],
    ):
        with pytest.raises(ValueError, match="layers must be >= 1"):
            main([*argv, "--out", str(scratch / "new-run")])
    assert not (scratch / "new-run").exists()


def test_force_replaces_an_earlier_run_as_a_whole(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = scratch / "old-run"
    (out / "stale.txt").write_text("from the earlier run")
    assert main([*TINY["probe"], "--out", str(out), "--force"]) == 0
    assert json.loads((out / "config.json").read_text())["command"] == "probe"
    assert not (out / "stale.txt").exists()  # replaced as a whole, not merged
    assert sorted(p.name for p in scratch.iterdir() if p.name.startswith(".")) == []  # no staging left
    # a run that fails with --force leaves the earlier run as it was
    before = _snapshot(scratch)
    assert main(["diagnose", "nosuch_module_xyz:f", "--input-shape", "4", "--out", str(out), "--force"]) == 2
    assert _snapshot(scratch) == before
    capsys.readouterr()
