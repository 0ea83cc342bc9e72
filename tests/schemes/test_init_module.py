"""init_ on tensors and modules: what gets filled, the account it returns, and errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import initlab


def _net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 26 * 26, 64),
        nn.ReLU(),
        nn.Linear(64, 10, bias=False),
        nn.LayerNorm(10),
    )


def test_module_weights_filled_biases_zeroed(gen: torch.Generator) -> None:
    net = _net()
    records = initlab.init_(net, "he_normal", generator=gen)
    names = [r.name for r in records]
    assert names == ["0.weight", "0.bias", "3.weight", "3.bias", "5.weight"]
    by = {r.name: r for r in records}
    assert by["0.weight"].fan_in == 9 and by["0.weight"].fan_out == 72
    assert by["3.weight"].std == pytest.approx(math.sqrt(2 / (8 * 26 * 26)))
    assert by["3.weight"].empirical_std == pytest.approx(by["3.weight"].std, rel=0.02)
    assert torch.count_nonzero(net[0].bias) == 0 and torch.count_nonzero(net[3].bias) == 0
    # LayerNorm is not a fan-bearing layer: left as PyTorch made it
    assert torch.equal(net[6].weight, torch.ones(10))


def test_torch_default_also_draws_biases(gen: torch.Generator) -> None:
    net = _net()
    records = {r.name: r for r in initlab.init_(net, "torch_default", generator=gen)}
    assert torch.count_nonzero(net[3].bias) == 64
    bound = 1 / math.sqrt(8 * 26 * 26)
    assert float(net[3].bias.detach().abs().max()) <= bound
    assert records["3.bias"].std == pytest.approx(bound / math.sqrt(3))


def test_tensor_in_place_and_parameter(gen: torch.Generator) -> None:
    t = torch.empty(100, 50, dtype=torch.float64)
    (rec,) = initlab.init_(t, "xavier_uniform", generator=gen)
    assert t.dtype == torch.float64
    assert rec.shape == (100, 50) and rec.std == pytest.approx(math.sqrt(2 / 150))
    p = nn.Parameter(torch.empty(4, 4))
    initlab.init_(p, "identity")
    assert torch.equal(p.detach(), torch.eye(4)) and p.requires_grad


def test_same_generator_seed_same_module() -> None:
    a, b, c = _net(), _net(), _net()
    initlab.init_(a, "lecun_normal", generator=torch.Generator().manual_seed(5))
    initlab.init_(b, "lecun_normal", generator=torch.Generator().manual_seed(5))
    initlab.init_(c, "lecun_normal", generator=torch.Generator().manual_seed(6))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a[3].weight, c[3].weight)


def test_errors() -> None:
    with pytest.raises(initlab.InitlabError, match=r"no nn\.Linear or nn\.ConvNd"):
        initlab.init_(nn.ReLU(), "he_normal")
    with pytest.raises(initlab.InitlabError, match=r"needs a Tensor or an nn\.Module"):
        initlab.init_([1, 2, 3], "he_normal")  # type: ignore[arg-type]
    with pytest.raises(initlab.InitlabError, match="at least 2 dims"):
        initlab.init_(torch.empty(10), "lecun_normal")
