"""Oracle: the ensemble trainer equals the same models trained one by one with ``torch.optim``.

Every family (MLP, CNN with each norm, ResNet with and without BatchNorm, ViT), in float64: the
ensemble (one stacked computation) against a plain loop over ordinary modules (``Ensemble.model(m)``
copies, ``F.cross_entropy``, ``torch.optim``), on the same batches -- per-step losses, final weights
and BatchNorm running statistics within 1e-10 after 20 steps, for SGD, momentum and Adam (and AdamW
with weight decay, and per-model gradient clipping). Then the fast path against the default backend,
and observers that do not change a bit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initlab import activations, load_dataset
from initlab.data import Dataset
from initlab.ensemble import Ensemble, model_factory
from initlab.train import Sampler, TrainConfig, evaluate, train

STEPS = 20
TOL = {"rtol": 0.0, "atol": 1e-10}
SPECS = {
    "mlp": "mlp(layers=2, width=8)",
    "cnn": "cnn(depth=2, channels=4, norm=none)",
    "cnn-batch": "cnn(depth=2, channels=4, norm=batch)",
    "cnn-layer": "cnn(depth=2, channels=4, norm=layer)",
    "cnn-group": "cnn(depth=2, channels=4, norm=group)",
    "resnet": "resnet(depth=8, width=2, norm=none)",
    "resnet-batch": "resnet(depth=8, width=2, norm=batch)",
    "vit": "vit(depth=1, dim=8, heads=2, patch=7)",
}
#: (family, optimizer spec): every family, every optimizer on the MLP and the BatchNorm CNN
CASES = [
    *[("mlp", o) for o in ("sgd", "momentum", "adam", "adamw(weight_decay=0.1)")],
    *[("cnn-batch", o) for o in ("sgd", "momentum", "adam")],
    ("cnn", "momentum"),
    ("cnn-layer", "adam"),
    ("cnn-group", "sgd"),
    ("resnet", "adam"),
    ("resnet-batch", "momentum"),
    ("vit", "adam"),
]
LR = {"sgd": 0.05, "momentum": 0.02, "adam": 1e-3, "adamw": 1e-3}


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    """The first 1000 training and 300 test images (the float64 copy stays small)."""
    d = load_dataset("mnist")
    return dataclasses.replace(
        d, train_x=d.train_x[:1000], train_y=d.train_y[:1000], test_x=d.test_x[:300], test_y=d.test_y[:300]
    )


def reference_optimizer(spec: str, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """The optimizer the spec means, written out with torch.optim directly (an independent reading)."""
    if spec == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if spec == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if spec == "adam":
        return torch.optim.Adam(params, lr=lr)
    assert spec == "adamw(weight_decay=0.1)"
    return torch.optim.AdamW(params, lr=lr, weight_decay=0.1)


def one_by_one(
    models: list[nn.Module],
    data: Dataset,
    cfg: TrainConfig,
    seed: int,
    make_opt: Callable[[list[nn.Parameter]], torch.optim.Optimizer],
) -> torch.Tensor:
    """The obvious implementation: one model at a time, autograd, torch.optim. Returns (T, M) losses."""
    opts = [make_opt(list(m.parameters())) for m in models]
    sampler = Sampler(len(data.train_x), cfg.batch_size, cfg.sampling, torch.Generator().manual_seed(seed))
    x_all = data.train_x.double()
    losses = torch.zeros(cfg.iterations, len(models), dtype=torch.float64)
    for it in range(cfg.iterations):
        idx = sampler.next()
        x, y = x_all[idx], data.train_y[idx]
        for m, (model, opt) in enumerate(zip(models, opts, strict=True)):
            model.train()
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            if cfg.clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            losses[it, m] = loss.detach()
    return losses


def ensemble(spec: str, inits: list[str], seeds: list[int], act: str | None = None) -> Ensemble:
    return Ensemble.from_factory(model_factory(spec, activation=act), inits, seeds, dtype=torch.float64)


def assert_same_models(ens: Ensemble, models: list[nn.Module]) -> None:
    for m, model in enumerate(models):
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            stacked = {**ens.params, **ens.buffers}[name][m]
            torch.testing.assert_close(stacked.detach(), t.detach(), **TOL, msg=f"model {m}: {name}")


@pytest.mark.parametrize(("family", "optimizer"), CASES)
def test_ensemble_equals_models_trained_one_by_one(mnist: Dataset, family: str, optimizer: str) -> None:
    ens = ensemble(SPECS[family], ["he_normal", "lecun_normal"], [0, 1])
    models = [ens.model(m) for m in range(ens.M)]
    lr = LR[optimizer.split("(")[0]]
    batch = 4 if family.startswith(("resnet", "vit")) else 8
    cfg = TrainConfig(
        iterations=STEPS, batch_size=batch, lr=lr, optimizer=optimizer, eval_every=0, backend="autograd"
    )
    res = train(ens, mnist, cfg, generator=torch.Generator().manual_seed(7))
    ref = one_by_one(models, mnist, cfg, 7, lambda p: reference_optimizer(optimizer, p, lr))
    assert res.backend == "autograd" and res.train_loss.dtype == torch.float64
    torch.testing.assert_close(res.train_loss, ref, **TOL)
    assert_same_models(ens, models)
    if "batch" in family:  # the running statistics moved, per model
        rm = next(v for k, v in ens.buffers.items() if k.endswith("running_mean"))
        assert not torch.equal(rm[0], rm[1]) and bool(rm.abs().sum() > 0)
    # held-out evaluation in eval mode (running statistics) equals the plain models'
    loss, acc = evaluate(ens, mnist.test_x, mnist.test_y, batch=128)
    for m, model in enumerate(models):
        with torch.no_grad():
            logits = model.eval()(mnist.test_x.double())
        torch.testing.assert_close(loss[m], F.cross_entropy(logits, mnist.test_y), **TOL)
        assert float(acc[m]) == float((logits.argmax(1) == mnist.test_y).double().mean())


def test_the_oracle_can_fail(mnist: Dataset) -> None:
    """Negative control: one different batch draw and the comparison above would not pass."""
    ens = ensemble(SPECS["cnn-batch"], ["he_normal"], [0])
    models = [ens.model(0)]
    cfg = TrainConfig(iterations=3, batch_size=8, lr=0.05, eval_every=0)
    res = train(ens, mnist, cfg, generator=torch.Generator().manual_seed(7))
    ref = one_by_one(models, mnist, cfg, 8, lambda p: torch.optim.SGD(p, lr=0.05))
    assert float((res.train_loss - ref).abs().max()) > 1e-4


def test_per_model_gradient_clipping(mnist: Dataset) -> None:
    """``clip``: each model's gradient scaled to its own global norm, as clip_grad_norm_ on it alone."""
    ens = ensemble(SPECS["cnn"], ["he_normal", "normal(std=0.5)"], [0, 1])
    models = [ens.model(m) for m in range(ens.M)]
    cfg = TrainConfig(iterations=STEPS, batch_size=8, lr=0.05, clip=0.5, eval_every=0)
    res = train(ens, mnist, cfg, generator=torch.Generator().manual_seed(3))
    ref = one_by_one(models, mnist, cfg, 3, lambda p: torch.optim.SGD(p, lr=0.05))
    torch.testing.assert_close(res.train_loss, ref, **TOL)
    assert_same_models(ens, models)
    unclipped = ensemble(SPECS["cnn"], ["he_normal", "normal(std=0.5)"], [0, 1])
    free = train(
        unclipped, mnist, dataclasses.replace(cfg, clip=None), generator=torch.Generator().manual_seed(3)
    )
    assert float((free.train_loss - res.train_loss).abs().max()) > 1e-6  # the clip did bite


