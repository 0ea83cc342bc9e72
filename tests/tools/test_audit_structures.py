"""The audit on the structures of real models (issue 17): trunc_normal_'s traces, zero rows, zero heads."""

from __future__ import annotations

import math

import torch
from structures_findings import BertLike, MixerLike, ViTLike
from torch import nn

import initlab
from initlab.tools import identify


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_bert_like_normal_002_is_not_warned_and_its_padding_row_is_not_sparse() -> None:
    report = initlab.audit(BertLike())
    assert not report.warned("trunc_normal_absolute"), report.warnings
    assert report.of("layer.0.query.weight").scheme == "normal(std=0.02)"
    emb = report.of("word_embeddings.weight")
    assert emb.scheme == "normal(std=0.02)" and emb.zero_rows == 1  # not "sparse(...)" with confidence 1
    assert emb.confidence > 0.5
    # a plain nn.Embedding with padding_idx: N(0, 1) with its zero row
    plain = nn.Embedding(500, 32, padding_idx=0)
    nn.init.normal_(plain.weight, generator=_g(0))
    with torch.no_grad():
        plain.weight[0].zero_()
    got = identify(plain.weight)
    assert got.spec == "normal(std=1)" and got.zero_rows == 1 and got.confidence > 0.5
    # negative control: real sparse init (zeros in different rows per column) is still sparse
    assert identify(
        initlab.scheme("sparse(sparsity=0.1, std=0.01)").sample((100, 50), generator=_g(0))
    ).spec.startswith("sparse(")


def test_vit_s_like_clamped_entry_is_warned_and_the_rest_identified() -> None:
    w = torch.empty(1536, 384)
    nn.init.normal_(w, std=0.02, generator=_g(0))
    w[7, 11] = -2.0  # trunc_normal_(std=0.02) drew u = -1: erfinv(-1) = -inf, clamped to a = -2
    got = identify(w)
    assert got.spec == "normal(std=0.02)" and got.clamped == 1 and got.confidence > 0.5
    layer = nn.Linear(384, 1536)
    with torch.no_grad():
        layer.weight.copy_(w)
    report = initlab.audit(layer)
    (warn,) = [x for x in report.warnings if x.kind == "trunc_normal_absolute"]
    assert warn.weights == ("weight",) and "exactly +-2.0" in warn.message and "100 std" in warn.message


def test_trunc_normal_with_a_large_std_is_cut_at_the_absolute_bounds() -> None:
    w = torch.empty(256, 512)
    nn.init.trunc_normal_(w, std=1.5, generator=_g(0))  # a=-2, b=2: a cut at +-1.33 std
    got = identify(w)
    assert got.law.kind == "trunc_normal" and got.absolute_bounds
    assert math.isclose(got.law.low, -2.0, rel_tol=1e-3) and math.isclose(got.law.high, 2.0, rel_tol=1e-3)
    assert got.confidence > 0.5
    (warn,) = [x for x in initlab.audit(w).warnings if x.kind == "trunc_normal_absolute"]
    assert "cut at +-2" in warn.message
    # negative controls: U(-2, 2) and he_normal with values beyond 2 are not "cut at +-2"
    assert not identify(torch.empty(256, 512).uniform_(-2, 2, generator=_g(1))).absolute_bounds
    assert not initlab.audit(torch.randn(256, 512, generator=_g(2))).warned("trunc_normal_absolute")


def test_zero_heads_are_a_constant_output_not_a_symmetry_failure() -> None:
    for model in (ViTLike(), MixerLike()):
        report = initlab.audit(model)
        assert not report.warned("constant"), report.warnings
        (warn,) = [x for x in report.warnings if x.kind == "constant_output"]
        assert warn.weights == ("head.weight",) and "one SGD step breaks the symmetry" in warn.message
