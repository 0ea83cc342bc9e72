"""init_(model, "auto") / auto_init_: the scheme follows the nonlinearity after each layer."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import initlab
from diagnose_models import Functional, TinyResNet, Untraceable
from initlab.tools import followers


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _plan(model: nn.Module) -> dict[str, str]:
    return {s.layer: s.scheme for s in initlab.auto_init_(model, generator=_g()).steps}


@pytest.mark.parametrize(
    ("act", "expected"),
    [
        (nn.ReLU(), "he_normal"),
        (nn.ReLU(inplace=True), "he_normal"),
        (nn.LeakyReLU(0.2), "he_normal(nonlinearity=leaky_relu, negative_slope=0.2)"),
        (nn.PReLU(), "he_normal(nonlinearity=leaky_relu, negative_slope=0.25)"),
        (nn.ELU(), "he_normal(nonlinearity=elu)"),
        (nn.GELU(), "he_normal(nonlinearity=gelu)"),
        (nn.SiLU(), "he_normal(nonlinearity=silu)"),
        (nn.SELU(), "lecun_normal"),
        (nn.Tanh(), "xavier_normal"),
        (nn.Sigmoid(), "xavier_normal"),
    ],
)
def test_scheme_follows_the_activation(act: nn.Module, expected: str) -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Dropout(0.1), act, nn.Linear(8, 2))
    plan = _plan(model)
    assert plan == {"0": expected, "4": "xavier_normal"}  # the last layer is linear


def test_weights_get_the_chosen_law_and_biases_zero() -> None:
    model = nn.Sequential(nn.Linear(256, 128), nn.LeakyReLU(0.2), nn.Linear(128, 64), nn.SELU())
    records = initlab.init_(model, "auto", generator=_g())
    assert [r.name for r in records] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model[0].bias.abs().sum() == 0 and model[2].bias.abs().sum() == 0
    he = math.sqrt(2 / (1 + 0.2**2)) / math.sqrt(256)
    assert records[0].std == pytest.approx(he) and records[0].empirical_std == pytest.approx(he, rel=0.03)
    assert records[2].std == pytest.approx(1 / math.sqrt(128))
    assert initlab.audit(model).of("2.weight").scheme == "lecun_normal"


def test_functional_nonlinearities_are_found_by_fx() -> None:
    plan = initlab.auto_init_(Functional(), generator=_g())
    assert plan.traced and plan.note == ""
    schemes = {s.layer: s.scheme for s in plan.steps}
    assert schemes == {
        "a": "he_normal(nonlinearity=leaky_relu, negative_slope=0.2)",
        "b": "xavier_normal",
        "c": "he_normal",
        "d": "xavier_normal",
    }
    assert "leaky_relu()" in plan.steps[0].reason


def test_resnet_blocks_through_batchnorm_and_the_residual_add() -> None:
    plan = _plan(TinyResNet())
    assert plan["conv1"] == "he_normal"
    assert plan["layer1.0.conv1"] == "he_normal"  # conv -> bn -> relu
    assert plan["layer1.0.conv2"] == "he_normal"  # conv -> bn -> (+ identity) -> relu
    assert plan["layer2.0.downsample.0"] == "he_normal"  # 1x1 conv -> bn -> add -> relu
    assert plan["fc"] == "xavier_normal"


def test_untraceable_models_fall_back_to_module_order() -> None:
    plan = initlab.auto_init_(Untraceable(), generator=_g())
    assert not plan.traced and "module order" in plan.note
    assert {s.layer: s.scheme for s in plan.steps} == {"fc1": "lecun_normal", "fc2": "xavier_normal"}
    assert "module order" in plan.steps[0].reason
    found = followers(Untraceable())
    assert found.layers["fc1"].name == "selu"


def test_auto_init_fixes_what_the_audit_finds() -> None:
    model = nn.Sequential(*[m for _ in range(6) for m in (nn.Linear(64, 64), nn.ReLU())])
    initlab.init_(model, "torch_default", generator=_g())
    assert initlab.audit(model).warned("torch_default_relu")
    initlab.init_(model, "auto", generator=_g())
    assert {w.scheme for w in initlab.audit(model).weights} == {"he_normal"}


def test_same_generator_same_weights_and_plan_round_trips() -> None:
    a, b = Functional(), Functional()
    pa = initlab.auto_init_(a, generator=_g(5))
    initlab.auto_init_(b, generator=_g(5))
    for pa_, pb_ in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa_, pb_)
    assert pa.scheme_of("b") == "xavier_normal"
    d = pa.to_dict()
    assert d["traced"] is True and len(d["steps"]) == 4 and d["records"][0]["name"] == "a.weight"
    with pytest.raises(initlab.InitlabError, match="no layer 'zz'"):
        pa.scheme_of("zz")


def test_auto_needs_a_module_with_layers() -> None:
    with pytest.raises(initlab.InitlabError, match=r"'auto' needs an nn\.Module"):
        initlab.init_(torch.zeros(3, 3), "auto")
    with pytest.raises(initlab.InitlabError, match=r"no nn\.Linear or nn\.ConvNd"):
        initlab.init_(nn.ReLU(), "auto")
