"""The stack equals a loop of ordinary nn.Sequential models, forward and backward."""

from __future__ import annotations

import pytest
import torch

import initlab
from initlab.ensemble.stack import Stack


@pytest.mark.parametrize("act", ["relu", "tanh"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activate_last", [True, False])
def test_stack_equals_each_model_alone(act: str, bias: bool, activate_last: bool) -> None:
    inits = ["he_normal", "lecun_normal", "torch_default", "normal(std=0.05)"]
    stack = Stack.from_schemes(
        [20, 16, 12, 5], act, inits, [0, 1, 2, 3], bias=bias, activate_last=activate_last
    )
    x = torch.randn(7, 20, generator=torch.Generator().manual_seed(9))
    y = stack(x)  # (M, B, 5)
    y.sum().backward()
    for m in range(len(inits)):
        seq = stack.to_sequential(m)
        ym = seq(x)
        ym.sum().backward()
        torch.testing.assert_close(y[m], ym, rtol=1e-5, atol=1e-6)
        lin = [mod for mod in seq if isinstance(mod, torch.nn.Linear)]
        for layer, mod in enumerate(lin):
            w_grad = stack.weights[layer].grad
            assert w_grad is not None and mod.weight.grad is not None
            torch.testing.assert_close(w_grad[m], mod.weight.grad, rtol=1e-5, atol=1e-6)


def test_model_m_is_initialised_like_init_with_its_seed() -> None:
    stack = Stack.from_schemes([30, 20, 10], "relu", ["torch_default", "he_normal"], [4, 5])
    ref = Stack.from_schemes([30, 20, 10], "relu", ["he_normal"], [5])
    for w, r in zip(stack.weights, ref.weights, strict=True):
        assert torch.equal(w[1], r[0])
    seq = torch.nn.Sequential(torch.nn.Linear(30, 20), torch.nn.Linear(20, 10))
    initlab.init_(seq, "torch_default", generator=torch.Generator().manual_seed(4))
    assert torch.equal(stack.weights[0][0], seq[0].weight) and torch.equal(stack.biases[0][0], seq[0].bias)  # type: ignore[index]


def test_bad_stacks() -> None:
    with pytest.raises(initlab.InitlabError, match="one seed per model"):
        Stack.from_schemes([3, 3], "relu", ["he_normal"], [0, 1])
    with pytest.raises(initlab.InitlabError, match="positive widths"):
        Stack([3, 0, 2], "relu", models=1)
    with pytest.raises(initlab.InitlabError, match="unknown activation"):
        Stack([3, 2], "relux", models=1)
