"""The symmetry lab on real MNIST: the two failure modes, random init, and symmetry broken by hand."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from initlab.cli import main
from initlab.data import load_dataset
from initlab.ensemble.stack import Stack
from initlab.studies.symmetry import _Recorder, label_entropy, symmetry
from initlab.train import TrainConfig, train

ITERS = 300


@pytest.fixture(scope="module")
def relu_run() -> object:
    return symmetry(
        activation="relu",
        cases=["zeros", "constant(value=0.01)", "He: he_normal"],
        iterations=ITERS,
        log_every=1,
        eval_every=100,
    )


def test_zeros_relu_gradients_exactly_zero_loss_at_label_entropy(relu_run: object) -> None:
    zeros = relu_run.cases[0]  # type: ignore[attr-defined]
    assert len(zeros.iterations) == ITERS  # logged at every step
    for row in zeros.grad_max:  # every hidden layer, every step
        assert all(v == 0.0 for v in row)
    assert all(v == 0.0 for v in zeros.output_grad_max)  # only the output bias learns
    entropy = relu_run.label_entropy  # type: ignore[attr-defined]
    assert entropy == pytest.approx(math.log(10), abs=0.01)
    assert all(abs(v - entropy) < 0.02 for v in zeros.train_loss[-50:])
    assert "exactly 0 at every logged step" in relu_run.findings[0]  # type: ignore[attr-defined]


def test_constant_units_move_in_lockstep(relu_run: object) -> None:
    const = relu_run.cases[1]  # type: ignore[attr-defined]
    assert const.diverged_at is None
    for row in const.distinct_units:
        assert all(v == 1 for v in row)
    for row in const.grad_norm:
        assert all(v > 0 for v in row)  # gradients are non-zero ...
    # ... and the loss moves (the network learns something through its one effective unit per layer)
    assert const.train_loss[-1] != const.train_loss[0]
    assert "1 distinct unit at every logged step" in relu_run.findings[1]  # type: ignore[attr-defined]


def test_random_init_keeps_every_unit_distinct(relu_run: object) -> None:
    he = relu_run.cases[2]  # type: ignore[attr-defined]
    for row in he.distinct_units:
        assert all(v == 100 for v in row)
    assert sum(he.train_loss[-50:]) / 50 < 1.0


def test_breaking_symmetry_by_hand() -> None:
    data = load_dataset("mnist")
    stack = Stack.from_schemes([784, 32, 32, 10], "relu", ["constant(value=0.03)"], [0])
    with torch.no_grad():
        stack.weights[0][0, 5, 100] += 0.05  # unit 5 of layer 1 differs now
    rec = _Recorder(data.test_x[:200], hidden=2)
    cfg = TrainConfig(iterations=200, eval_every=0, log_every=1)
    train(stack, data, cfg, generator=torch.Generator().manual_seed(0), on_step=rec)
    layer1 = [int(v[0]) for v in rec.distinct[0]]
    assert layer1[0] == 2
    assert min(layer1) >= 2


def test_uniform_relu_diverges_and_is_marked() -> None:
    res = symmetry(
        activation="relu", cases=["uniform(a=-2, b=2)", "He: he_normal"], iterations=60, eval_every=0
    )
    assert res.cases[0].diverged_at is not None
    assert res.cases[1].diverged_at is None
    assert "diverged at iteration" in res.findings[0]


def test_uniform_sigmoid_saturates_but_stays_finite() -> None:
    res = symmetry(activation="sigmoid", cases=["uniform(a=-2, b=2)"], iterations=20, eval_every=0)
    assert res.cases[0].diverged_at is None


def test_label_entropy() -> None:
    assert label_entropy(torch.tensor([0, 1, 0, 1]), 2) == pytest.approx(math.log(2))
    assert label_entropy(torch.tensor([3, 3, 3]), 10) == 0.0


def test_cli_end_to_end(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    out = f"{tmp_path}/sym"
    rc = main(["symmetry", "--activation", "tanh", "--iterations", "40", "--log-every", "10", "--out", out])
    assert rc == 0
    doc = json.loads(Path(f"{out}/results.json").read_text())
    labels = [c["label"] for c in doc["cases"]]
    assert labels == ["zeros", "constant(value=0.5)", "uniform(a=-2, b=2)", "Glorot"]
    for case in doc["cases"]:
        assert case["iterations"] == [0, 10, 20, 30]
        assert len(case["distinct_units"]) == 4 and len(case["train_loss"]) == 40
        assert "diverged_at" in case
    for stem in ("distinct_units", "training", "effective_rank"):
        for ext in ("png", "svg"):
            assert (tmp_path / f"sym/{stem}.{ext}").stat().st_size > 1000  # type: ignore[operator]
    assert "Glorot:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--activation", "relux"], "unknown activation 'relux'"),
        (["--case", "zeros(1)"], "takes 0 parameter(s)"),
        (["--width", "0"], "width must be positive"),
        (["--iterations", "0"], "iterations must be a positive integer"),
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
    cmd = [sys.executable, "-m", "initlab", "symmetry", "--iterations", "100000", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (out / "config.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(6.0)  # load MNIST and train a while
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr.decode()
    doc = json.loads((out / "results.json").read_text())
    assert doc["partial"] is True
    done = doc["iterations_done"]
    assert done < 100000
    assert all(len(c["train_loss"]) == done for c in doc["cases"])
    assert (out / "distinct_units.png").exists()
    assert b"partial" in stderr
