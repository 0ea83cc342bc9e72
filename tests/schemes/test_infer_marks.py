"""Residual marks inferred from structure on models without marks: torchvision's ResNets (a faithful
copy), PyTorch's transformer layers, a GPT-2-style block with Hugging Face's ``Conv1D``, and initlab's
own families with their marks removed (the inference must find what the families mark)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

import initlab
import torchvision_like as tv
from initlab.ensemble import model_factory
from initlab.schemes import (
    BLOCK,
    GATE,
    RESIDUAL,
    RESIDUAL_NORM,
    branches,
    fixup_scale,
    has_marks,
    infer_marks,
    mark_residual,
    recognised,
    residual_blocks,
    residual_norms,
    residual_outputs,
)
from lookalikes import GPT2MLP, Conv1D


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _unmarked(model: nn.Module) -> nn.Module:
    for mod in model.modules():
        for attr in (RESIDUAL, RESIDUAL_NORM, BLOCK, GATE):
            if attr in mod.__dict__:
                delattr(mod, attr)
    assert not has_marks(model)
    return model


@pytest.mark.parametrize(
    "spec",
    [
        "resnet(depth=14, width=4)",
        "resnet(depth=8, width=4, norm=none, block=preact)",
        "vit(depth=3, dim=16, heads=2)",
    ],
)
def test_inference_finds_what_the_families_mark(spec: str) -> None:
    marked = model_factory(spec)()
    plain = _unmarked(model_factory(spec)())
    assert residual_outputs(plain) == residual_outputs(marked) != []
    assert residual_norms(plain) == residual_norms(marked)
    assert residual_blocks(plain) == residual_blocks(marked)
    assert branches(plain) == branches(marked)
    assert recognised(marked) == [] and len(recognised(plain)) == len(residual_blocks(marked))


def test_torchvision_resnet50_bottlenecks_end_at_conv3_with_bn3() -> None:
    model = tv.resnet50(width=4)
    found = infer_marks(model)
    assert len(found) == 16 and {r.cls for r in found} == {"torchvision_like.Bottleneck"}
    assert found[0].what == "ResNet bottleneck: conv3 ends the branch, bn3 its last norm"
    br = branches(model)
    assert br[0].output == "layer1.0.conv3" and br[0].norm == "layer1.0.bn3" and br[0].block == "layer1.0"
    assert br[0].layers == ("layer1.0.conv1", "layer1.0.conv2", "layer1.0.conv3")  # not the downsample
    assert [b.block for b in br][-3:] == ["layer4.0", "layer4.1", "layer4.2"]


def test_zero_residual_on_torchvision_resnet18_is_zero_init_residual() -> None:
    model = tv.resnet18(width=4)
    initlab.init_(model, "zero_residual", generator=_gen())
    ref = tv.resnet18(width=4, zero_init_residual=True)  # torchvision's own flag
    for (name, mod), ref_mod in zip(model.named_modules(), ref.modules(), strict=True):
        if isinstance(mod, nn.BatchNorm2d):
            assert torch.equal(mod.weight, ref_mod.weight), name
    assert residual_norms(model) == [f"layer{i}.{j}.bn2" for i in range(1, 5) for j in range(2)]


def test_fixup_on_torchvision_resnet18_without_norm_gains() -> None:
    model = tv.resnet18(width=8)
    initlab.init_(model, "fixup", generator=_gen())
    scale = fixup_scale(8, 2)  # 8 basic blocks, m = 2
    w = model.get_submodule("layer2.1.conv1").weight.detach()
    assert float(w.std()) == pytest.approx(scale * math.sqrt(2 / w[0].numel()), rel=0.1)
    assert all(torch.all(model.get_submodule(o).weight == 0) for o in residual_outputs(model))
    assert torch.all(model.fc.weight == 0)  # the classifier, outside every block


class _NotResidual(nn.Module):
    """conv1 -> bn1 -> conv2 -> bn2 with a change of width and no downsample: no skip can be added."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16)


def test_no_recognition_without_a_residual_shape_or_on_plain_nets() -> None:
    assert infer_marks(nn.Sequential(_NotResidual(), _NotResidual())) == []
    assert infer_marks(model_factory("cnn(depth=3, channels=4)")()) == []
    assert infer_marks(model_factory("mlp(layers=4, width=8)")()) == []


def test_explicit_marks_win_and_a_false_mark_on_the_root_turns_inference_off() -> None:
    model = tv.resnet18(width=4)
    mark_residual(model.fc)
    assert has_marks(model) and recognised(model) == [] and residual_outputs(model) == ["fc"]
    model = tv.resnet18(width=4)
    setattr(model, RESIDUAL, False)
    assert branches(model) == [] and len(infer_marks(model)) == 8


@pytest.mark.parametrize("norm_first", [False, True])
def test_pytorch_transformer_layers_and_post_ln(norm_first: bool) -> None:
    layers = [
        nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, norm_first=norm_first) for _ in range(3)
    ]
    found = infer_marks(nn.Sequential(*layers))
    assert found[0].outputs == ("0.self_attn.out_proj", "0.linear2")
    assert all(r.post_norm is not norm_first for r in found)
    assert found[0].what.startswith("post-LN " if not norm_first else "transformer block")


class CausalSelfAttention(nn.Module):
    """nanoGPT's attention with Hugging Face's ``Conv1D`` (GPT-2): ``c_attn`` (q, k, v), ``c_proj``."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.c_attn = Conv1D(3 * d, d)
        self.c_proj = Conv1D(d, d)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self.c_attn(x).chunk(3, dim=-1)  # (B, T, d) each
        att = (q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(-1)  # (B, T, T)
        return self.c_proj(att @ v)


class GPT2Block(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(d), CausalSelfAttention(d)
        self.ln_2, self.mlp = nn.LayerNorm(d), GPT2MLP(d)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


def test_gpt2_blocks_with_conv1d_are_depth_scaled_on_their_oriented_fans() -> None:
    d, depth = 32, 4
    model = nn.Sequential(*(GPT2Block(d) for _ in range(depth)), nn.Linear(d, 10))  # blocks, head
    outs = residual_outputs(model)
    assert outs[:2] == ["0.attn.c_proj", "0.mlp.c_proj"] and len(outs) == 2 * depth
    assert branches(model)[1].layers == ("0.mlp.c_fc", "0.mlp.c_proj")
    initlab.init_(model, "depth_scaled(base=he_normal)", generator=_gen())
    w = torch.cat([model.get_submodule(f"{i}.mlp.c_proj").weight.detach().reshape(-1) for i in range(depth)])
    # Conv1D stores (in, out) = (4d, d): He on fan_in = 4d, not on the stored second dim d
    assert float(w.std()) == pytest.approx(math.sqrt(2 / (4 * d)) / math.sqrt(2 * depth), rel=0.05)
