"""initlab.diagnose: per-layer statistics, findings, hooks, and the models it must work on."""

from __future__ import annotations

import math
import statistics

import pytest
import torch
from torch import nn

import initlab
from diagnose_models import Boom, SharedAct, TinyResNet, TupleNet, hook_count, mlp, small_cnn
from initlab.schemes import ParamInit
from initlab.tools import VANISHING, Diagnosis, Recorder


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _default_mlp(seed: int = 0) -> nn.Sequential:
    model = mlp(20, 100)
    initlab.init_(model, "torch_default", generator=_g(seed))  # PyTorch's default, from a generator
    return model


def _weighted_std(d: Diagnosis) -> list[float]:
    return [la.std for la in d.layers if la.weighted]


# -- the headline test: 20-layer ReLU MLP, PyTorch's default vs auto -------------------------------


def test_default_relu_mlp_is_flagged_vanishing_and_auto_init_fixes_it() -> None:
    d = initlab.diagnose(_default_mlp(), input_shape=(100,), generator=_g(1))
    assert d.flagged("vanishing", "forward") and d.flagged("vanishing", "backward")
    fwd, bwd = d.depth("forward"), d.depth("backward")
    assert fwd is not None and bwd is not None
    assert fwd.ratio < 1e-5 and bwd.ratio < 1e-5  # measured: 1.8e-08 and 2.9e-08
    stds = _weighted_std(d)
    assert max(stds) / min(stds) > 5  # the plain std falls ~10x before the biases hold it

    profiles = []
    for seed in range(4):
        model = _default_mlp(seed)
        records = initlab.init_(model, "auto", generator=_g(seed))
        assert isinstance(records, list) and all(isinstance(r, ParamInit) for r in records)
        fixed = initlab.diagnose(model, input_shape=(100,), generator=_g(100 + seed))
        assert not fixed.flagged("vanishing") and not fixed.flagged("exploding")
        profiles.append(_weighted_std(fixed))
    mean_std = [statistics.fmean(col) for col in zip(*profiles, strict=True)]  # per layer, over 4 seeds
    assert max(mean_std) / min(mean_std) < 2.0  # measured: 1.23


def test_exploding_is_flagged() -> None:
    model = mlp(10, 100, bias=False)
    initlab.init_(model, "normal(std=0.5)", generator=_g(0))  # x12.5 variance per layer
    d = initlab.diagnose(model, input_shape=(100,), generator=_g(1))
    assert d.flagged("exploding", "forward") and d.flagged("exploding", "backward")
    assert not d.flagged("vanishing")


# -- statistics against a hand computation -------------------------------------------------------


def test_statistics_match_a_hand_computation() -> None:
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x = torch.randn(32, 6, generator=_g(0))
    d = initlab.diagnose(model, x, generator=_g(1))
    assert d.names == ["0", "1", "2"]
    with torch.no_grad():
        h = model[0](x)
        a = torch.relu(h)
    lin, relu = d.layer("0"), d.layer("1")
    assert lin.std == pytest.approx(float(h.double().std(unbiased=False)), rel=1e-9)
    assert relu.mean == pytest.approx(float(a.double().mean()), rel=1e-9)
    assert relu.zero_fraction == pytest.approx(float((a == 0).double().mean()))
    assert relu.dead_fraction == pytest.approx(float((a == 0).all(dim=0).double().mean()))
    per_unit = h.double().std(dim=0, unbiased=False)
    assert lin.signal_std == pytest.approx(float(per_unit.pow(2).mean().sqrt()), rel=1e-9)
    # backward: loss = sum(out * g) with g drawn from the generator after the input
    xg = x.clone().requires_grad_(True)
    h2 = model[0](xg)
    h2.retain_grad()
    out = model[2](torch.relu(h2))
    g = torch.randn(out.shape, generator=_g(1))
    (out * g).sum().backward()
    assert d.layer("2").grad_std == pytest.approx(float(g.double().std(unbiased=False)), rel=1e-9)
    assert lin.grad_std == pytest.approx(float(h2.grad.double().std(unbiased=False)), rel=1e-6)
    assert lin.grad_norm == pytest.approx(float(h2.grad.double().norm(dim=1).pow(2).mean().sqrt()), rel=1e-6)
    assert lin.weight_grad_std == pytest.approx(
        float(model[0].weight.grad.double().std(unbiased=False)), rel=1e-6
    )


