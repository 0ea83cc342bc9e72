"""``initlab reproduce`` at the command line: Ctrl-C leaves a partial run folder; bad flags are one line.

The complete ``--quick`` run folder and its report are checked in tests/studies/test_reproduce.py and
tests/report/ (they read the session's one ``reproduce --quick`` run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initlab.cli import Stop, main
from shared_runs import CliRun


def test_cli_ctrl_c_writes_partial_results_and_exits_130(reproduce_interrupted: CliRun) -> None:
    run = reproduce_interrupted  # as if Ctrl-C came at once
    assert run.code == 130
    doc = json.loads((run.out / "results.json").read_text())
    assert doc["partial"] is True and doc["findings"]["partial"] is True
    assert (run.out / "report.html").is_file() and (run.out / "report.md").is_file()
    assert "Interrupted (Ctrl-C)" in run.stdout and "marked partial" in run.stdout


def test_bad_flags_are_one_line_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["reproduce", "--seeds", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "seeds must be >= 1, got 0" in err and err.startswith("error: ") and err.count("\n") == 1


def test_deep_flag_adds_the_depth_part_and_ctrl_c_keeps_the_rest(tmp_path: Path) -> None:
    """``--deep`` reaches the config and the document (stopped at once: the depth part is null, the
    report says it did not run); its own flags are checked before anything runs."""
    out = tmp_path / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Stop, "__call__", lambda self: True)  # Ctrl-C at once
        code = main(
            ["reproduce", "--quick", "--deep", "--deep-depths", "2,6", "--threads", "1", "--out", str(out)]
        )
    assert code == 130
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["deep"] is True and config["deep_depths"] == [2, 6] and config["deep_seeds"] == 1
    doc = json.loads((out / "results.json").read_text())
    assert doc["parts"]["depth"] is None and doc["findings"]["depth"] is None and doc["partial"] is True
    md = (out / "report.md").read_text()
    assert "## Trainable depth\n\n> Not run: the run was interrupted before this part." in md
    assert main(["reproduce", "--deep", "--deep-depths", "2,x", "--out", str(tmp_path / "bad")]) == 2
    assert main(["reproduce", "--deep", "--deep-seeds", "0", "--out", str(tmp_path / "bad")]) == 2
