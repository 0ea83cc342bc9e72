"""``initlab depth`` end to end: run folder, valid results.json, figure, table and findings printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initlab.cli import main
from schema_helpers import errors

ARGV = [
    *("depth", "--model", "mlp(layers={depth}, width=16)", "--depths", "1,6", "--seeds", "1"),
    *("--init", "Xavier: lecun_normal", "--init", "He: he_normal", "--iterations", "30", "--lr", "0.05"),
    *("--eval-size", "300", "--probe-samples", "16", "--threads", "1"),
]


def test_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main([*ARGV, "--out", str(out)]) == 0
    assert {"config.json", "results.json", "depth.png", "depth.svg"} <= {p.name for p in out.iterdir()}
    assert (out / "depth.png").stat().st_size > 10_000
    doc = json.loads((out / "results.json").read_text())
    assert errors(doc, "depth") == []
    assert doc["schema"] == "initlab.depth/1" and doc["partial"] is False
    assert [(r["depth"], r["label"]) for r in doc["rows"]] == [
        (1, "Xavier"),
        (1, "He"),
        (6, "Xavier"),
        (6, "He"),
    ]
    assert doc["depth_scale"]["He"] == "inf" and 5 < doc["depth_scale"]["Xavier"] < 12
    assert doc["deepest"]["Xavier"] == 1  # one hidden layer trains in 30 steps
    config = json.loads((out / "config.json").read_text())
    assert config["command"] == "depth" and config["config"]["depths"] == [1, 6]
    text = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    for words in ("test accuracy", "signal std at init", "Findings (from this run's numbers", "Sizes:"):
        assert words in text, words
    assert "depths 1, 6" in text
    statements = doc["findings"]["statements"]
    assert statements[0] == doc["findings"]["summary"] and len(statements) == 4  # summary, 2 inits, per depth
    for line in statements:  # printed after the table, without the Markdown code marks
        assert " ".join(line.replace("`", "").split()) in text
    assert "`Xavier` trains at depth 1 " in statements[2 - 1]
