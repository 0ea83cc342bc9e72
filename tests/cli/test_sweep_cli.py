"""``initlab sweep`` end to end: a TOML grid, the run folder, the table, and a rerun that resumes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from initlab.cli import main
from interrupt_helpers import interrupt_after_progress

GRID = """
model = "mlp(layers=1, width=8)"
activation = "tanh"
init = "variance"
iterations = 5
seeds = 2
batch_size = 32
eval_size = 100
[init_param]
w = "0.5:2.5:3"
b = 0.05
"""


def test_toml_grid_run_folder_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "grid.toml").write_text(GRID)
    store = tmp_path / "sweep.sqlite"
    argv = ["sweep", "--grid", str(tmp_path / "grid.toml"), "--store", str(store), "--threads", "1"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    out = tmp_path / "a"
    assert {"config.json", "results.json", "sweep.png", "sweep.svg"} <= {p.name for p in out.iterdir()}
    doc = json.loads((out / "results.json").read_text())
    assert (doc["cells"], doc["trained"], doc["skipped"]) == (6, 6, 0)
    assert [s["init.w"] for s in doc["summary"]] == [0.5, 1.5, 2.5]
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["init_param"] == ["w=0.5:2.5:3", "b=0.05"] and config["store"] == str(store)
    text = capsys.readouterr().out
    assert "init.w" in text and "95% CI" in text and "6 cells trained, 0 found in the store" in text
    # the same grid again, with one more learning rate from a flag: only the new cells train
    assert main([*argv, "--lr", "0.01", "--lr", "0.1", "--out", str(tmp_path / "b")]) == 0
    assert "6 cells trained, 6 found in the store" in capsys.readouterr().out
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM cells").fetchone() == (12, 12)


def test_ctrl_c_keeps_finished_ensembles_and_the_rerun_trains_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.sqlite"
    argv = [
        *("sweep", "--model", "mlp(layers=1, width=8)", "--init", "variance", "--init-param", "w=0.5:3:10"),
        *("--iterations", "150", "--seeds", "2", "--batch-size", "32", "--eval-size", "50", "--chunk", "1"),
        *("--store", str(store), "--threads", "1"),
    ]
    run = interrupt_after_progress([*argv, "--out", str(tmp_path / "a")], total=20, min_done=2)
    assert run.returncode == 130, run.stderr
    doc = json.loads((tmp_path / "a" / "results.json").read_text())
    assert doc["partial"] is True and 2 <= doc["trained"] < 20
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM cells").fetchone()[0] == doc["stored"] == doc["trained"]
    assert "Interrupted: finished ensembles are stored" in run.stdout
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    rest = json.loads((tmp_path / "b" / "results.json").read_text())
    assert (rest["trained"], rest["skipped"], rest["stored"]) == (20 - doc["trained"], doc["trained"], 20)
