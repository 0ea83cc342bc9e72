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


class _Hybrid(nn.Module):
    """A hybrid ViT: two torchvision ResNet basic blocks, then two pre-LN transformer layers on the
    pixels as tokens (timm's ``vit_*_r50`` kind)."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.cnn = nn.Sequential(tv.BasicBlock(c, c), tv.BasicBlock(c, c))
        layer = [nn.TransformerEncoderLayer(c, 2, 2 * c, batch_first=True, norm_first=True) for _ in range(2)]
        self.vit = nn.Sequential(*layer)
        self.head = nn.Linear(c, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.cnn(self.stem(x))  # (B, C, H, W)
        tokens = self.vit(h.flatten(2).transpose(1, 2))  # (B, H W, C)
        out: torch.Tensor = self.head(tokens.mean(1))  # (B, 10)
        return out


def test_a_hybrid_model_gets_zero_residual_in_resnet_blocks_and_depth_scaling_in_transformer_blocks() -> None:
    model = _Hybrid()
    plan = auto_init_(model, example=torch.randn(2, 3, 8, 8, generator=_gen(0)), generator=_gen(2))
    assert "2 residual branches start at zero" in plan.note and "scaled by 1/sqrt(4)" in plan.note
    assert torch.all(model.cnn[0].bn2.weight == 0) and torch.all(model.cnn[0].bn1.weight == 1)
    assert plan.scheme_of("vit.1.linear2").startswith("depth_scaled(") and plan.scheme_of(
        "vit.1.linear2"
    ).endswith("n=4)")
