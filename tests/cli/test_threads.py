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


def choose(tmp_path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> int:
    """The threads a run uses, cheaply: the run starts, then stops at its first step (loading its
    input from a --data-dir that does not hold it): one error line -- a busy machine's note never
    stands in front of it -- and nothing left on disk."""
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [*PROBE, "--input", "mnist", "--data-dir", str(empty), *flags, "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --data-dir")
    assert not (tmp_path / "run").exists()
    return torch.get_num_threads()


@pytest.mark.parametrize(
    ("cpus", "load", "threads"),
    [
        (4, 0.0, 4),  # idle: every usable CPU
        (4, 1.2, 3),  # one CPU busy elsewhere: the rest
        (4, 6.0, 1),  # overloaded: one thread
        (2, 2.0, 1),  # load equal to the CPUs: nothing free
    ],
)
def test_default_threads_follow_the_cpus_and_the_load(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cpus: int,
    load: float,
    threads: int,
) -> None:
    machine(monkeypatch, cpus, load)
    assert choose(tmp_path, capsys) == threads


def test_explicit_threads_are_obeyed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    machine(monkeypatch, 2, 6.0)
    assert choose(tmp_path, capsys, "--threads", "2") == 2


def test_an_overloaded_run_says_so_once_after_its_output_with_the_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    machine(monkeypatch, 2, 6.0)
    out = tmp_path / "run"
    assert main([*PROBE, "--threads", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("overloaded") == 1 and err.strip().splitlines()[-1].startswith("note: ")
    assert "load average 6.0 on 2 usable CPUs" in err and "--threads 1 is usually fastest here" in err
    assert json.loads((out / "config.json").read_text())["config"]["threads"] == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "--threads must be a positive integer, got 0"),
        ("-3", "--threads must be a positive integer, got -3"),
        ("10000000000000", "--threads 10000000000000 is more than any machine has (at most 4096)"),
    ],
)
def test_bad_threads_is_one_error_line_and_nothing_on_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    rc = main([*PROBE, "--threads", value, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().splitlines() == [f"error: {message}"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["probe", "compare", "symmetry", "reproduce", "diagnose"])
def test_every_long_command_takes_threads(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert "--threads THREADS" in capsys.readouterr().out
