"""Issue 17, following the network as it runs: forward order by hooks, activations by what they
compute, linear-like layers that are not nn.Linear, and scales the model's own code relies on."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import initlab
from initlab.activations import gain
from initlab.tools import followers
from lookalikes import (
    GPT2MLP,
    FeedForward,
    FunctionalFeedForward,
    GELUActivation,
    NewGELUActivation,
    QuadAct,
    SiLUActivation,
    Swish,
    T5Block,
)


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _x(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=_g(1))


def _schemes(plan: initlab.tools.AutoInitPlan) -> dict[str, str]:
    return {s.layer: s.scheme for s in plan.steps}


def test_untraceable_feed_forward_follows_the_forward_pass() -> None:
    """wi, wo defined before act and an `if` on data: the definition order puts ReLU after wo."""
    guessed = initlab.auto_init_(FeedForward(), generator=_g())
    assert guessed.order == "definition" and "no example input was given" in guessed.note
    plan = initlab.auto_init_(FeedForward(), example=_x(4, 16), generator=_g())
    assert plan.order == "forward" and plan.traced
    assert _schemes(plan) == {"wi": "he_normal", "wo": "xavier_normal"}
    records = initlab.init_(FeedForward(), "auto", example=_x(4, 16), generator=_g())
    assert [r.scheme for r in records] == ["he_normal", "xavier_normal"]


def test_functional_activations_are_seen_in_the_forward_pass() -> None:
    plan = initlab.auto_init_(FunctionalFeedForward(), example=_x(4, 16), generator=_g())
    assert _schemes(plan) == {"wi": "he_normal(nonlinearity=gelu)", "wo": "xavier_normal"}
    assert "gelu()" in plan.steps[0].reason


class _AttnResidual(nn.Module):
    """Linear -> (data if) MultiheadAttention -> + residual -> ReLU: out_proj feeds the ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x)
        if h.abs().sum() > 0:
            h = self.mha(h, h, h)[0]
        return self.act(h + x)


def test_attention_blocks_and_out_proj_through_the_residual() -> None:
    found = followers(_AttnResidual(), _x(2, 3, 8))
    assert found.order == "forward"
    assert found.layers["mha.out_proj"].name == "relu"  # through the residual add
    assert {found.layers[f"mha.in_proj_weight[{p}]"].name for p in "qkv"} == {"linear"}
    plan = initlab.auto_init_(_AttnResidual(), example=_x(2, 3, 8), generator=_g())
    assert plan.scheme_of("mha.out_proj") == "he_normal"
    assert plan.scheme_of("mha.in_proj_weight[k]") == "xavier_normal"


@pytest.mark.parametrize(
    ("act", "name", "scheme"),
    [
        (nn.Hardswish(), "hardswish", "he_normal(nonlinearity=hardswish)"),
        (nn.Hardsigmoid(), "hardsigmoid", "xavier_normal"),
        (GELUActivation(), "gelu", "he_normal(nonlinearity=gelu)"),
        (NewGELUActivation(), "gelu_tanh", "he_normal(nonlinearity=gelu_tanh)"),
        (SiLUActivation(), "silu", "he_normal(nonlinearity=silu)"),
        (Swish(), "silu", "he_normal(nonlinearity=silu)"),
        (nn.Mish(), "mish", "he_normal(nonlinearity=mish)"),
    ],
)
def test_activation_modules_are_recognised_by_what_they_compute(
    act: nn.Module, name: str, scheme: str
) -> None:
    model = nn.Sequential(nn.Linear(8, 8), act, nn.Linear(8, 2))
    assert followers(model).layers["0"].name == name
    assert _schemes(initlab.auto_init_(model, generator=_g()))["0"] == scheme


def test_unknown_activation_is_reported_with_its_numerical_gain() -> None:
    model = nn.Sequential(nn.Linear(256, 256), QuadAct(), nn.Linear(256, 2))
    plan = initlab.auto_init_(model, generator=_g())
    assert plan.unknown == ("QuadAct '1'",) and "does not know" in plan.note
    step = plan.steps[0]
    assert step.nonlinearity.startswith("unknown(gain=") and step.scheme.startswith("variance_scaling(scale=")
    # x + x^2/4: E[phi(z)^2] = 1 + 3/16, so the gain is (19/16)^-1/2 and Var(w) = gain^2 / fan_in
    expected = (16 / 19) ** 0.5 / 256**0.5
    assert plan.records[0].std == pytest.approx(expected, rel=1e-4)


def test_conv1d_gets_a_scheme_on_its_transposed_view() -> None:
    model = GPT2MLP(64)
    plan = initlab.auto_init_(model, example=_x(2, 3, 64), generator=_g())
    assert _schemes(plan) == {"c_fc": "he_normal(nonlinearity=gelu_tanh)", "c_proj": "xavier_normal"}
    fan_in = 64  # c_fc's weight is stored (in, out) = (64, 256)
    assert float(model.c_fc.weight.detach().std()) == pytest.approx(gain("gelu_tanh") / fan_in**0.5, rel=0.05)


def _q_std(model: nn.Module, x: torch.Tensor) -> float:
    got: list[float] = []
    handle = model[0].attn.q.register_forward_hook(lambda m, a, out: got.append(float(out.std())))
    with torch.no_grad():
        model(x)
    handle.remove()
    return got[0]


def _t5() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(T5Block(), T5Block())


def test_scale_folded_into_the_query_init_is_kept() -> None:
    x = _x(4, 8, 64)
    own = _q_std(_t5(), x)
    model = _t5()
    q_before = model[0].attn.q.weight.detach().clone()
    plan = initlab.auto_init_(model, example=x, generator=_g())
    assert plan.kept == ["0.attn.q", "1.attn.q"] and "kept" in plan.steps[0].reason
    assert torch.equal(model[0].attn.q.weight.detach(), q_before)
    assert _q_std(model, x) == pytest.approx(own)
    res = initlab.lsuv_(_t5(), x, generator=_g())
    assert {la.name for la in res.layers if la.skipped and la.skipped.startswith("kept")} == {
        "0.attn.q",
        "1.attn.q",
    }
    # negative control: without the rule the queries' scale grows by ~sqrt(d_kv) (logits likewise)
    replaced = _t5()
    initlab.auto_init_(replaced, example=x, generator=_g(), keep_scales=False)
    assert _q_std(replaced, x) > 4 * own


def test_a_uniformly_small_init_is_replaced_not_kept() -> None:
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(64, 64), nn.ReLU())])
    initlab.init_(model, "normal(std=0.01)", generator=_g())
    plan = initlab.auto_init_(model, generator=_g())
    assert plan.kept == [] and set(_schemes(plan).values()) == {"he_normal"}
