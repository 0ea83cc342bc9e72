"""initlab.monitor: diagnose's statistics in a training loop, findings once, hooks gone, bounded memory."""

from __future__ import annotations

import dataclasses
import gc
import math
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import torch
from torch import nn

import initlab
from diagnose_models import Boom, hook_count, small_cnn
from initlab.tools import Event, MonitorWarning


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def all_hooks(model: nn.Module) -> int:
    """Module hooks plus parameter hooks (the monitor's ``post_accumulate_grad`` hooks)."""
    return hook_count(model) + sum(len(p._post_accumulate_grad_hooks or {}) for p in model.parameters())


@contextmanager
def caught() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        yield got


def _mlp(seed: int = 0) -> nn.Sequential:
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    initlab.init_(model, "he_normal", generator=_g(seed))
    return model


# -- the same numbers as diagnose ------------------------------------------------------------------


def test_statistics_equal_diagnose_on_the_same_batch() -> None:
    model = small_cnn()
    initlab.init_(model, "he_normal", generator=_g(0))
    x = torch.randn(8, 1, 28, 28, generator=_g(1))  # (B, 1, 28, 28)
    d = initlab.diagnose(model, x, generator=_g(2))  # its loss: sum(out * g), g ~ N(0, 1) from _g(2)
    with initlab.monitor(model, every=1) as mon:
        out = model(x)  # (B, 10)
        g = torch.randn(out.shape, generator=_g(2))  # the same cotangent
        (out * g).sum().backward()
        mon.flush()
        assert mon.last is not None
        snap = mon.last
    assert snap.step == 0 and snap.layers == d.layers  # every field, flags included, bit for bit
    assert [la.grad_norm for la in snap.layers][-1] is not None
    assert {f.kind for f in snap.findings} == d.kinds
    w = {p.name: p for p in snap.params}["0.weight"]
    assert w.norm == pytest.approx(float(model[0].weight.detach().double().norm()), rel=1e-12)
    assert w.grad_std == d.layer("0").weight_grad_std
    assert w.grad_norm == pytest.approx(float(model[0].weight.grad.double().norm()), rel=1e-12)
    h = snap.histograms["activation/1"]  # the first ReLU's output: 8 x 8 x 28 x 28 entries
    assert h.bins == 30 and h.num == 8 * 8 * 28 * 28 and sum(h.counts) == h.num
    with torch.no_grad():
        assert h.min == 0.0 and h.max == pytest.approx(float(model[1](model[0](x)).max()), rel=1e-6)
    assert set(snap.histograms) >= {"activation/0", "gradient/7", "weight/0.weight", "weight_gradient/7.bias"}


def test_steps_are_training_forwards_and_every_nth_is_sampled() -> None:
    model = _mlp()
    x = torch.randn(16, 8, generator=_g(1))
    seen: list[int] = []
    with initlab.monitor(model, every=3) as mon:
        for _ in range(8):
            model(x).sum().backward()
            model.eval()
            model(x)  # not a step: eval mode
            model.train()
            mon.flush()
            if mon.last is not None and mon.last.step not in seen:
                seen.append(mon.last.step)
    assert mon.step == 8 and seen == [0, 3, 6]


# -- findings, once, at the step they appear -------------------------------------------------------


def _train(
    model: nn.Module, steps: int, plant: dict[int, Callable[[], None]], every: int
) -> tuple[list[Event], list[str]]:
    x = torch.randn(64, 8, generator=_g(1))  # (B, 8)
    y = torch.randn(64, 4, generator=_g(2))  # (B, 4)
    events: list[Event] = []
    with caught() as got, initlab.monitor(model, every=every, on_finding=events.append):
        for step in range(steps):
            if step in plant:
                plant[step]()
            loss = (model(x) - y).pow(2).mean()
            model.zero_grad()
            loss.backward()
            with torch.no_grad():  # plain SGD (torch.optim would import Dynamo: seconds)
                for p in model.parameters():
                    p -= 0.01 * p.grad
    texts = [str(w.message) for w in got if issubclass(w.category, MonitorWarning)]
    return events, texts


def test_a_layer_going_dead_is_raised_once_at_the_first_sampled_step() -> None:
    model = _mlp()

    def kill() -> None:
        with torch.no_grad():
            model[2].bias.fill_(-100.0)  # every unit of the second ReLU is 0 from now on

    events, texts = _train(model, 50, {23: kill}, every=5)
    assert events, "the dead layer went unnoticed"
    assert {e.step for e in events} == {25}  # healthy before; raised at the first sample after 23
    dead = [e for e in events if e.kind == "dead"]
    assert len(dead) == 1 and "3" in dead[0].layers  # the second ReLU (diagnose's findings, as they are)
    assert len({(e.kind, e.direction) for e in events}) == len(events)  # each once
    assert len(texts) == len(events) and all(t.startswith("initlab.monitor, step 25: ") for t in texts)


def test_nan_appearing_is_raised_once_with_its_step() -> None:
    model = _mlp()

    def poison() -> None:
        with torch.no_grad():
            model[0].weight[0, 0] = float("nan")

    events, texts = _train(model, 30, {12: poison}, every=4)
    assert [e.step for e in events] and {e.step for e in events} == {12}
    assert {e.kind for e in events} == {"nonfinite"}
    assert any("non-finite parameters" in e.message and "0.weight" in e.message for e in events)
    assert len(texts) == len(events)


