"""``auto`` and the audit on a model without residual marks: a torchvision resnet50 (a faithful copy,
small width) gets zero-residual from its recognised Bottleneck blocks, and its plan says so.

Measured with :func:`initlab.diagnose` (backward depth ratio along the main path, output -> input):
after ``auto`` x119 without the inference, x1.75 with it at width 8 (x96.7 -> x1.69 on the real
``torchvision.models.resnet50`` at width 64, the same numbers as this copy at width 64).
"""

from __future__ import annotations

import torch
from torch import nn

import initlab
import torchvision_like as tv
from initlab.schemes import RESIDUAL, residual_outputs
from initlab.tools import auto_init_


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _backward_growth(model: nn.Module) -> float:
    d = initlab.diagnose(model, input_shape=(3, 64, 64), batch_size=8, generator=_gen(1))
    depth = d.depth("backward")
    assert depth is not None and depth.path == "blocks" and depth.steps == 15  # 16 Bottlenecks
    return depth.ratio


def test_auto_on_an_unmarked_torchvision_resnet50_zeroes_bn3_and_keeps_the_gradient_flat() -> None:
    off = tv.resnet50(width=8)
    setattr(off, RESIDUAL, False)  # inference off: auto as before
    plan_off = auto_init_(off, generator=_gen(2))
    model = tv.resnet50(width=8)
    plan = auto_init_(model, generator=_gen(2))
    assert "recognised by structure: 16 x torchvision_like.Bottleneck (ResNet bottleneck" in plan.note
    assert "zero-residual" in plan.note and "residual" not in plan_off.note
    for name, mod in model.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            assert torch.all(mod.weight == (0.0 if name.endswith("bn3") else 1.0)), name
    assert "layer1.0.bn3.weight set to 0" in next(s.reason for s in plan.steps if s.layer == "layer1.0.conv3")
    grown, flat = _backward_growth(off), _backward_growth(model)
    assert grown > 30 and flat < 3, (grown, flat)


def test_audit_takes_zero_branch_outputs_for_zero_residual_not_for_symmetry() -> None:
    model = tv.resnet18(width=4)
    initlab.init_(model, "fixup", generator=_gen(0))  # zero conv2 in every block, zero fc
    report = initlab.audit(model)
    assert report.zero_residual == tuple(f"{o}.weight" for o in residual_outputs(model))
    assert not report.warned("constant") and report.warned("constant_output")  # the zero fc
    setattr(model, RESIDUAL, False)
    assert initlab.audit(model).warned("constant")  # without the inference: 8 constant layers
