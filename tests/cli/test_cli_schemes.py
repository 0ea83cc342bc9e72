"""The CLI shell: return codes and output for success and each class of bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

import initlab
from initlab.cli import main


def test_catalogue_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemes"]) == 0
    out = capsys.readouterr().out
    for name in initlab.schemes():
        assert name in out
    assert "Glorot & Bengio 2010" in out and "He et al. 2015" in out


def test_catalogue_shows_each_schemes_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemes"]) == 0
    rows: dict[str, str] = {}  # scheme name -> the text of its row (a wrapped row spans lines)
    name = ""
    for line in capsys.readouterr().out.splitlines():
        cells = line.split("│")
        if len(cells) < 3:
            continue
        name = cells[1].strip() or name
        rows[name] = rows.get(name, "") + " " + cells[2].strip()
    rows = {k: v.replace(", ", ",").replace(",", ", ") for k, v in rows.items()}
    assert "std=1.0" in rows["normal"] and "mean=0.0" in rows["normal"]
    assert "mode='fan_in'" in rows["he_normal"] and "negative_slope=0.0" in rows["he_normal"]
    for name in initlab.schemes():  # every spec parameter of every scheme is named
        for param in initlab.scheme(name).params:
            assert param in rows[name], (name, param)


def test_resolve_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemes", "He: he_normal", "--fan-in", "100", "--fan-out", "50"]) == 0
    out = capsys.readouterr().out
    assert "0.141421" in out  # sqrt(2 / 100)
    assert "He" in out and "(50, 100)" in out
    assert main(["schemes", "uniform(a=-2, b=2)"]) == 0
    assert "[-2, 2]" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"initlab {initlab.__version__}"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["schemes", "he_norml"], "unknown scheme 'he_norml' (did you mean: he_normal"),
        (["schemes", "normal(std=-1)"], "must be > 0"),
        (["schemes", "normal(std=1"], "missing ')'"),
        (["schemes", "he_normal", "--fan-in", "0"], "must be positive"),
        (["schemes", "he_normal", "--fan-in", "abc"], "invalid int value: 'abc'"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
)
def test_bad_input_one_line_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_traceback() -> None:
    with pytest.raises(initlab.InitlabError):
        main(["--debug", "schemes", "he_norml"])


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "initlab", "schemes", "bogus_scheme"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown scheme 'bogus_scheme'")
    assert "Traceback" not in proc.stderr
