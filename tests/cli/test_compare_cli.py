"""``initlab compare`` end to end: run folder, table, bad input, and Ctrl-C in a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initlab.cli import main
from interrupt_helpers import interrupt_after_progress


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
        (["--iterations", "0"], "iterations must be >= 1, got 0"),
        (["--batch-size", "-3"], "batch_size must be >= 1, got -3"),
        (["--lr", "0"], "learning rate must be a positive number"),
        (["--optimizer", "adamm"], "unknown optimizer 'adamm' (did you mean: adam"),
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
    argv = ["compare", "--iterations", "5000", "--eval-every", "0", "--out", str(out)]
    run = interrupt_after_progress(argv, total=5000)  # SIGINT once it has trained a few steps
    assert run.returncode == 130, run.stderr
    assert "Training 3 models" in run.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["partial"] is True and doc["stop_reason"] == "interrupted"
    done = doc["iterations_done"]
    assert 0 < done < 5000
    assert all(len(r["train_loss"]) == done for r in doc["runs"])
    assert (out / "compare.png").exists()
    assert "Interrupted after" in run.stdout and "partial" in run.stdout
