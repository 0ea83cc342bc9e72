"""The trainer's loop: determinism, sampling, evaluation schedule, divergence, stopping, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from initlab import InitlabError, load_dataset
from initlab.data import Dataset
from initlab.ensemble import Ensemble, Stack, model_factory
from initlab.train import Sampler, TrainConfig, train

CLASSIC = [784, 100, 100, 100, 100, 10]


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


def small(specs: list[str], seeds: list[int] | None = None, act: str = "relu") -> Ensemble:
    make = model_factory("mlp(layers=2, width=16)", activation=act)
    return Ensemble.from_factory(make, specs, seeds or list(range(len(specs))))


@pytest.mark.parametrize("backend", ["engine", "autograd"])
def test_deterministic_for_a_seed(mnist: Dataset, backend: str) -> None:
    cfg = TrainConfig(iterations=60, batch_size=32, eval_every=20, backend=backend)
    a, b, c = (small(["he_normal", "lecun_normal"]) for _ in range(3))
    ra = train(a, mnist, cfg, generator=torch.Generator().manual_seed(3))
    rb = train(b, mnist, cfg, generator=torch.Generator().manual_seed(3))
    rc = train(c, mnist, cfg, generator=torch.Generator().manual_seed(4))
    assert ra.backend == backend
    assert torch.equal(ra.train_loss, rb.train_loss) and torch.equal(ra.eval_accuracy, rb.eval_accuracy)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(ra.train_loss, rc.train_loss)  # other batches


def test_auto_chooses_the_engine_for_dense_mlps_on_the_cpu(mnist: Dataset) -> None:
    cfg = TrainConfig(iterations=2, eval_every=0)
    assert train(small(["he_normal"]), mnist, cfg, generator=torch.Generator()).backend == "engine"
    clipped = TrainConfig(iterations=2, eval_every=0, clip=1.0)
    assert train(small(["he_normal"]), mnist, clipped, generator=torch.Generator()).backend == "autograd"
    adamw = TrainConfig(iterations=2, eval_every=0, optimizer="adamw")
    assert train(small(["he_normal"]), mnist, adamw, generator=torch.Generator()).backend == "autograd"
    cnn = Ensemble.from_factory(model_factory("cnn(depth=1, channels=2)"), ["he_normal"], [0])
    assert train(cnn, mnist, cfg, generator=torch.Generator()).backend == "autograd"


def test_eval_schedule_and_result_shapes(mnist: Dataset) -> None:
    cfg = TrainConfig(iterations=50, batch_size=16, eval_every=20, eval_size=500)
    res = train(small(["he_normal"] * 3), mnist, cfg, generator=torch.Generator().manual_seed(0))
    assert res.eval_iterations == [0, 20, 40, 50]
    assert res.train_loss.shape == (50, 3) and res.eval_accuracy.shape == (4, 3)
    assert res.eval_examples == 500 and res.iterations == 50 and not res.interrupted
    assert res.final_accuracy.shape == (3,)
    assert 0 < res.eval_seconds < res.wall_seconds
    assert res.to_dict()["eval_iterations"] == [0, 20, 40, 50] and res.to_dict()["device"] == "cpu"
    only_end = train(
        small(["he_normal"]), mnist, TrainConfig(iterations=5, eval_every=0), generator=torch.Generator()
    )
    assert only_end.eval_iterations == [5]


@pytest.mark.parametrize("backend", ["engine", "autograd"])
def test_same_batch_for_every_model(mnist: Dataset, backend: str) -> None:
    """Two copies of one model inside a bigger ensemble train identically (they saw the same batches)."""
    ens = small(["he_normal", "lecun_normal", "he_normal"], [5, 6, 5])
    cfg = TrainConfig(iterations=40, batch_size=8, backend=backend)
    res = train(ens, mnist, cfg, generator=torch.Generator().manual_seed(0))
    assert torch.equal(res.train_loss[:, 0], res.train_loss[:, 2])
    assert not torch.equal(res.train_loss[:, 0], res.train_loss[:, 1])


def test_epoch_sampling_visits_every_example_once() -> None:
    s = Sampler(10, 3, "epochs", torch.Generator().manual_seed(0))
    first = torch.cat([s.next() for _ in range(3)])  # 9 of 10; the partial batch is dropped
    assert len(set(first.tolist())) == 9
    second = torch.cat([s.next() for _ in range(3)])
    assert len(set(second.tolist())) == 9 and not torch.equal(first, second)
    r = Sampler(10, 3, "replacement", torch.Generator().manual_seed(0))
    assert torch.equal(r.next(), torch.randint(10, (3,), generator=torch.Generator().manual_seed(0)))
    with pytest.raises(InitlabError, match="exceeds the 10 training examples"):
        Sampler(10, 11, "epochs", torch.Generator())


@pytest.mark.parametrize("backend", ["engine", "autograd"])
def test_divergence_is_marked_frozen_and_isolated(mnist: Dataset, backend: str) -> None:
    """A deliberately exploding spec diverges; the He model beside it trains exactly as it would alone,
    and the diverged one is frozen at its last finite parameters."""
    make = model_factory("mlp(layers=4, width=100)")
    cfg = TrainConfig(iterations=60, eval_every=30, backend=backend)
    both = Ensemble.from_factory(make, ["He: he_normal", "boom: normal(std=1)"], [0, 0])
    alone = Ensemble.from_factory(make, ["He: he_normal"], [0])
    rb = train(both, mnist, cfg, generator=torch.Generator().manual_seed(0))
    ra = train(alone, mnist, cfg, generator=torch.Generator().manual_seed(0))
    t = rb.diverged_at[1]
    assert rb.diverged_at[0] is None and t is not None and 0 < t < 60
    assert rb.iterations == 60 and rb.stop_reason is None
    assert not math.isfinite(float(rb.train_loss[t, 1]))
    assert bool(torch.isnan(rb.train_loss[t + 1 :, 1]).all())
    assert bool(torch.isfinite(rb.train_loss[:t, 1]).all()) and bool(
        torch.isfinite(rb.train_loss[:, 0]).all()
    )
    assert torch.equal(rb.train_loss[:, 0], ra.train_loss[:, 0])
    assert torch.equal(rb.eval_accuracy[:, 0], ra.eval_accuracy[:, 0])
    for name, p in both.params.items():
        assert torch.equal(p[0], alone.params[name][0])
    # frozen at the last finite parameters: those the boom model had after t steps on its own
    boom = Ensemble.from_factory(make, ["boom: normal(std=1)"], [0])
    rt = train(
        boom,
        mnist,
        TrainConfig(iterations=t, eval_every=0, backend=backend),
        generator=torch.Generator().manual_seed(0),
    )
    assert rt.diverged_at == [None]
    for name, p in both.params.items():
        assert bool(torch.isfinite(p[1]).all())
        assert torch.equal(p[1], boom.params[name][0]), name


def test_all_diverged_stops_early(mnist: Dataset) -> None:
    make = model_factory("mlp(layers=4, width=100)")
    ens = Ensemble.from_factory(make, ["normal(std=1)", "uniform(a=-2, b=2)"], [0, 1])
    res = train(ens, mnist, TrainConfig(iterations=500, eval_every=0), generator=torch.Generator())
    assert res.stop_reason == "all models diverged" and res.iterations < 500
    assert all(d is not None for d in res.diverged_at)
    assert res.train_loss.shape[0] == res.iterations and not res.interrupted


def test_losses_are_read_every_log_every_steps(mnist: Dataset) -> None:
    """With log_every=10 the early stop is noticed at the next read, and every loss still arrives."""
    make = model_factory("mlp(layers=4, width=100)")
    ens = Ensemble.from_factory(make, ["normal(std=1)"], [0])
    cfg = TrainConfig(iterations=500, eval_every=0, log_every=10, backend="autograd")
    res = train(ens, mnist, cfg, generator=torch.Generator())
    t = res.diverged_at[0]
    assert t is not None and res.iterations % 10 == 0 and t < res.iterations <= t + 10
    assert bool(torch.isfinite(res.train_loss[:t, 0]).all()) and bool(
        torch.isnan(res.train_loss[t + 1 :, 0]).all()
    )


def test_should_stop_returns_partial_result(mnist: Dataset) -> None:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 30

    res = train(
        small(["he_normal"]),
        mnist,
        TrainConfig(iterations=1000, eval_every=20),
        generator=torch.Generator(),
        should_stop=stop,
    )
    assert res.interrupted and res.stop_reason == "interrupted" and res.iterations == 30
    assert res.train_loss.shape == (30, 1) and res.eval_iterations == [0, 20, 30]


@pytest.mark.parametrize("backend", ["engine", "autograd"])
def test_keyboard_interrupt_is_not_caught(mnist: Dataset, backend: str) -> None:
    """``should_stop`` is the one stopping mechanism: a KeyboardInterrupt passes through the trainer
    (the CLI turns Ctrl-C into ``should_stop``), and the ensemble keeps the weights trained so far."""
    ens = small(["he_normal"])
    before = ens.params["0.weight"].detach().clone()

    def on_step(step: int, e: Ensemble, loss: torch.Tensor) -> None:
        if step == 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            ens,
            mnist,
            TrainConfig(iterations=100, eval_every=0, backend=backend),
            generator=torch.Generator(),
            on_step=on_step,
        )
    assert not torch.equal(ens.params["0.weight"], before)


def test_on_step_every_log_every(mnist: Dataset) -> None:
    steps: list[int] = []
    cfg = TrainConfig(iterations=25, log_every=10, eval_every=0)
    train(
        small(["he_normal"]),
        mnist,
        cfg,
        generator=torch.Generator(),
        on_step=lambda step, e, loss: steps.append(step),
    )
    assert steps == [0, 10, 20]


def test_progress_reaches_total(mnist: Dataset) -> None:
    seen: list[tuple[int, int]] = []
    cfg = TrainConfig(iterations=250, batch_size=8, eval_every=0)
    train(
        small(["he_normal"]),
        mnist,
        cfg,
        generator=torch.Generator(),
        progress=lambda d, t, **kw: seen.append((d, t)),
    )
    assert seen[-1] == (250, 250) and 50 <= len(seen) <= 300


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"iterations": 0}, "iterations must be >= 1, got 0"),
        ({"batch_size": -1}, "batch_size must be >= 1, got -1"),
        ({"lr": 0.0}, "learning rate must be a positive number"),
        ({"lr": float("nan")}, "learning rate must be a positive number"),
        ({"optimizer": "adamm"}, "unknown optimizer 'adamm' \\(did you mean: adam"),
        (
            {"optimizer": "adamw(weight_decy=0.1)"},
            "AdamW has no argument 'weight_decy'.*did you mean: weight_decay",
        ),
        ({"optimizer": "adam(0.1)"}, "give optimizer arguments by name"),
        (
            {"optimizer": "sgd(momentum=-1)"},
            "optimizer 'sgd\\(momentum=-1\\)': momentum must be a non-negative",
        ),
        ({"optimizer": "lbfgs"}, "'lbfgs' is not per-model on stacked parameters: its line search"),
        ({"optimizer": "Adafactor"}, "'Adafactor' is not per-model.*RMS of the whole tensor"),
        ({"optimizer": "muon"}, "'muon' is not per-model"),
        ({"clip": 0.0}, "clip \\(max gradient norm per model\\) must be a positive number"),
        ({"backend": "fast"}, "unknown backend 'fast'"),
        ({"sampling": "shuffle"}, "unknown sampling 'shuffle'"),
        ({"eval_every": -1}, "eval_every must be a non-negative integer"),
        ({"momentum": 1.0}, "momentum must be in \\[0, 1\\)"),
    ],
)
def test_bad_config(mnist: Dataset, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InitlabError, match=message):
        train(small(["he_normal"]), mnist, TrainConfig(**kwargs), generator=torch.Generator())  # type: ignore[arg-type]


def test_backend_that_does_not_apply(mnist: Dataset) -> None:
    cnn = Ensemble.from_factory(model_factory("cnn(depth=1, channels=2)"), ["he_normal"], [0])
    with pytest.raises(InitlabError, match="the engine backend trains dense MLPs"):
        train(cnn, mnist, TrainConfig(iterations=1, backend="engine"), generator=torch.Generator())
    with pytest.raises(InitlabError, match="the engine backend trains dense MLPs"):
        train(
            small(["he_normal"]),
            mnist,
            TrainConfig(iterations=1, backend="engine", clip=1.0),
            generator=torch.Generator(),
        )
    with pytest.raises(InitlabError, match="compile is offered on CUDA devices only, not on cpu"):
        train(cnn, mnist, TrainConfig(iterations=1, compile=True), generator=torch.Generator())


def test_model_must_fit_dataset(mnist: Dataset) -> None:
    with pytest.raises(InitlabError, match="does not take mnist's input \\(784 features a sample\\)"):
        train(Stack.from_schemes([100, 10], "relu", ["he_normal"], [0]), mnist, generator=torch.Generator())
    seven = Ensemble([nn.Sequential(nn.Linear(784, 7))])
    with pytest.raises(InitlabError, match="does not fit mnist's 10 classes"):
        train(seven, mnist, generator=torch.Generator())


def test_a_stack_trains_in_place(mnist: Dataset) -> None:
    """The Stack of MLPs is still accepted: trained as the ensemble of its models, updated in place."""
    stack = Stack.from_schemes([784, 12, 10], "tanh", ["he_normal", "lecun_normal"], [0, 1])
    ens = Ensemble([stack.to_sequential(m) for m in range(2)])
    cfg = TrainConfig(iterations=5, eval_every=0)
    rs = train(stack, mnist, cfg, generator=torch.Generator().manual_seed(0))
    re = train(ens, mnist, cfg, generator=torch.Generator().manual_seed(0))
    assert torch.equal(rs.train_loss, re.train_loss)
    assert torch.equal(stack.weights[1], ens.params["2.weight"])


def test_non_finite_weights_are_caught(mnist: Dataset) -> None:
    ens = small(["he_normal", "he_normal"], [0, 1])
    with torch.no_grad():
        ens.params["0.weight"][1, 3, 5] = math.nan
    before = {k: p[1].detach().clone() for k, p in ens.params.items()}
    res = train(ens, mnist, TrainConfig(iterations=30, eval_every=10, lr=0.1), generator=torch.Generator())
    assert res.diverged_at == [None, 0]
    assert bool(torch.isnan(res.train_loss[:, 1]).all()) and bool(torch.isfinite(res.train_loss[:, 0]).all())
    for k, p in ens.params.items():
        torch.testing.assert_close(p[1].detach(), before[k], equal_nan=True)  # frozen
    assert float(res.final_accuracy[0]) > 0.15  # the other model learns


def test_a_diverging_conv_net_is_frozen_and_the_others_train_as_alone(mnist: Dataset) -> None:
    """An ensemble of conv nets (under either execution strategy): one blows up and is frozen at its
    last finite parameters; the two beside it finish bit for bit as the ensemble of those two alone."""
    make = model_factory("cnn(depth=3, channels=4)", activation="linear")
    cfg = TrainConfig(iterations=12, batch_size=16, lr=0.1, eval_every=6, eval_size=200)
    three = Ensemble.from_factory(make, ["he_normal", "boom: normal(std=3)", "lecun_normal"], [0, 0, 1])
    two = Ensemble.from_factory(make, ["he_normal", "lecun_normal"], [0, 1])
    r3 = train(three, mnist, cfg, generator=torch.Generator().manual_seed(0))
    r2 = train(two, mnist, cfg, generator=torch.Generator().manual_seed(0))
    t = r3.diverged_at[1]
    assert r3.backend == "autograd" and r3.diverged_at[::2] == [None, None] and t is not None and 0 < t < 12
    assert bool(torch.isnan(r3.train_loss[t + 1 :, 1]).all()) and r2.diverged_at == [None, None]
    assert torch.equal(r3.train_loss[:, ::2], r2.train_loss)
    assert torch.equal(r3.eval_loss[:, ::2], r2.eval_loss)
    for name, p in three.params.items():
        assert torch.equal(p[::2], two.params[name]), name
    # frozen at its last finite parameters: the boom model's after t steps on its own (a one-model
    # ensemble runs ungrouped convolutions, whose last bits differ, amplified by the blow-up: rtol)
    boom = Ensemble.from_factory(make, ["boom: normal(std=3)"], [0])
    cfg_t = TrainConfig(iterations=t, batch_size=16, lr=0.1, eval_every=0)
    assert train(boom, mnist, cfg_t, generator=torch.Generator().manual_seed(0)).diverged_at == [None]
    for name, p in three.params.items():
        assert bool(torch.isfinite(p[1]).all()), name
        torch.testing.assert_close(p[1], boom.params[name][0], rtol=1e-3, atol=0)
