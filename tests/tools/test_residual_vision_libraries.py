"""Residual branches of real torchvision and timm models recognised without marks (optional: skipped
where torchvision / timm are not installed or do not import against this torch). Also checks that
``tests/torchvision_like.py``, which the always-run tests use, is torchvision's ResNet: same module
names, classes and parameter shapes, and the same weights from the same global seed."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest
import torch
from torch import nn

import torchvision_like as tv_like
from initlab.schemes import branches, infer_marks
from initlab.tools import auto_init_


def _library(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as err:  # a torchvision built for another torch raises RuntimeError on import
        pytest.skip(f"{name} does not import here: {type(err).__name__}: {err}")


def _layout(model: nn.Module) -> list[tuple[str, str, tuple[int, ...]]]:
    shapes = {
        n.rpartition(".")[0]: tuple(p.shape) for n, p in model.named_parameters() if n.endswith("weight")
    }
    return [(n, type(m).__name__, shapes.get(n, ())) for n, m in model.named_modules()]


def test_torchvision_resnets_are_recognised_and_the_copy_is_faithful() -> None:
    tv = _library("torchvision")
    for make, copy, cls, k in [
        (tv.models.resnet18, tv_like.resnet18, "BasicBlock", 2),
        (tv.models.resnet50, tv_like.resnet50, "Bottleneck", 3),
    ]:
        torch.manual_seed(0)
        real = make()
        torch.manual_seed(0)
        mine = copy()
        assert _layout(real) == _layout(mine)
        for (name, p), q in zip(real.named_parameters(), mine.parameters(), strict=True):
            assert torch.equal(p, q), name
        found = infer_marks(real)
        assert {r.cls for r in found} == {f"torchvision.models.resnet.{cls}"}
        assert all(
            b.output.endswith(f"conv{k}") and b.norm and b.norm.endswith(f"bn{k}") for b in branches(real)
        )


def test_torchvision_vit_and_timm_blocks_are_recognised_and_auto_says_so() -> None:
    tv = _library("torchvision")
    vit = tv.models.VisionTransformer(32, 8, num_layers=3, num_heads=2, hidden_dim=32, mlp_dim=64)
    assert infer_marks(vit)[0].outputs == (
        "encoder.layers.encoder_layer_0.self_attention.out_proj",
        "encoder.layers.encoder_layer_0.mlp.3",
    )
    timm = _library("timm")
    model = timm.create_model(
        "vit_tiny_patch16_224", img_size=32, patch_size=8, depth=3, embed_dim=32, num_heads=2
    )
    plan = auto_init_(model, generator=torch.Generator().manual_seed(0))
    assert "3 x timm.models.vision_transformer.Block (transformer block: attn.proj, mlp.fc2" in plan.note
    assert "scaled by 1/sqrt(6)" in plan.note
    found = infer_marks(timm.create_model("resnet50"))
    assert len(found) == 16 and found[0].norm == "layer1.0.bn3"
