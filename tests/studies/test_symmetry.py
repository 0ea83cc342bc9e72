"""The symmetry lab on real MNIST: the two failure modes, random init, and symmetry broken by hand."""

from __future__ import annotations

import math

import pytest
import torch

from initlab import scheme
from initlab.data import load_dataset
from initlab.ensemble.stack import Stack
from initlab.studies.symmetry import SymmetryConfig, SymmetryObserver, label_entropy, symmetry
from initlab.train import TrainConfig, train

ITERS = 300
WIDTH = 50  #: narrower than the default 100: the symmetry facts do not depend on width, the cost does


@pytest.fixture(scope="module")
def relu_run() -> object:
    return symmetry(
        activation="relu",
        cases=["zeros", "constant(value=0.01)", "He: he_normal"],
        iterations=ITERS,
        log_every=1,
        eval_every=100,
        width=WIDTH,
        rank_batch=100,
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
        assert all(v == WIDTH for v in row)
    assert sum(he.train_loss[-50:]) / 50 < 1.0


def test_breaking_symmetry_by_hand() -> None:
    data = load_dataset("mnist")
    stack = Stack.from_schemes([784, 32, 32, 10], "relu", ["constant(value=0.03)"], [0])
    with torch.no_grad():
        stack.weights[0][0, 5, 100] += 0.05  # unit 5 of layer 1 differs now
    rec = SymmetryObserver(data.test_x[:200], hidden=2)
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


def test_default_cases_follow_the_activation() -> None:
    """Without ``cases``, the four defaults end with the activation's variance-preserving scheme."""
    labels = {
        act: [scheme(s).label for s in SymmetryConfig(activation=act).specs()] for act in ("relu", "tanh")
    }
    assert labels["relu"] == ["zeros", "constant(value=0.5)", "uniform(a=-2, b=2)", "He"]
    assert labels["tanh"] == ["zeros", "constant(value=0.5)", "uniform(a=-2, b=2)", "Glorot"]


def test_a_diverged_case_is_not_measured_after_it_diverged() -> None:
    """After ``diverged_at`` the model is frozen: its distinct units, ranks and gradients at later
    logged steps are null, never numbers that read as if it were still training."""
    from schema_helpers import validate

    res = symmetry(
        activation="relu",
        cases=["uniform(a=-2, b=2)", "He: he_normal"],
        iterations=20,
        log_every=1,
        eval_every=0,
        rank_batch=50,
    )
    dead, live = res.cases
    at = dead.diverged_at
    assert at is not None and at < 19 and live.diverged_at is None
    alive = [it <= at for it in dead.iterations]
    for series in (*dead.distinct_units, *dead.effective_rank, *dead.grad_norm, *dead.grad_max):
        assert [v is not None for v in series] == alive
    assert [v is not None for v in dead.output_grad_max] == alive
    for series in (*live.distinct_units, *live.effective_rank, live.output_grad_max):
        assert None not in series
    doc = res.to_dict()
    validate(doc, "symmetry")
    fact = doc["facts"]["cases"][0]
    assert fact["logged_at"] == at and fact["distinct_units"] == [row[at] for row in dead.distinct_units]


def test_a_partial_runs_findings_say_how_many_iterations_ran() -> None:
    polls = iter(range(1000))
    res = symmetry(
        activation="relu",
        cases=["He: he_normal"],
        iterations=50,
        log_every=1,
        eval_every=0,
        width=WIDTH,
        rank_batch=50,
        should_stop=lambda: next(polls) >= 7,  # stops before the 8th step: 7 ran
    )
    assert res.partial and res.iterations_done == 7
    assert res.findings[0].startswith("Partial run: stopped after 7 iterations (interrupted)")
    assert "iteration 6" in res.findings[1]  # the case's own line follows, read at the last logged step
