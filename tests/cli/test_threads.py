"""``--threads`` and its default on a busy machine: adapts to the usable CPUs and the load, and says
once on stderr when the machine is overloaded."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from initlab.cli import main

PROBE = ["probe", "--init", "he_normal", "--layers", "1", "--width", "4", "--samples", "10"]


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def machine(monkeypatch: pytest.MonkeyPatch, cpus: int, load: float) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    torch.set_num_threads(cpus)  # torch's own default on such a machine


def choose(tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    """The threads a run uses and its stderr, cheaply: the run starts, then stops at its first step
    (loading its input from a --data-dir that does not hold it: one error line, nothing left)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [*PROBE, "--input", "mnist", "--data-dir", str(empty), *flags, "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("error: ")] != []
    assert not (tmp_path / "run").exists()
    return torch.get_num_threads(), err


@pytest.mark.parametrize(
    ("cpus", "load", "threads", "noted"),
    [
        (4, 0.0, 4, False),  # idle: every usable CPU
        (4, 1.2, 3, False),  # one CPU busy elsewhere: the rest
        (4, 6.0, 1, True),  # overloaded: one thread, said once
        (2, 2.0, 1, True),  # load equal to the CPUs: nothing free
    ],
)
def test_default_threads_follow_the_cpus_and_the_load(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cpus: int,
    load: float,
    threads: int,
    noted: bool,
) -> None:
    machine(monkeypatch, cpus, load)
    used, err = choose(tmp_path, capsys)
    assert used == threads
    assert err.count("overloaded") == (1 if noted else 0)
    if noted:
        assert f"load average {load:.1f} on {cpus} usable CPUs" in err and "--threads 1" in err


def test_explicit_threads_are_obeyed_and_an_overload_suggests_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    machine(monkeypatch, 2, 6.0)
    used, err = choose(tmp_path, capsys, "--threads", "2")
    assert used == 2
    assert err.count("overloaded") == 1 and "--threads 1 is usually fastest here" in err


def test_an_overloaded_run_says_so_once_and_records_its_threads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    machine(monkeypatch, 4, 9.0)
    out = tmp_path / "run"
    assert main([*PROBE, "--out", str(out)]) == 0
    assert capsys.readouterr().err.count("overloaded") == 1
    assert json.loads((out / "config.json").read_text())["config"]["threads"] == 1


@pytest.mark.parametrize("value", ["0", "-3"])
def test_bad_threads_is_one_error_line_and_nothing_on_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    rc = main([*PROBE, "--threads", value, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().splitlines() == [f"error: --threads must be a positive integer, got {value}"]
    assert list(tmp_path.iterdir()) == []
