"""Run folders: a run that fails on its input leaves nothing behind and never touches an earlier run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initlab.cli import main


def test_failed_run_leaves_no_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a" / "b"
    assert main(["diagnose", "nosuch_module:f", "--input-shape", "3", "--out", str(out)]) == 2
    assert "error: cannot import module 'nosuch_module'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_failed_run_keeps_an_earlier_runs_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = [
        "diagnose",
        "initlab.examples:mlp20_relu",
        "--input-shape",
        "100",
        "--batch",
        "8",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert json.loads(before["config.json"])["config"]["target"] == "initlab.examples:mlp20_relu"
    assert main(["diagnose", "nosuch_module:f", "--input-shape", "3", "--out", str(out)]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_out_that_cannot_be_created_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert (
        main(["probe", "--layers", "1", "--width", "4", "--samples", "4", "--out", str(blocker / "x")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --out") and "cannot create the folder" in err[0]