def test_model_is_left_untouched() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    initlab.diagnose(model, input_shape=(4,), batch_size=16, generator=_g(0))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # BatchNorm running stats restored
    assert all(p.grad is None for p in model.parameters())


# -- findings: dead, saturated, non-finite --------------------------------------------------------


def test_dead_units_are_flagged() -> None:
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 2))
    with torch.no_grad():
        model[0].bias[:15] = -100.0  # 15 of 20 units never fire
    d = initlab.diagnose(model, input_shape=(10,), generator=_g(0))
    assert d.layer("1").dead_fraction == pytest.approx(0.75)
    assert d.flagged("dead") and "dead" in d.layer("1").flags
    assert "dead" not in d.layer("0").flags  # the Linear before the ReLU is not the dead layer


def test_saturation_is_flagged_for_tanh_and_sigmoid() -> None:
    for act in (nn.Tanh, nn.Sigmoid):
        model = nn.Sequential(nn.Linear(50, 50), act(), nn.Linear(50, 50), act())
        initlab.init_(model, "normal(std=1)", generator=_g(0))
        d = initlab.diagnose(model, input_shape=(50,), generator=_g(1))
        sat = d.layer("3").saturated_fraction
        assert sat is not None and sat > 0.3
        assert d.flagged("saturated")
    calm = nn.Sequential(nn.Linear(50, 50), nn.Tanh())
    initlab.init_(calm, "xavier_normal", generator=_g(0))
    assert not initlab.diagnose(calm, input_shape=(50,), generator=_g(1)).flagged("saturated")


def test_nonfinite_values_are_counted_and_flagged() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        model[2].weight[0, 0] = math.inf
    d = initlab.diagnose(model, input_shape=(4,), batch_size=8, generator=_g(0))
    assert d.layer("2").nonfinite > 0 and d.layer("0").nonfinite == 0
    assert d.flagged("nonfinite", "forward")


# -- the models it must work on ----------------------------------------------------------------------


def test_small_cnn_units_are_channels() -> None:
    model = small_cnn()
    initlab.init_(model, "auto", generator=_g(0))
    d = initlab.diagnose(model, input_shape=(1, 28, 28), batch_size=64, generator=_g(1))
    conv = d.layer("0")
    assert conv.shape == (64, 8, 28, 28) and conv.units == 8
    assert d.layer("6").units == 16 * 7 * 7  # Flatten: units are the features
    assert not d.flagged("vanishing") and not d.flagged("exploding")
    assert all(la.grad_std is not None and la.grad_std > 0 for la in d.layers)


def test_units_follow_the_layout_of_the_layer_before() -> None:
    seq = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.0))
    d = initlab.diagnose(seq, torch.randn(4, 5, 8, generator=_g(0)))  # (B, T, C): units last
    assert [la.units for la in d.layers] == [16, 16, 16]
    conv = nn.Sequential(nn.Conv1d(3, 6, 3), nn.ReLU())
    d = initlab.diagnose(conv, input_shape=(3, 20), batch_size=4)  # (B, C, L): units are channels
    assert [la.units for la in d.layers] == [6, 6]
    gru = initlab.diagnose(nn.GRU(4, 5, batch_first=True), input_shape=(7, 4), batch_size=3)
    assert gru.layers[0].units == 5 and gru.layers[0].shape == (3, 7, 5)


def test_resnet_shared_relu_gives_one_record_per_call() -> None:
    model = TinyResNet()
    d = initlab.diagnose(model, input_shape=(3, 16, 16), batch_size=8, generator=_g(0))
    names = d.names
    assert "layer1.0.relu#1" in names and "layer1.0.relu#2" in names and "layer1.0.relu" not in names
    first, second = d.layer("layer1.0.relu#1"), d.layer("layer1.0.relu#2")
    assert (first.call, second.call) == (1, 2) and first.module == second.module == "layer1.0.relu"
    # in-place ReLU: the conv's gradient is w.r.t. its own output (before the in-place op), per call
    assert names.index("layer1.0.conv1") < names.index("layer1.0.relu#1") < names.index("layer1.0.conv2")
    assert all(la.grad_std is not None for la in d.layers)
    assert "layer2.0.downsample.0" in names and d.layer("fc").shape == (8, 10)
    assert hook_count(model) == 0


