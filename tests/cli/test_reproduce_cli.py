"""``initlab reproduce`` at the command line: Ctrl-C leaves a partial run folder; bad flags are one line.

The complete ``--quick`` run folder and its report are checked in tests/studies/test_reproduce.py and
tests/report/ (they read the session's one ``reproduce --quick`` run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initlab.cli import main
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
