"""The consistency rules on the command line: duplicate labels, the seed range and a --data-dir
without the dataset are each one ``error:`` line quoting the input, exit 2, nothing on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlab.cli import main

BIG = str(2**63)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (
            ["probe", "--init", "he_normal", "--init", "he_normal"],
            "two --init specs share the label 'he_normal'",
        ),
        (["compare", "--init", "A: zeros", "--init", "A: ones"], "two --init specs share the label 'A'"),
        (["symmetry", "--case", "zeros", "--case", "zeros"], "two --case specs share the label 'zeros'"),
        (["probe", "--seed", BIG], f"seed must be <= 9223372036854775807 (2**63 - 1), got {BIG}"),
        (["compare", "--seed", BIG], f"got {BIG}"),
        (["symmetry", "--seed", BIG], f"got {BIG}"),
        (["reproduce", "--seed", BIG], f"got {BIG}"),
        (["probe", "--seed", str(2**63 - 1), "--seeds", "2"], "its 2 consecutive seeds run up to"),
        (["probe", "--input", "mnist", "--data-dir", "{empty}"], "does not hold mnist: looked for"),
        (["compare", "--data-dir", "{empty}"], "does not hold mnist: looked for train-images-idx3-ubyte.gz"),
    ],
)
def test_one_error_line_exit_2_nothing_on_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "run"
    argv = [a.replace("{empty}", str(empty)) for a in argv]
    assert main([*argv, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert "Traceback" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"] and list(empty.iterdir()) == []