# -- hooks ----------------------------------------------------------------------------------------


def test_hooks_removed_on_exit_and_on_an_exception() -> None:
    model = _mlp()
    x = torch.randn(4, 8, generator=_g(1))
    with initlab.monitor(model, every=2):
        assert all_hooks(model) == 1  # the step counter only
        model(x)  # step 0, sampled: a post hook and 6 parameter hooks, until its record is complete
        assert all_hooks(model) == 1 + 1 + 6
    assert all_hooks(model) == 0
    with pytest.raises(RuntimeError, match="planted"), initlab.monitor(model, every=1):
        model(x)
        assert all_hooks(model) > 1
        raise RuntimeError("planted")
    assert all_hooks(model) == 0
    boom = Boom()
    with pytest.raises(RuntimeError, match="boom"), initlab.monitor(boom, every=1):
        boom(torch.zeros(2, 4))  # raises inside the forward, with the recorder's hooks on
    assert all_hooks(boom) == 0


def test_compiled_model_counts_steps_records_parameters_and_says_layers_are_missing() -> None:
    model = _mlp()
    compiled = torch.compile(model, backend="eager")  # Dynamo without a C compiler; hooks as with inductor
    x = torch.randn(4, 8, generator=_g(1))
    with caught() as got, initlab.monitor(compiled, every=2) as mon:
        for _ in range(3):
            compiled(x).sum().backward()
    assert mon.step == 3 and mon.last is not None and mon.last.step == 2
    assert mon.last.layers == []  # no module hook on a compiled model
    assert {p.name for p in mon.last.params} == {n for n, _ in model.named_parameters()}
    assert all(p.grad_norm is not None and p.grad_norm > 0 for p in mon.last.params)
    said = [str(w.message) for w in got if issubclass(w.category, MonitorWarning)]
    assert len(said) == 1 and "compiled" in said[0] and "parameters only" in said[0]
    assert all_hooks(model) == 0 and hook_count(compiled) == 0


# -- memory ----------------------------------------------------------------------------------------


def test_memory_stays_flat_over_10000_steps() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(2, 4, generator=_g(1))

    def steps(mon: initlab.tools.Monitor, n: int) -> None:
        for _ in range(n):
            sampled = mon.step % 100 == 0
            with torch.set_grad_enabled(sampled):  # a backward only where the monitor measures: fast
                out = model(x)
            if sampled:
                out.sum().backward()

    with initlab.monitor(model, every=100) as mon:
        steps(mon, 1000)  # warm up: every allocation a step needs has been made once
        tracemalloc.start()
        try:
            steps(mon, 1000)  # traced from here: the snapshot kept at base is traced too
            gc.collect()
            base = tracemalloc.take_snapshot()
            steps(mon, 8000)
            gc.collect()
            grown = tracemalloc.take_snapshot().compare_to(base, "filename")
        finally:
            tracemalloc.stop()
    growth = sum(s.size_diff for s in grown)
    assert mon.step == 10000 and mon.last is not None and mon.last.step == 9900
    assert growth < 16 * 1024, [str(s) for s in grown[:5]]  # 80 snapshots; the one kept is ~35 kB


def test_bad_input_is_an_initlab_error() -> None:
    model = _mlp()
    with pytest.raises(initlab.InitlabError, match="every must be >= 1"):
        initlab.monitor(model, every=0)
    with pytest.raises(initlab.InitlabError, match="sinks must have"):
        initlab.monitor(model, sinks=[object()])  # type: ignore[list-item]
    with pytest.raises(initlab.InitlabError, match=r"nn\.Module"):
        initlab.monitor("model")  # type: ignore[arg-type]


def test_snapshot_scalars_name_every_layer_and_parameter() -> None:
    model = _mlp()
    with initlab.monitor(model, every=1) as mon:
        model(torch.randn(4, 8, generator=_g(1))).sum().backward()
    assert mon.last is not None
    tags = mon.last.scalars()
    assert {
        "activation/std/0",
        "activation/dead_fraction/3",
        "gradient/norm/4",
        "weight/norm/2.weight",
    } <= set(tags)
    assert tags["weight_gradient/norm/4.bias"] == pytest.approx(float(model[4].bias.grad.double().norm()))
    assert dataclasses.asdict(mon.last.layer("4"))["grad_norm"] == tags["gradient/norm/4"]


def test_nonfinite_entries_are_counted_exactly() -> None:
    model = nn.Linear(4, 3)
    x = torch.randn(5, 4, generator=_g(1))  # (B, 4)
    x[0, 1] = math.nan  # row 0 of the output: 3 NaN
    g = torch.randn(5, 3, generator=_g(2))  # (B, 3), the gradient w.r.t. the output
    g[2, 0], g[4, 2] = math.inf, -math.inf
    with caught(), initlab.monitor(model, every=1) as mon:
        (model(x) * g).sum().backward()
    assert mon.last is not None
    la = mon.last.layer("(model)")
    assert la.nonfinite == 3 and la.grad_nonfinite == 2
    assert mon.last.histograms["activation/(model)"].num == 12
