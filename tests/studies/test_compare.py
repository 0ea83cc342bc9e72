"""The compare study on real MNIST, its result document, smoothing, and its figure."""

from __future__ import annotations

import math

import pytest
import torch

from initlab import InitlabError, compare, load_dataset
from initlab.core.seeds import weight_seeds
from initlab.data import Dataset
from initlab.ensemble.stack import Stack
from initlab.studies import CompareConfig, CompareResult
from initlab.studies.compare import DEFAULT_INITS, XAVIER_NOTE, smooth


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


@pytest.fixture(scope="module")
def classic(mnist: Dataset) -> CompareResult:
    """The classic comparison, shortened to 300 iterations (everything else as the defaults)."""
    return compare(CompareConfig(iterations=300, eval_every=100), dataset=mnist)


def test_classic_std001_stays_at_chance_he_learns(classic: CompareResult) -> None:
    """The study's finding: std=0.01 in a 5-layer ReLU net does not learn; He does."""
    assert classic.labels == ["std=0.01", "Xavier", "He"]
    loss = classic.train.train_loss  # (T, 3)
    small = loss[:, 0]
    assert float((small - math.log(10)).abs().max()) < 0.02, "std=0.01 stays at ln(10) +- 0.02"
    he_final = float(loss[-25:, 2].mean())
    assert he_final < 1.0, f"He falls well below ln(10): {he_final:.3f}"
    assert float(classic.train.final_accuracy[2]) > 0.75
    assert float(classic.train.final_accuracy[0]) < 0.2


def test_result_document(classic: CompareResult) -> None:
    doc = classic.to_dict()
    assert doc["study"] == "compare" and doc["partial"] is False and doc["iterations_done"] == 300
    assert doc["architecture"] == {
        "widths": [784, 100, 100, 100, 100, 10],
        "activation": "relu",
        "bias": "zeros",
    }
    assert (
        doc["train"]["optimizer"] == "sgd"
        and doc["train"]["lr"] == 0.01
        and doc["train"]["batch_size"] == 128
    )
    assert doc["train"]["sampling"] == "replacement"
    assert doc["eval_iterations"] == [0, 100, 200, 300]
    assert doc["wall_seconds"] > 0 and doc["notes"] == [XAVIER_NOTE]
    assert [r["label"] for r in doc["runs"]] == ["std=0.01", "Xavier", "He"]
    assert [r["spec"] for r in doc["runs"]] == ["normal(std=0.01)", "lecun_normal", "he_normal"]
    for run in doc["runs"]:
        assert run["seed"] == 0 and run["diverged_at"] is None
        assert len(run["train_loss"]) == 300 and len(run["eval_accuracy"]) == 4
        assert run["test_accuracy"] == run["eval_accuracy"][-1]
    rows = {r["label"]: r for r in doc["summary"]}
    assert rows["He"]["final_train_loss"] < 1.0 and rows["He"]["diverged"] == 0


def test_defaults_are_the_classic_study() -> None:
    cfg = CompareConfig()
    assert cfg.inits == DEFAULT_INITS and cfg.layers == 4 and cfg.width == 100 and cfg.activation == "relu"
    tc = cfg.train_config()
    assert (tc.iterations, tc.batch_size, tc.lr, tc.optimizer, tc.sampling) == (
        2000,
        128,
        0.01,
        "sgd",
        "replacement",
    )
    assert cfg.bias == "zeros" and cfg.dataset == "mnist"


