"""The trainer's behaviour: determinism, sampling, evaluation schedule, divergence, stopping, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from initlab import InitlabError, load_dataset
from initlab.data import Dataset
from initlab.ensemble.stack import Stack
from initlab.train import Sampler, TrainConfig, train

CLASSIC = [784, 100, 100, 100, 100, 10]


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


def small(specs: list[str], seeds: list[int] | None = None, act: str = "relu") -> Stack:
    return Stack.from_schemes([784, 24, 16, 10], act, specs, seeds or list(range(len(specs))))


def test_deterministic_for_a_seed(mnist: Dataset) -> None:
    cfg = TrainConfig(iterations=60, batch_size=32, eval_every=20)
    a, b, c = (small(["he_normal", "lecun_normal"]) for _ in range(3))
    ra = train(a, mnist, cfg, generator=torch.Generator().manual_seed(3))
    rb = train(b, mnist, cfg, generator=torch.Generator().manual_seed(3))
    rc = train(c, mnist, cfg, generator=torch.Generator().manual_seed(4))
    assert torch.equal(ra.train_loss, rb.train_loss) and torch.equal(ra.eval_accuracy, rb.eval_accuracy)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(ra.train_loss, rc.train_loss)  # other batches


def test_eval_schedule_and_result_shapes(mnist: Dataset) -> None:
    cfg = TrainConfig(iterations=50, batch_size=16, eval_every=20, eval_size=500)
    res = train(small(["he_normal"] * 3), mnist, cfg, generator=torch.Generator().manual_seed(0))
    assert res.eval_iterations == [0, 20, 40, 50]
    assert res.train_loss.shape == (50, 3) and res.eval_accuracy.shape == (4, 3)
    assert res.eval_examples == 500 and res.iterations == 50 and not res.interrupted
    assert res.final_accuracy.shape == (3,)
    assert 0 < res.eval_seconds < res.wall_seconds
    assert res.to_dict()["eval_iterations"] == [0, 20, 40, 50]
    only_end = train(
        small(["he_normal"]), mnist, TrainConfig(iterations=5, eval_every=0), generator=torch.Generator()
    )
    assert only_end.eval_iterations == [5]


def test_same_batch_for_every_model(mnist: Dataset) -> None:
    """Two copies of one model inside a bigger stack train identically (they saw the same batches)."""
    stack = small(["he_normal", "lecun_normal", "he_normal"], [5, 6, 5])
    res = train(
        stack, mnist, TrainConfig(iterations=40, batch_size=8), generator=torch.Generator().manual_seed(0)
    )
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


def test_divergence_is_marked_frozen_and_isolated(mnist: Dataset) -> None:
    """A deliberately exploding spec diverges; the He model beside it trains exactly as it would alone."""
    cfg = TrainConfig(iterations=100, eval_every=50)
    both = Stack.from_schemes(CLASSIC, "relu", ["He: he_normal", "boom: normal(std=1)"], [0, 0])
    alone = Stack.from_schemes(CLASSIC, "relu", ["He: he_normal"], [0])
    rb = train(both, mnist, cfg, generator=torch.Generator().manual_seed(0))
    ra = train(alone, mnist, cfg, generator=torch.Generator().manual_seed(0))
    t = rb.diverged_at[1]
    assert rb.diverged_at[0] is None and t is not None and 0 <= t < 100
    assert rb.iterations == 100 and rb.stop_reason is None
    assert not math.isfinite(float(rb.train_loss[t, 1]))
    assert bool(torch.isnan(rb.train_loss[t + 1 :, 1]).all())
    assert bool(torch.isfinite(rb.train_loss[:, 0]).all())
    torch.testing.assert_close(rb.train_loss[:, 0], ra.train_loss[:, 0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(rb.eval_accuracy[:, 0], ra.eval_accuracy[:, 0], rtol=0, atol=2e-4)
    assert float(rb.final_accuracy[0]) > 0.5
    # frozen: training on does not move the diverged model (it is re-detected at once), the other does
    frozen = [p[1].clone() for p in both.parameters()]
    moving = [p[0].clone() for p in both.parameters()]
    again = train(
        both, mnist, TrainConfig(iterations=5, eval_every=0), generator=torch.Generator().manual_seed(1)
    )
    assert again.diverged_at == [None, 0]
    for p, f, g in zip(both.parameters(), frozen, moving, strict=True):
        assert torch.equal(p[1], f) or bool(torch.isnan(f).any())
        assert not torch.equal(p[0], g)


def test_all_diverged_stops_early(mnist: Dataset) -> None:
    stack = Stack.from_schemes(CLASSIC, "relu", ["normal(std=1)", "uniform(a=-2, b=2)"], [0, 1])
    res = train(stack, mnist, TrainConfig(iterations=500, eval_every=0), generator=torch.Generator())
    assert res.stop_reason == "all models diverged" and res.iterations < 500
    assert all(d is not None for d in res.diverged_at)
    assert res.train_loss.shape[0] == res.iterations and not res.interrupted


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


def test_keyboard_interrupt_is_not_caught(mnist: Dataset) -> None:
    """``should_stop`` is the one stopping mechanism: a KeyboardInterrupt passes through the trainer
    (the CLI turns Ctrl-C into ``should_stop``), and the stack still gets its own storage back."""
    stack = small(["he_normal"])
    w0 = stack.weights[0].data

    def on_step(step: int, s: Stack, loss: torch.Tensor) -> None:
        if step == 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            stack,
            mnist,
            TrainConfig(iterations=100, eval_every=0),
            generator=torch.Generator(),
            on_step=on_step,
        )
    assert stack.weights[0].data.data_ptr() == w0.data_ptr()


def test_on_step_every_log_every(mnist: Dataset) -> None:
    steps: list[int] = []
    cfg = TrainConfig(iterations=25, log_every=10, eval_every=0)
    train(
        small(["he_normal"]),
        mnist,
        cfg,
        generator=torch.Generator(),
        on_step=lambda step, st, loss: steps.append(step),
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
        ({"optimizer": "adamw"}, "unknown optimizer 'adamw' \\(did you mean: adam"),
        ({"sampling": "shuffle"}, "unknown sampling 'shuffle'"),
        ({"eval_every": -1}, "eval_every must be a non-negative integer"),
        ({"momentum": 1.0}, "momentum must be in \\[0, 1\\)"),
    ],
)
def test_bad_config(mnist: Dataset, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InitlabError, match=message):
        train(small(["he_normal"]), mnist, TrainConfig(**kwargs), generator=torch.Generator())  # type: ignore[arg-type]


def test_stack_must_fit_dataset(mnist: Dataset) -> None:
    with pytest.raises(InitlabError, match="do not fit mnist"):
        train(Stack.from_schemes([100, 10], "relu", ["he_normal"], [0]), mnist, generator=torch.Generator())


def test_non_finite_weights_are_caught_at_evaluation(mnist: Dataset) -> None:
    stack = small(["he_normal", "he_normal"], [0, 1])
    with torch.no_grad():
        stack.weights[1][1, 3, 5] = math.nan
    before = [p[1].detach().clone() for p in stack.parameters()]
    res = train(stack, mnist, TrainConfig(iterations=30, eval_every=10), generator=torch.Generator())
    assert res.diverged_at == [None, 0]
    assert bool(torch.isnan(res.train_loss[:, 1]).all()) and bool(torch.isfinite(res.train_loss[:, 0]).all())
    for p, b in zip(stack.parameters(), before, strict=True):
        torch.testing.assert_close(p[1].detach(), b, equal_nan=True)  # frozen
    assert float(res.final_accuracy[0]) > 0.15  # the other model learns


def test_parameters_get_their_storage_back(mnist: Dataset) -> None:
    stack = small(["he_normal"])
    w0 = stack.weights[0].data
    seen: list[bool] = []

    def on_step(step: int, s: Stack, loss: torch.Tensor) -> None:
        seen.append(s.weights[0].grad is not None and s.weights[0].data.data_ptr() != w0.data_ptr())

    train(stack, mnist, TrainConfig(iterations=3, eval_every=0), generator=torch.Generator(), on_step=on_step)
    assert seen == [True] * 3  # during training: views into the packed buffers, with gradients
    assert stack.weights[0].data.data_ptr() == w0.data_ptr() and stack.weights[0].is_contiguous()
    assert stack.weights[0].grad is not None and stack.weights[0].grad.is_contiguous()
