"""The ensemble of any module: stacked state, shared batch, per-model BatchNorm, clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from initlab.core.errors import InitlabError
from initlab.core.seeds import weight_seeds
from initlab.ensemble import Ensemble, Stack

SPECS = ["he_normal", "lecun_normal", "normal(std=0.01)"]


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))


def test_mlp_ensemble_has_the_stacks_weights_bit_for_bit() -> None:
    seeds = weight_seeds([0, 1, 2])
    ens = Ensemble.from_factory(_mlp, SPECS, seeds)
    stack = Stack.from_schemes([20, 16, 16, 10], "relu", SPECS, seeds)
    for layer in range(3):
        assert torch.equal(ens.params[f"{2 * layer}.weight"], stack.weights[layer])
    x = torch.randn(7, 20, generator=torch.Generator().manual_seed(0))  # (B, D)
    # the same weights, the same function (vmap's matmul may sum in another order with threads)
    torch.testing.assert_close(ens(x), stack(x), rtol=1e-6, atol=1e-6)  # (M, B, C)


def test_model_m_alone_gives_the_same_outputs() -> None:
    ens = Ensemble.from_factory(_mlp, SPECS, [5, 6, 7])
    x = torch.randn(4, 20, generator=torch.Generator().manual_seed(1))
    out = ens(x)  # (M, B, C)
    for m in range(ens.M):
        torch.testing.assert_close(ens.model(m)(x), out[m], rtol=1e-6, atol=1e-6)


def test_batchnorm_running_statistics_are_per_model() -> None:
    def cnn() -> nn.Module:
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten())

    ens = Ensemble.from_factory(cnn, ["he_normal"] * 3, [1, 2, 3])
    alone = [ens.model(m).train() for m in range(3)]
    x = torch.randn(6, 1, 5, 5, generator=torch.Generator().manual_seed(2))
    ens.train()
    ens(x)
    rm = ens.buffers["1.running_mean"]  # (M, C)
    assert rm.shape == (3, 4)
    assert not torch.equal(rm[0], rm[1])  # each model's own statistics
    for m, model in enumerate(alone):
        model(x)
        torch.testing.assert_close(rm[m], model[1].running_mean)
        torch.testing.assert_close(ens.buffers["1.running_var"][m], model[1].running_var)
    assert ens.buffers["1.num_batches_tracked"].tolist() == [1, 1, 1]


def test_factory_does_not_touch_the_global_rng() -> None:
    before = torch.random.get_rng_state()
    Ensemble.from_factory(_mlp, ["torch_default"], [3])
    assert torch.equal(before, torch.random.get_rng_state())


def test_models_that_differ_in_shape_are_an_error() -> None:
    with pytest.raises(InitlabError, match="model 1 differs from model 0: weight"):
        Ensemble([nn.Linear(2, 3), nn.Linear(3, 3)])


def test_a_model_without_parameters_is_an_error() -> None:
    with pytest.raises(InitlabError, match="ReLU has no parameters"):
        Ensemble([nn.ReLU()])