@pytest.mark.parametrize("act", activations())
def test_fast_path_equals_the_default_backend_for_every_activation(mnist: Dataset, act: str) -> None:
    """The engine (hand-written backward, fused SGD) against autograd + torch.optim, float64."""
    runs = []
    for backend in ("engine", "autograd"):
        ens = ensemble("mlp(layers=2, width=6)", ["he_normal", "xavier_uniform"], [3, 4], act=act)
        cfg = TrainConfig(iterations=5, batch_size=16, lr=0.1, eval_every=5, backend=backend)
        runs.append((train(ens, mnist, cfg, generator=torch.Generator().manual_seed(1)), ens))
    (fast, fe), (slow, se) = runs
    assert fast.backend == "engine" and slow.backend == "autograd"
    torch.testing.assert_close(fast.train_loss, slow.train_loss, **TOL)
    torch.testing.assert_close(fast.eval_loss, slow.eval_loss, **TOL)
    for name, p in fe.params.items():
        torch.testing.assert_close(p, se.params[name], **TOL)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("bias", [True, False])
def test_fast_path_equals_the_default_backend(mnist: Dataset, optimizer: str, bias: bool) -> None:
    runs = []
    for backend in ("engine", "autograd"):
        ens = ensemble(
            f"mlp(layers=3, width=12, bias={str(bias).lower()})", ["he_normal", "lecun_normal"], [0, 1]
        )
        w0 = ens.params["0.weight"].detach().clone()
        cfg = TrainConfig(
            iterations=STEPS,
            batch_size=16,
            lr=LR[optimizer],
            optimizer=optimizer,
            eval_every=0,
            backend=backend,
        )
        runs.append((train(ens, mnist, cfg, generator=torch.Generator().manual_seed(2)), ens))
    (fast, fe), (slow, se) = runs
    torch.testing.assert_close(fast.train_loss, slow.train_loss, **TOL)
    for name, p in fe.params.items():
        torch.testing.assert_close(p, se.params[name], **TOL)
    assert float((fe.params["0.weight"].detach() - w0).abs().max()) > 1e-3  # it trained


