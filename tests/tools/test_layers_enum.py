"""weight_slots: every linear-like weight with its fans and layout, and the audit that reads it."""

from __future__ import annotations

import torch
from torch import nn

import initlab
from initlab.tools import is_conv1d, weight_slots
from lookalikes import GPT2MLP, Conv1D


def test_slots_name_each_layout_with_its_fans() -> None:
    model = nn.ModuleDict(
        {
            "c": Conv1D(12, 4),  # (in, out) = (4, 12)
            "mha": nn.MultiheadAttention(8, 2),
            "emb": nn.Embedding(10, 4, padding_idx=0),
            "up": nn.ConvTranspose2d(3, 6, 3),
            "conv": nn.Conv2d(3, 6, 3, bias=False),
        }
    )
    got = {s.name: (s.kind, s.fan_in, s.fan_out, tuple(s.view(model).shape)) for s in weight_slots(model)}
    assert got["c"] == ("conv1d", 4, 12, (12, 4))
    for part in "qkv":
        assert got[f"mha.in_proj_weight[{part}]"] == ("attention", 8, 8, (8, 8))
    assert got["mha.out_proj"] == ("linear", 8, 8, (8, 8))
    assert got["emb"][0] == "embedding" and got["conv"] == ("conv", 27, 54, (6, 3, 3, 3))
    assert got["up"][0] == "conv_transpose"
    (emb,) = [s for s in weight_slots(model) if s.kind == "embedding"]
    assert tuple(emb.values(model).shape) == (9, 4)  # the padding row left out


def test_slot_views_write_through_to_the_parameter() -> None:
    mha = nn.MultiheadAttention(8, 2)
    k = next(s for s in weight_slots(mha) if s.name == "in_proj_weight[k]")
    with torch.no_grad():
        k.view(mha).fill_(3.0)
        bias = k.bias_view(mha)
        assert bias is not None
        bias.fill_(1.0)
    w, b = mha.in_proj_weight.detach(), mha.in_proj_bias.detach()
    assert float(w[8:16].mean()) == 3.0 and float(w[:8].abs().max()) != 3.0
    assert float(b[8:16].mean()) == 1.0 and float(b[:8].abs().sum()) == 0.0


def test_conv1d_is_recognised_by_structure_not_name() -> None:
    assert is_conv1d(Conv1D(6, 3))
    odd = nn.Module()
    odd.weight = nn.Parameter(torch.zeros(3, 6))
    odd.nf = 5  # does not match the weight
    assert not is_conv1d(odd) and not is_conv1d(nn.Linear(3, 6))


def test_audit_reads_conv1d_transposed_and_audits_in_proj() -> None:
    model = GPT2MLP(64)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # he_normal on the oriented (out, in) view: fan_in = 64 for c_fc
        model.c_fc.weight.copy_(torch.randn(64, 256, generator=g) * (2 / 64) ** 0.5)
    entry = initlab.audit(model).of("c_fc.weight")
    assert (entry.fan_in, entry.fan_out) == (64, 256) and entry.scheme == "he_normal"
    mha = nn.MultiheadAttention(64, 4)
    names = [w.name for w in initlab.audit(mha).weights]
    assert names[:3] == ["in_proj_weight[q]", "in_proj_weight[k]", "in_proj_weight[v]"]
    assert initlab.audit(mha).of("in_proj_weight[q]").fan_in == 64
