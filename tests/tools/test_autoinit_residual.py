"""``auto`` with residual marks: zero-residual on ResNet-like branches (the branch norm's gain, else the
last layer), GPT-2's 1/sqrt(n) on a transformer's residual outputs, and the plan says so."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from initlab.ensemble import RESIDUAL, model_factory, residual_norms, residual_outputs
from initlab.tools import auto_init_


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def test_batchnorm_resnet_gets_its_branch_norm_gains_zeroed() -> None:
    model = model_factory("resnet(depth=14, width=4)")()
    plan = auto_init_(model, generator=_gen())
    norms = residual_norms(model)
    assert len(norms) == 6
    for name, mod in model.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            assert torch.all(mod.weight == (0.0 if name in norms else 1.0)), name
    assert "zero-residual" in plan.note and "6 residual branches" in plan.note
    assert {r.name for r in plan.records} >= {f"{n}.weight" for n in norms}
    step = next(s for s in plan.steps if s.layer == "blocks.0.conv2")
    assert step.scheme == "he_normal" and "blocks.0.norm2.weight set to 0" in step.reason
    assert float(model.blocks[0].conv2.weight.detach().std()) > 0  # the conv itself is drawn


def test_resnet_without_norm_gets_zero_last_layers_and_identity_blocks() -> None:
    model = model_factory("resnet(depth=14, width=4, norm=none, block=preact)")()
    plan = auto_init_(model, generator=_gen())
    outs = residual_outputs(model)
    for name in outs:
        assert plan.scheme_of(name) == "zeros"
        assert torch.all(model.get_submodule(name).weight == 0)
    rec = {r.name: r for r in plan.records}
    assert rec["blocks.0.conv2.weight"].std == 0.0 and rec["blocks.0.conv1.weight"].std > 0
    x = torch.randn(2, 4, 28, 28, generator=_gen())  # (B, C, H, W)
    with torch.no_grad():
        torch.testing.assert_close(model.blocks[1](x), x, rtol=0, atol=0)


def test_transformer_residual_outputs_are_depth_scaled_exactly() -> None:
    spec = "vit(depth=3, dim=16, heads=2)"
    marked = model_factory(spec)()
    plan = auto_init_(marked, generator=_gen())
    plain = model_factory(spec)()
    outs = residual_outputs(plain)
    for name in outs:
        setattr(plain.get_submodule(name), RESIDUAL, False)  # the same model without marks
    plain_plan = auto_init_(plain, generator=_gen())
    n = len(outs)
    assert n == 6 and "scaled by 1/sqrt(6)" in plan.note and "residual" not in plain_plan.note
    for name, mod in marked.named_modules():
        if not isinstance(mod, nn.Linear | nn.Conv2d):
            continue
        other = plain.get_submodule(name).weight
        factor = 1 / math.sqrt(n) if name in outs else 1.0
        torch.testing.assert_close(mod.weight, other * factor, rtol=1e-6, atol=0)
    assert plan.scheme_of(outs[0]) == f"depth_scaled(base={plain_plan.scheme_of(outs[0])}, n=6)"
    rec = {r.name: r for r in plan.records}
    plain_rec = {r.name: r for r in plain_plan.records}
    key = f"{outs[0]}.weight"
    assert rec[key].std == pytest.approx(plain_rec[key].std / math.sqrt(6))


def test_models_without_marks_are_unchanged() -> None:
    plan = auto_init_(model_factory("cnn(depth=2, channels=4)")(), generator=_gen())
    assert "residual" not in plan.note
    assert all("residual" not in s.reason for s in plan.steps)