@pytest.mark.parametrize("backend", ["engine", "autograd"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_observer_does_not_change_a_bit(mnist: Dataset, backend: str, optimizer: str) -> None:
    """Training with an ``on_step`` observer (every step, or every 3rd) gives the same bits as without;
    the gradients it sees are each model's own (those of the plain model on the same batch)."""
    cfg = TrainConfig(
        iterations=12, batch_size=16, lr=0.02, optimizer=optimizer, eval_every=5, backend=backend
    )
    runs = []
    for every in (None, 1, 3):
        ens = Ensemble.from_factory(
            model_factory("mlp(layers=2, width=10)", activation="tanh"),
            ["he_normal", "torch_default"],
            [0, 1],
        )
        first = [ens.model(m) for m in range(ens.M)]
        seen: dict[int, list[torch.Tensor]] = {}

        def grab(
            step: int, e: Ensemble, loss: torch.Tensor, seen: dict[int, list[torch.Tensor]] = seen
        ) -> None:
            seen[step] = [p.grad.clone() for p in e.params.values()]  # type: ignore[union-attr]

        c = cfg if every is None else dataclasses.replace(cfg, log_every=every)
        res = train(
            ens, mnist, c, generator=torch.Generator().manual_seed(5), on_step=None if every is None else grab
        )
        assert res.backend == backend
        assert sorted(seen) == ([] if every is None else list(range(0, 12, every)))
        runs.append((res, [p.detach().clone() for p in ens.params.values()]))
        if every == 1:  # step 0's gradients are autograd's on the plain models
            idx = Sampler(len(mnist.train_x), 16, "replacement", torch.Generator().manual_seed(5)).next()
            for m, model in enumerate(first):
                F.cross_entropy(model(mnist.train_x[idx]), mnist.train_y[idx]).backward()
                for g, p in zip(seen[0], model.parameters(), strict=True):
                    torch.testing.assert_close(g[m], p.grad, rtol=1e-5, atol=1e-7)
    (base, w0), *others = runs
    for res, ws in others:
        assert torch.equal(res.train_loss, base.train_loss) and torch.equal(res.eval_loss, base.eval_loss)
        assert all(torch.equal(a, b) for a, b in zip(ws, w0, strict=True))
