"""``variance(w, b)``: sigma_w^2 and sigma_b^2 given directly (Poole et al. 2016; Schoenholz et al. 2017)."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats as sps
from torch import nn

import initlab
from initlab.schemes import Normal, init_, scheme


def _mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(30, 40), nn.Tanh(), nn.Linear(40, 20), nn.Tanh(), nn.Linear(20, 5))


def _params(spec: str, seed: int) -> list[torch.Tensor]:
    net = _mlp()
    init_(net, spec, generator=torch.Generator().manual_seed(seed))
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize(("spec", "same_as"), [("variance(w=2)", "he_normal"), ("variance", "lecun_normal")])
def test_without_bias_variance_is_he_or_lecun_value_for_value(spec: str, same_as: str) -> None:
    ours, theirs = _params(spec, 3), _params(same_as, 3)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert all(not p.any() for p in ours[1::2])  # b = 0: zero biases, nothing drawn for them


def test_bias_variance_is_b_and_weights_scale_with_fan_in() -> None:
    lin = nn.Linear(400, 4000)
    init_(lin, "variance(w=1.7, b=0.05)", generator=torch.Generator().manual_seed(0))
    w = lin.weight.detach().double().flatten().numpy()
    b = lin.bias.detach().double().numpy()
    assert sps.kstest(w, sps.norm(scale=math.sqrt(1.7 / 400)).cdf).pvalue > 1e-3
    assert sps.kstest(b, sps.norm(scale=math.sqrt(0.05)).cdf).pvalue > 1e-3
    # negative control: the bias std taken as b (not sqrt(b)) is rejected
    assert sps.kstest(b, sps.norm(scale=0.05).cdf).pvalue < 1e-6


def test_bias_law_is_normal_with_variance_b() -> None:
    s = scheme("variance(w=1.2, b=0.3)")
    law = s.bias_law((7, 11))
    assert isinstance(law, Normal) and law.std**2 == pytest.approx(0.3)
    assert scheme("variance(w=1.2, b=0)").bias_law((7, 11)) is None
    assert s.spec == "variance(w=1.2, b=0.3)"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("variance(w=0)", r"w=0.0 \(sigma_w\^2\) must be > 0 in 'variance\(w=0\)'"),
        ("variance(w=1, b=-0.1)", r"b=-0.1 \(sigma_b\^2\) must be >= 0"),
        ("variance(sw=1)", r"sw"),
    ],
)
def test_bad_parameters_are_one_clear_error(spec: str, message: str) -> None:
    with pytest.raises(initlab.InitlabError, match=message):
        scheme(spec)
