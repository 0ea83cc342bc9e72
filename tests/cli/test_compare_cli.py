"""``initlab compare`` end to end: run folder, table, bad input, and Ctrl-C in a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from initlab.cli import main


def test_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    rc = main(["compare", "--iterations", "40", "--eval-every", "20", "--out", str(out)])
    assert rc == 0
    assert {"config.json", "results.json", "compare.png", "compare.svg"} <= {p.name for p in out.iterdir()}
    doc = json.loads((out / "results.json").read_text())
    assert doc["partial"] is False and doc["iterations_done"] == 40 and doc["wall_seconds"] > 0
    assert [r["label"] for r in doc["runs"]] == ["std=0.01", "Xavier", "He"]
    for run in doc["runs"]:
        assert set(run) >= {"label", "spec", "seed", "train_loss", "test_accuracy", "diverged_at"}
        assert len(run["train_loss"]) == 40 and 0.0 <= run["test_accuracy"] <= 1.0
    config = json.loads((out / "config.json").read_text())
    assert config["command"] == "compare" and config["config"]["iterations"] == 40
    assert config["config"]["inits"] == [
        "std=0.01: normal(std=0.01)",
        "Xavier: lecun_normal",
        "He: he_normal",
    ]
    text = capsys.readouterr().out
    for word in (
        "std=0.01",
        "Xavier",
        "He",
        "lecun_normal",
        "test accuracy",
        "Note: 'Xavier' here is lecun_normal",
    ):
        assert word in text


def test_flags_reach_the_study(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = [
        "compare",
        "--init",
        "a: he_normal",
        "--init",
        "xavier_uniform",
        "--seeds",
        "2",
        "--seed",
        "3",
        "--layers",
        "2",
        "--width",
        "16",
        "--activation",
        "tanh",
        "--iterations",
        "12",
        "--batch-size",
        "32",
        "--lr",
        "0.05",
        "--optimizer",
        "momentum",
        "--sampling",
        "epochs",
        "--eval-every",
        "0",
        "--bias",
        "none",
        "--threads",
        "1",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["architecture"] == {"widths": [784, 16, 16, 10], "activation": "tanh", "bias": "none"}
    assert [(r["label"], r["seed"]) for r in doc["runs"]] == [
        ("a", 3),
        ("a", 4),
        ("xavier_uniform", 3),
        ("xavier_uniform", 4),
    ]
    assert doc["train"]["optimizer"] == "momentum" and doc["train"]["sampling"] == "epochs"
    assert doc["train"]["batch_size"] == 32 and doc["eval_iterations"] == [12] and doc["notes"] == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dataset", "fashion"], "unknown dataset 'fashion' (did you mean: fashion-mnist"),
        (["--iterations", "0"], "iterations must be a positive integer"),
        (["--batch-size", "-3"], "batch_size must be a positive integer"),
        (["--lr", "0"], "learning rate must be a positive number"),
        (["--optimizer", "adamw"], "unknown optimizer 'adamw' (did you mean: adam"),
        (["--init", "he_nrmal"], "unknown scheme 'he_nrmal'"),
        (["--iterations", "ten"], "invalid int value"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["compare", *flags, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_ctrl_c_writes_partial_results_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "initlab",
        "compare",
        "--iterations",
        "100000",
        "--eval-every",
        "0",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    started = threading.Event()
    err_lines: list[bytes] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_lines.append(line)
            if line.startswith(b"Training 3 models"):
                started.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert started.wait(timeout=120), b"".join(err_lines).decode()
        time.sleep(2.0)  # train a while
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert proc.returncode == 130, b"".join(err_lines).decode()
    doc = json.loads((out / "results.json").read_text())
    assert doc["partial"] is True and doc["stop_reason"] == "interrupted"
    done = doc["iterations_done"]
    assert 0 < done < 100000
    assert all(len(r["train_loss"]) == done for r in doc["runs"])
    assert (out / "compare.png").exists()
    assert b"Interrupted after" in stdout and b"partial" in stdout