def test_seeds_and_biases(mnist: Dataset) -> None:
    cfg = CompareConfig(
        inits=("he_normal", "torch_default"),
        seeds=2,
        seed=5,
        layers=1,
        width=8,
        iterations=1,
        lr=1e-30,
        eval_every=0,
    )
    res = compare(cfg, dataset=mnist)
    assert res.model_spec == [0, 0, 1, 1] and res.model_seed == [5, 6, 5, 6]
    assert len(res.to_dict()["runs"]) == 4 and [r["seeds"] for r in res.summary()] == [2, 2]
    assert res.stack is not None and res.stack.biases is not None
    # model (spec i, seed s) is Stack.from_schemes's draw from seed s's weights stream; biases start at 0
    ref = Stack.from_schemes([784, 8, 10], "relu", ["torch_default"], weight_seeds([6]))
    torch.testing.assert_close(res.stack.weights[0][3], ref.weights[0][0])  # lr 1e-30: unchanged
    assert float(res.stack.biases[0].detach().abs().max()) < 1e-20
    own = compare(
        CompareConfig(**{**cfg.to_dict(), "inits": ("torch_default",), "bias": "scheme"}), dataset=mnist
    )
    assert own.stack is not None and own.stack.biases is not None
    assert bool((own.stack.biases[0][0] != 0).any())  # torch_default's own bias rule
    none = compare(CompareConfig(**{**cfg.to_dict(), "bias": "none"}), dataset=mnist)
    assert none.stack is not None and none.stack.biases is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "mnsit"}, "unknown dataset 'mnsit' \\(did you mean: mnist"),
        ({"activation": "rellu"}, "unknown activation 'rellu'"),
        ({"inits": ("he_normal", "He: lecun_normal", "he_normal")}, "share the label 'he_normal'"),
        ({"inits": ()}, "at least one --init"),
        ({"bias": "random"}, "unknown bias mode 'random'"),
        ({"layers": -1}, "layers \\(hidden layers\\) must be >= 0"),
        ({"seeds": 0}, "seeds must be positive"),
        ({"iterations": -5}, "iterations must be >= 1, got -5"),
        ({"lr": -0.1}, "learning rate must be a positive number"),
        ({"optimizer": "sgdd"}, "unknown optimizer 'sgdd'"),
    ],
)
def test_bad_config(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InitlabError, match=message):
        CompareConfig(**kwargs).validate()  # type: ignore[arg-type]


def test_smooth_is_the_trailing_moving_average() -> None:
    x = torch.arange(10, dtype=torch.float32).view(10, 1) ** 2  # (T, 1)
    got = smooth(x, 3)[:, 0]
    want = [0.0, (0 + 1) / 2] + [((i - 2) ** 2 + (i - 1) ** 2 + i**2) / 3 for i in range(2, 10)]
    torch.testing.assert_close(got, torch.tensor(want, dtype=torch.float64))
    y = torch.ones(20, 2)
    y[10, 1] = math.nan
    s = smooth(y, 5)
    assert bool(torch.isfinite(s[:, 0]).all())
    assert [i for i in range(20) if math.isnan(s[i, 1])] == [10, 11, 12, 13, 14]


def test_summary_final_loss_is_the_last_point_of_the_figure_curve(classic: CompareResult) -> None:
    smoothed = classic.smoothed_loss()[-1]  # (M,)
    for i, row in enumerate(classic.summary()):
        ms = [m for m, s in enumerate(classic.model_spec) if s == i]
        assert row["final_train_loss"] == pytest.approx(float(smoothed[ms].mean()), rel=1e-12)


def test_figure(classic: CompareResult) -> None:
    from initlab.viz.compare import compare_figure

    fig = compare_figure(classic)
    ax_loss, ax_acc = fig.axes[:2]
    assert ax_loss.get_ylim() == (0.0, 2.5)
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["std=0.01", "Xavier", "He"]
    assert ax_acc.get_legend().get_texts()[2].get_text().startswith("He: ")
    assert "iteration" in ax_loss.get_xlabel() and "%" in ax_acc.get_ylabel()
    from initlab.viz import pyplot

    pyplot().close(fig)


def test_figure_bands_and_divergence(mnist: Dataset) -> None:
    from initlab.viz.compare import compare_figure

    cfg = CompareConfig(inits=("he_normal", "boom: normal(std=1)"), seeds=2, iterations=30, eval_every=10)
    res = compare(cfg, dataset=mnist)
    assert [r["diverged"] for r in res.summary()] == [0, 2]
    assert res.summary()[1]["test_accuracy_mean"] is None
    fig = compare_figure(res)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["he_normal", "boom (2/2 diverged)"]
    assert len(fig.axes[0].collections) >= 1  # the min-max band
    from initlab.viz import pyplot

    pyplot().close(fig)
