"""The stacked trainer equals a plain loop of ordinary nn.Sequential models trained with torch.optim.

Same initial values (``Stack.to_sequential``), same batches (the same generator and draws), plain
``F.cross_entropy`` and ``torch.optim``: per-step losses and final weights agree to float32
tolerance after 200 steps -- for ReLU and tanh, SGD, momentum and Adam, on the fast (fused) path and
on the observed path that also shows the gradients to an observer (bit-identical to the fused one:
``test_observer_does_not_change_a_bit``).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initlab import InitlabError, activations, load_dataset
from initlab.activations import activation
from initlab.data import Dataset
from initlab.ensemble.stack import Stack
from initlab.train import TrainConfig, backward_fn, evaluate, train

INITS = ["He: he_normal", "Xavier: lecun_normal", "torch_default"]
STEPS = 200


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


def _torch_optim(name: str, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.Adam(params, lr=lr)


def plain_loop(
    seqs: list[nn.Sequential], data: Dataset, cfg: TrainConfig, generator: torch.Generator
) -> torch.Tensor:
    """The obvious implementation: one model at a time, autograd, torch.optim. Returns (T, M) losses."""
    opts = [_torch_optim(cfg.optimizer, list(s.parameters()), cfg.lr) for s in seqs]
    losses = torch.zeros(cfg.iterations, len(seqs))
    n = len(data.train_x)
    for it in range(cfg.iterations):
        idx = torch.randint(n, (cfg.batch_size,), generator=generator)
        x, y = data.train_x[idx], data.train_y[idx]
        for m, (seq, opt) in enumerate(zip(seqs, opts, strict=True)):
            loss = F.cross_entropy(seq(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[it, m] = loss.detach()
    return losses


def linears(seq: nn.Sequential) -> list[nn.Linear]:
    return [mod for mod in seq if isinstance(mod, nn.Linear)]


@pytest.mark.parametrize("act", ["relu", "tanh"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("observed", [False, True], ids=["fused", "observed"])
def test_stack_equals_plain_loop(mnist: Dataset, act: str, optimizer: str, observed: bool) -> None:
    stack = Stack.from_schemes([784, 32, 24, 16, 10], act, INITS, [0, 1, 2])
    seqs = [stack.to_sequential(m) for m in range(stack.M)]
    lr = {"sgd": 0.05, "momentum": 0.005, "adam": 1e-3}[optimizer]
    cfg = TrainConfig(iterations=STEPS, batch_size=32, lr=lr, optimizer=optimizer, eval_every=0)
    steps: list[int] = []
    res = train(
        stack,
        mnist,
        cfg,
        generator=torch.Generator().manual_seed(7),
        on_step=(lambda step, s, loss: steps.append(step)) if observed else None,
    )
    ref = plain_loop(seqs, mnist, cfg, torch.Generator().manual_seed(7))
    assert steps == (list(range(STEPS)) if observed else [])
    torch.testing.assert_close(res.train_loss, ref, rtol=0, atol=1e-5)
    assert float((res.train_loss[-20:].mean(0) - res.train_loss[:20].mean(0)).min()) < -0.5  # it learned
    for m, seq in enumerate(seqs):
        for layer, lin in enumerate(linears(seq)):
            torch.testing.assert_close(stack.weights[layer][m], lin.weight.detach(), rtol=0, atol=1e-5)
            assert stack.biases is not None
            torch.testing.assert_close(stack.biases[layer][m], lin.bias.detach(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_observer_does_not_change_a_bit(mnist: Dataset, optimizer: str) -> None:
    """Training with an ``on_step`` observer (every step, or every 3rd) gives the same bits as without."""
    cfg = TrainConfig(iterations=60, batch_size=32, lr=0.02, optimizer=optimizer, eval_every=25, log_every=1)
    runs = []
    for observer in (None, "every", "sparse"):
        stack = Stack.from_schemes([784, 32, 24, 10], "tanh", INITS, [0, 1, 2])
        seen: list[int] = []
        c = cfg if observer != "sparse" else replace(cfg, log_every=3)
        res = train(
            stack,
            mnist,
            c,
            generator=torch.Generator().manual_seed(5),
            on_step=None if observer is None else (lambda step, s, loss, seen=seen: seen.append(step)),
        )
        assert len(seen) == {None: 0, "every": 60, "sparse": 20}[observer]
        runs.append((res, [w.detach().clone() for w in stack.weights]))
    (base, w0), *others = runs
    for res, ws in others:
        assert torch.equal(res.train_loss, base.train_loss)
        assert torch.equal(res.eval_loss, base.eval_loss)
        for a, b in zip(ws, w0, strict=True):
            assert torch.equal(a, b)
    assert not torch.equal(w0[0], Stack.from_schemes([784, 32, 24, 10], "tanh", INITS, [0, 1, 2]).weights[0])


def test_plain_loop_reference_can_fail(mnist: Dataset) -> None:
    """Negative control: one different batch draw and the comparison above would not pass."""
    stack = Stack.from_schemes([784, 16, 10], "relu", ["he_normal"], [0])
    seqs = [stack.to_sequential(0)]
    cfg = TrainConfig(iterations=20, batch_size=32, lr=0.05, eval_every=0)
    res = train(stack, mnist, cfg, generator=torch.Generator().manual_seed(7))
    ref = plain_loop(seqs, mnist, cfg, torch.Generator().manual_seed(8))
    assert float((res.train_loss - ref).abs().max()) > 1e-3


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("widths", [[784, 10], [784, 12, 10], [784, 12, 8, 6, 10]])
def test_gradients_seen_by_on_step_are_autograds(mnist: Dataset, widths: list[int], bias: bool) -> None:
    """Any depth, with or without biases: each model's gradient is that of its own mean loss."""
    stack = Stack.from_schemes(widths, "gelu", ["he_normal", "xavier_uniform"], [3, 4], bias=bias)
    seqs = [stack.to_sequential(m) for m in range(stack.M)]
    seen: dict[str, list[torch.Tensor]] = {}

    def grab(step: int, s: Stack, loss: torch.Tensor) -> None:
        seen["w"] = [w.grad.clone() for w in s.weights]  # type: ignore[union-attr]
        seen["b"] = [b.grad.clone() for b in s.biases] if s.biases is not None else []  # type: ignore[union-attr]
        seen["loss"] = [loss.clone()]

    cfg = TrainConfig(iterations=1, batch_size=50, eval_every=0)
    train(stack, mnist, cfg, generator=torch.Generator().manual_seed(1), on_step=grab)
    idx = torch.randint(len(mnist.train_x), (50,), generator=torch.Generator().manual_seed(1))
    for m, seq in enumerate(seqs):
        loss = F.cross_entropy(seq(mnist.train_x[idx]), mnist.train_y[idx])
        loss.backward()
        torch.testing.assert_close(seen["loss"][0][m], loss.detach())
        for layer, lin in enumerate(linears(seq)):
            torch.testing.assert_close(seen["w"][layer][m], lin.weight.grad, rtol=1e-4, atol=1e-7)
            if bias:
                torch.testing.assert_close(seen["b"][layer][m], lin.bias.grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name", activations())
def test_activation_derivatives_match_autograd(name: str) -> None:
    """Every registered activation: the trainer's derivative is autograd's (looped over the registry)."""
    act = activation(name)
    z = torch.linspace(-30, 30, 4001).reshape(4001, 1) * torch.tensor([1.0, 0.1, 0.01])  # (N, 3)
    z = z.reshape(-1)
    zz = z.clone().requires_grad_(True)
    a = act(zz)
    g = torch.randn(z.shape, generator=torch.Generator().manual_seed(0))
    (ref,) = torch.autograd.grad(a, zz, g)
    got = backward_fn(act)(g.clone(), z, a.detach())
    torch.testing.assert_close(got, ref, rtol=1e-6, atol=1e-7)


def test_activation_with_parameters() -> None:
    for spec in ["leaky_relu(negative_slope=0.2)", "elu(alpha=0.5)", "softplus(beta=3)"]:
        act = activation(spec)
        z = torch.linspace(-10, 10, 501, requires_grad=True)
        a = act(z)
        (ref,) = torch.autograd.grad(a.sum(), z)
        torch.testing.assert_close(backward_fn(act)(torch.ones(501), z.detach(), a.detach()), ref)


def test_evaluate_matches_plain_models(mnist: Dataset) -> None:
    stack = Stack.from_schemes([784, 20, 10], "tanh", ["he_normal", "normal(std=0.3)"], [0, 1])
    x, y = mnist.test_x[:777], mnist.test_y[:777]
    loss, acc = evaluate(stack, x, y, batch=100)
    for m in range(2):
        with torch.no_grad():
            logits = stack.to_sequential(m)(x)
        torch.testing.assert_close(loss[m], F.cross_entropy(logits, y).double(), rtol=1e-5, atol=1e-6)
        assert float(acc[m]) == float((logits.argmax(1) == y).double().mean())


def test_engine_needs_logits() -> None:
    """The engine (behind ``train`` and ``evaluate``) refuses a stack whose last layer is activated."""
    stack = Stack.from_schemes([4, 3], "relu", ["he_normal"], [0], activate_last=True)
    with pytest.raises(InitlabError, match="activate_last=False"):
        evaluate(stack, torch.zeros(2, 4), torch.zeros(2, dtype=torch.int64))
