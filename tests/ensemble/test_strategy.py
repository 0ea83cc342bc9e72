"""Execution strategies: ``vmap`` and ``loop`` give the same outputs, gradients and running statistics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initlab.core.errors import InitlabError
from initlab.ensemble import Ensemble, model_factory

#: Tiny models of every family and norm (fast), MNIST-shaped: (B, 784) in, (B, 10) out.
TINY = [
    "mlp(layers=2, width=8)",
    "cnn(depth=3, channels=4, norm=batch, pool=avg)",
    "cnn(depth=2, channels=8, kernel=5, norm=group)",
    "cnn(depth=2, channels=4, norm=layer, pool=max)",
    "resnet(depth=8, width=4)",
    "resnet(depth=8, width=4, block=preact, norm=none)",
    "vit(depth=1, dim=8, heads=2)",
]
SPECS = ["he_normal", "xavier_uniform", "lecun_normal"]
TOL = {"rtol": 1e-12, "atol": 1e-12}


def _x(batch: int = 6) -> torch.Tensor:
    return torch.rand(batch, 784, generator=torch.Generator().manual_seed(3), dtype=torch.float64)  # (B, 784)


def _pair(spec: str) -> tuple[Ensemble, Ensemble]:
    make = model_factory(spec)
    a = Ensemble.from_factory(make, SPECS, [1, 2, 3], dtype=torch.float64, strategy="vmap")
    b = Ensemble.from_factory(make, SPECS, [1, 2, 3], dtype=torch.float64, strategy="loop")
    assert (a.strategy, b.strategy) == ("vmap", "loop")
    return a, b


def _losses(ens: Ensemble, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = ens(x)  # (M, B, C)
    return F.cross_entropy(logits.flatten(0, 1), y.repeat(ens.M), reduction="none").view(ens.M, -1).mean(1)


@pytest.mark.parametrize("spec", TINY)
def test_loop_equals_vmap_in_float64(spec: str) -> None:
    """Outputs, gradients w.r.t. the stacked parameters, running statistics (train), outputs (eval)."""
    a, b = _pair(spec)
    x = _x()
    y = torch.arange(x.shape[0]) % 10  # (B,)
    la, lb = _losses(a, x, y), _losses(b, x, y)  # (M,)
    torch.testing.assert_close(lb, la, **TOL)
    la.sum().backward()
    lb.sum().backward()
    for name, p in a.params.items():
        q = b.params[name]
        assert q.grad is not None and p.grad is not None, name
        torch.testing.assert_close(q.grad, p.grad, **TOL)
    for name, buf in a.buffers.items():  # BatchNorm's running statistics: updated in the stack, per model
        torch.testing.assert_close(b.buffers[name], buf, **TOL)
    a.eval()
    b.eval()
    torch.testing.assert_close(b(x), a(x), **TOL)


def test_loop_updates_each_models_running_statistics_in_the_stack() -> None:
    _, ens = _pair("cnn(depth=2, channels=4, norm=batch)")
    before = {k: v.clone() for k, v in ens.buffers.items()}
    alone = [ens.model(m) for m in range(ens.M)]
    x = _x()
    ens(x)
    for m, model in enumerate(alone):
        model(x)
        for name, buf in model.named_buffers():
            torch.testing.assert_close(ens.buffers[name][m], buf, **TOL)
    assert not torch.equal(ens.buffers["2.running_mean"], before["2.running_mean"])
    assert ens.buffers["2.num_batches_tracked"].tolist() == [1, 1, 1]


def test_sgd_with_momentum_steps_both_strategies_alike() -> None:
    a, b = _pair("cnn(depth=2, channels=4, norm=batch)")
    x = _x()
    y = torch.arange(x.shape[0]) % 10  # (B,)
    opts = [torch.optim.SGD(e.parameters(), lr=0.1, momentum=0.9) for e in (a, b)]
    for _ in range(3):
        for ens, opt in zip((a, b), opts, strict=True):
            opt.zero_grad()
            _losses(ens, x, y).sum().backward()
            opt.step()
    for name, p in a.params.items():
        torch.testing.assert_close(b.params[name], p, **TOL)
    for name, buf in a.buffers.items():
        torch.testing.assert_close(b.buffers[name], buf, **TOL)


@pytest.mark.parametrize("strategy", ["vmap", "loop"])
def test_dropout_draws_per_model_randomness(strategy: str) -> None:
    def net() -> nn.Module:
        return nn.Sequential(nn.Linear(784, 64), nn.Dropout(0.5))

    ens = Ensemble.from_factory(net, ["he_normal"] * 3, [7, 7, 7], strategy=strategy)  # three equal models
    x = _x().float()
    with torch.random.fork_rng(devices=[]):
        out = ens(x)  # (M, B, 64)
    assert not torch.equal(out[0], out[1]) and not torch.equal(out[1], out[2])
    assert bool((out == 0).any())
    ens.eval()
    out = ens(x)
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])


def test_auto_picks_the_loop_for_conv_nets_on_the_cpu_and_vmap_otherwise() -> None:
    conv = Ensemble.from_factory(model_factory("cnn(depth=2, channels=4)"), SPECS[:2], [0, 1])
    mlp = Ensemble.from_factory(model_factory("mlp(layers=1, width=4)"), SPECS[:2], [0, 1])
    vit = Ensemble.from_factory(model_factory("vit(depth=1, dim=8, heads=2)"), SPECS[:2], [0, 1])
    assert (conv.strategy, mlp.strategy, vit.strategy) == ("loop", "vmap", "vmap")
    conv.strategy = "vmap"
    assert conv.strategy == "vmap"
    conv.strategy = "auto"
    assert conv.to("cpu").strategy == "loop"
    assert Ensemble([nn.Conv2d(1, 2, 3)], strategy="vmap").strategy == "vmap"


def test_an_unknown_strategy_is_an_error() -> None:
    with pytest.raises(InitlabError, match=r"unknown ensemble strategy 'lop' \(did you mean: loop"):
        Ensemble([nn.Linear(2, 3)], strategy="lop")
    with pytest.raises(InitlabError, match="strategies: auto, vmap, loop"):
        Ensemble.from_factory(lambda: nn.Linear(2, 3), ["he_normal"], [0], strategy="grouped")
    ens = Ensemble([nn.Linear(2, 3)])
    with pytest.raises(InitlabError, match="unknown ensemble strategy"):
        ens.strategy = "Loop"
    assert ens.strategy == "vmap"