def test_module_called_twice_and_tuple_outputs() -> None:
    d = initlab.diagnose(SharedAct(), input_shape=(16,), generator=_g(0))
    assert d.names == ["fc1", "act#1", "fc2", "act#2", "head"]
    assert d.layer("act#1").std != d.layer("act#2").std
    t = initlab.diagnose(TupleNet(), input_shape=(16,), generator=_g(0))
    assert t.layer("pair.fc").shape == (256, 8)
    assert t.layer("rnn").shape == (256, 1, 8) and t.layer("rnn").grad_std is not None
    assert "pair" not in t.names  # containers are not recorded unless asked
    assert "pair" in initlab.diagnose(TupleNet(), input_shape=(16,), containers=True).names


# -- hooks ------------------------------------------------------------------------------------------


def test_hooks_removed_after_success_and_after_an_exception() -> None:
    model = small_cnn()
    initlab.diagnose(model, input_shape=(1, 28, 28), batch_size=4, generator=_g(0))
    assert hook_count(model) == 0
    boom = Boom()
    with pytest.raises(
        initlab.InitlabError, match=r"forward pass of Boom failed on input of shape \(4, 4\).*boom"
    ):
        initlab.diagnose(boom, input_shape=(4,), batch_size=4)
    assert hook_count(boom) == 0
    with pytest.raises(RuntimeError, match="boom"), Recorder(boom) as rec:
        assert hook_count(boom) == 2  # the leaves: fc and act
        boom(torch.zeros(2, 4))
    assert hook_count(boom) == 0 and not rec.handles
    assert [c.module for c in rec.calls] == ["fc", "act"]  # recorded up to the failure


def test_recorder_keeps_only_scalars() -> None:
    model = mlp(3, 8)
    with Recorder(model) as rec:
        model(torch.randn(4, 8, generator=_g(0))).sum().backward()
    for call in rec.calls:
        for value in vars(call).values():
            assert not isinstance(value, torch.Tensor)


def test_bad_input_is_an_initlab_error() -> None:
    model = mlp(2, 4)
    with pytest.raises(initlab.InitlabError, match="either inputs"):
        initlab.diagnose(model)
    with pytest.raises(initlab.InitlabError, match="either inputs"):
        initlab.diagnose(model, torch.zeros(2, 4), input_shape=(4,))
    with pytest.raises(initlab.InitlabError, match="must be positive"):
        initlab.diagnose(model, input_shape=(0,))
    with pytest.raises(initlab.InitlabError, match="shape \\(8, 5\\)"):
        initlab.diagnose(model, input_shape=(5,), batch_size=8)


def test_same_generator_same_diagnosis() -> None:
    a = initlab.diagnose(_default_mlp(), input_shape=(100,), generator=_g(3)).to_dict()
    b = initlab.diagnose(_default_mlp(), input_shape=(100,), generator=_g(3)).to_dict()
    assert a == b
    assert VANISHING == 0.1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_diagnose_on_cuda_equals_the_cpu() -> None:
    cpu = small_cnn()
    gpu = small_cnn().cuda()
    gpu.load_state_dict(cpu.state_dict())
    a = initlab.diagnose(
        cpu, input_shape=(1, 28, 28), batch_size=16, generator=torch.Generator().manual_seed(3)
    )
    b = initlab.diagnose(
        gpu, input_shape=(1, 28, 28), batch_size=16, generator=torch.Generator().manual_seed(3)
    )
    assert a.names == b.names
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert lb.std == pytest.approx(la.std, rel=1e-4, abs=1e-7)
        assert lb.grad_std == pytest.approx(la.grad_std, rel=1e-3, abs=1e-9)
