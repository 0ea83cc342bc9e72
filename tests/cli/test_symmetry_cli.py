"""``initlab symmetry`` end to end: run folder, printout, one-line errors, Ctrl-C in a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initlab.cli import main
from interrupt_helpers import interrupt_after_progress
from shared_runs import SYMMETRY_RELU, CliRunner


def test_cli_end_to_end(cli_run: CliRunner) -> None:
    run = cli_run(SYMMETRY_RELU)  # relu's default cases, 40 iterations, measured every 10
    assert run.code == 0, run.stderr
    doc = json.loads((run.out / "results.json").read_text())
    labels = [c["label"] for c in doc["cases"]]
    assert labels == ["zeros", "constant(value=0.5)", "uniform(a=-2, b=2)", "He"]
    for case in doc["cases"]:
        assert case["iterations"] == [0, 10, 20, 30]
        assert len(case["distinct_units"]) == 4 and len(case["train_loss"]) == 40
        assert "diverged_at" in case
    assert doc["cases"][2]["diverged_at"] is not None  # uniform(-2, 2) explodes under relu
    for stem in ("distinct_units", "training", "effective_rank"):
        for ext in ("png", "svg"):
            assert (run.out / f"{stem}.{ext}").stat().st_size > 1000
    assert "He:" in run.stdout


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--activation", "relux"], "unknown activation 'relux'"),
        (["--case", "zeros(1)"], "takes 0 parameter(s)"),
        (["--width", "0"], "width must be positive"),
        (["--iterations", "0"], "iterations must be >= 1, got 0"),
    ],
)
def test_cli_bad_input(
    argv: list[str], fragment: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["symmetry", *argv, "--out", f"{tmp_path}/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err


def test_ctrl_c_writes_partial_results_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = interrupt_after_progress(["symmetry", "--iterations", "5000", "--out", str(out)], total=5000)
    assert run.returncode == 130, run.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["partial"] is True
    done = doc["iterations_done"]
    assert 0 < done < 5000
    assert all(len(c["train_loss"]) == done for c in doc["cases"])
    assert (out / "distinct_units.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "partial" in run.stderr
