"""The resnet family's depth options: the SkipInit/ReZero gate (gate=true), Fixup's scalars (fixup=true)."""

from __future__ import annotations

import torch

import initlab
from initlab.ensemble import GATE, model_factory


def test_gate_starts_every_block_as_the_identity_and_learns() -> None:
    model = model_factory("resnet(depth=14, width=4, norm=none, block=preact, gate=true)")()
    initlab.init_(model, "he_normal", generator=torch.Generator().manual_seed(0))
    gates = [m for m in model.modules() if getattr(m, GATE, False)]
    assert len(gates) == 6 and all(float(g.value.detach()) == 0.0 for g in gates)
    x = torch.randn(3, 4, 28, 28, generator=torch.Generator().manual_seed(1))  # (B, C, H, W)
    with torch.no_grad():
        torch.testing.assert_close(model.blocks[1](x), x, rtol=0, atol=0)  # x + 0 * f(x)
    loss = model(torch.randn(3, 784, generator=torch.Generator().manual_seed(2))).square().sum()
    loss.backward()
    assert all(float(g.value.grad.abs().sum()) > 0 for g in gates)  # the gate's gradient is f(x)-shaped
    assert float(model.blocks[0].conv1.weight.grad.abs().sum()) == 0  # the branch is gated off


def test_fixup_family_without_the_scheme_is_an_ordinary_resnet_with_scalars() -> None:
    plain = model_factory("resnet(depth=8, width=4, norm=none)")()
    fix = model_factory("resnet(depth=8, width=4, norm=none, fixup=true)")()
    assert plain.blocks[0].conv1.bias is not None and fix.blocks[0].conv1.bias is None  # Fixup's convs
    extra = {n for n, _ in fix.named_parameters()} - {n for n, _ in plain.named_parameters()}
    assert extra == {
        f"blocks.{b}.opt.{s}.value"
        for b in range(3)
        for s in ("bias1a", "bias1b", "bias2a", "scale", "bias2b")
    } | {"fc_bias.value"}
