"""``--ray`` on ``initlab sweep`` and ``initlab phase``: bad settings, Ray missing and an unreachable
cluster are one ``error:`` line each, exit 2 (no Ray instance is started here; the Ray runs are in
``tests/studies/test_sweep_ray.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from initlab.cli import main

SWEEP = ["sweep", "--model", "mlp(layers=1, width=4)", "--iterations", "2", "--seeds", "1"]
PHASE = ["phase", "--depth", "1", "--width", "4", "--iterations", "1", "--sigma-w2", "1", "--sigma-b2", "0"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*SWEEP, "--ray", "nowhere"], "--ray takes auto, HOST:PORT or ray://HOST:PORT, got 'nowhere'"),
        ([*PHASE, "--ray", "auto", "--ray-cpus", "0"], "ray_cpus must be > 0"),
        ([*SWEEP, "--ray", "auto", "--device", "cuda:1"], "with --ray the device is one of cpu, cuda, auto"),
        ([*SWEEP, "--ray", "127.0.0.1:1"], "cannot reach the Ray cluster at 127.0.0.1:1"),
        ([*PHASE, "--ray", "ray://127.0.0.1:1"], "cannot reach the Ray cluster at ray://127.0.0.1:1"),
    ],
)
def test_bad_ray_flags_are_one_error_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--threads", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1], err
    assert "Traceback" not in "\n".join(err)


def test_ray_not_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert main([*SWEEP, "--ray", "auto", "--out", str(tmp_path / "out")]) == 2
    assert (
        "error: --ray needs Ray, which is not installed: pip install 'initlab[ray]'"
        in capsys.readouterr().err
    )
