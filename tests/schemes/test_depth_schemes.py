"""Depth-aware schemes on real family models: zero_residual, fixup, depth_scaled, delta_orthogonal.

Each law is tested on the values it drew (KS tests of the standardised weights with a negative
control), and each zero or scaled layer is found by the residual marks of the family's model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps
from torch import nn

import initlab
from initlab.ensemble import model_factory
from initlab.schemes import (
    Constant,
    DeltaOrthogonal,
    Identity,
    Normal,
    Orthogonal,
    Sparse,
    TruncatedNormal,
    Uniform,
    branches,
    classifier,
    fixup_scale,
    mark_block,
    mark_residual,
    residual_norms,
    residual_outputs,
    scaled,
    scheme_info,
)

ALPHA = 1e-3


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _he_std(w: torch.Tensor) -> float:
    fan_in = w[0].numel()
    return math.sqrt(2.0 / fan_in)


def _standardised(
    model: nn.Module, names: list[str], std: float | None = None, factor: float = 1.0
) -> np.ndarray:
    """The weights of ``names`` divided by ``factor`` times their He std (or ``std``), pooled."""
    parts = []
    for n in names:
        w = model.get_submodule(n).weight.detach().double()
        parts.append((w / (factor * (std if std is not None else _he_std(w)))).numpy().ravel())
    return np.concatenate(parts)


def _is_standard_normal(z: np.ndarray) -> bool:
    return bool(sps.kstest(z, sps.norm.cdf).pvalue > ALPHA)


def _convs(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


# -- zero_residual ----------------------------------------------------------------------------


def test_zero_residual_zeroes_the_branch_norm_gains_of_a_batchnorm_resnet() -> None:
    model = model_factory("resnet(depth=14, width=8)")()
    initlab.init_(model, "zero_residual", generator=_gen())
    norms = residual_norms(model)
    assert len(norms) == 6
    for name, mod in model.named_modules():
        if isinstance(mod, nn.BatchNorm2d):
            expected = 0.0 if name in norms else 1.0
            assert torch.all(mod.weight == expected), name
    assert _is_standard_normal(_standardised(model, _convs(model)))  # every conv He, conv2 included
    control = model_factory("resnet(depth=14, width=8)")()
    initlab.init_(control, "he_normal", generator=_gen())
    assert all(bool(torch.all(control.get_submodule(n).weight == 1.0)) for n in norms)


@pytest.mark.parametrize("block", ["basic", "preact"])
def test_zero_residual_zeroes_the_last_conv_without_norm_and_blocks_start_as_the_identity(block: str) -> None:
    model = model_factory(f"resnet(depth=14, width=8, norm=none, block={block})")()
    initlab.init_(model, "zero_residual", generator=_gen())
    outs = residual_outputs(model)
    assert len(outs) == 6 and all(bool(torch.all(model.get_submodule(n).weight == 0)) for n in outs)
    others = [n for n in _convs(model) if n not in outs]
    assert _is_standard_normal(_standardised(model, others))
    x = torch.randn(4, 8, 28, 28, generator=_gen(1)).relu()  # (B, C, H, W): a post-ReLU stream
    first = model.blocks[0]
    with torch.no_grad():
        torch.testing.assert_close(first(x), x, rtol=0, atol=0)  # x + 0, and relu(x) = x for x >= 0


def test_zero_residual_takes_any_base_and_is_the_base_on_an_unmarked_model() -> None:
    mlp = model_factory("mlp(layers=3, width=32)")()
    a = initlab.init_(mlp, "zero_residual(base=lecun_uniform)", generator=_gen(3))
    ref = model_factory("mlp(layers=3, width=32)")()
    b = initlab.init_(ref, "lecun_uniform", generator=_gen(3))
    assert [r.std for r in a] == [r.std for r in b]
    for p, q in zip(mlp.parameters(), ref.parameters(), strict=True):
        assert torch.equal(p, q)
    assert initlab.scheme("zero_residual(base=lecun_uniform)").law((8, 16)) == initlab.scheme(
        "lecun_uniform"
    ).law((8, 16))


# -- fixup ------------------------------------------------------------------------------------


def test_fixup_scale_formula() -> None:
    assert fixup_scale(9, 2) == pytest.approx(1 / 3)
    assert fixup_scale(16, 3) == pytest.approx(0.5)
    assert fixup_scale(81, 5) == pytest.approx(81 ** (-1 / 8))
    with pytest.raises(initlab.InitlabError, match="m >= 2"):
        fixup_scale(4, 1)


def test_fixup_on_a_resnet_without_norm() -> None:
    model = model_factory("resnet(depth=20, width=8, norm=none, fixup=true)")()
    initlab.init_(model, "fixup", generator=_gen())
    found = branches(model)
    assert len(found) == 9 and all(len(b.layers) == 2 for b in found)
    inner = [b.layers[0] for b in found]
    z = _standardised(model, inner, factor=9 ** (-1 / 2))  # He std times L^(-1/(2m-2)) = 1/3
    assert _is_standard_normal(z)
    assert not _is_standard_normal(z / 3.0)  # negative control: unscaled He
    for b in found:
        assert torch.all(model.get_submodule(b.output).weight == 0)
    assert classifier(model) == "fc"
    assert torch.all(model.fc.weight == 0) and torch.all(model.fc.bias == 0)
    assert _is_standard_normal(_standardised(model, ["stem"]))
    scalars = {n: p for n, p in model.named_parameters() if n.endswith(".value")}
    assert len(scalars) == 9 * 5 + 1  # four biases and a multiplier per block, a bias before fc
    assert all(float(p.detach()) == (1.0 if ".scale." in n else 0.0) for n, p in scalars.items())
    with torch.no_grad():
        assert torch.all(model(torch.randn(3, 784, generator=_gen(2))) == 0)  # the classifier is zero


class _ResidualMLP(nn.Module):
    """``x + f(x)`` blocks whose branch is ``m`` Linear layers of ``width`` with ReLUs between."""

    def __init__(self, blocks: int, m: int, width: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        for _ in range(blocks):
            layers: list[nn.Module] = []
            for i in range(m):
                layers.append(nn.Linear(width, width))
                if i < m - 1:
                    layers.append(nn.ReLU())
            mark_residual(layers[-1])
            self.blocks.append(mark_block(nn.Sequential(*layers)))
        self.head = nn.Linear(width, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            x = x + blk(x)  # (B, W)
        out: torch.Tensor = self.head(x)
        return out


@pytest.mark.parametrize("m", [2, 3])
def test_fixup_scale_exponent_for_m_layers(m: int) -> None:
    L, width = 4, 96
    model = _ResidualMLP(L, m, width)
    initlab.init_(model, f"fixup(m={m})", generator=_gen())
    expected = L ** (-1.0 / (2 * m - 2))  # m=2: 1/2, m=3: 1/sqrt(2)
    inner = [b.layers[i] for b in branches(model) for i in range(m - 1)]
    assert len(inner) == L * (m - 1)
    w = np.concatenate([model.get_submodule(n).weight.detach().double().numpy().ravel() for n in inner])
    ratio = float(w.std()) / math.sqrt(2.0 / width)
    assert ratio == pytest.approx(expected, rel=0.02)  # std error ~ 1/sqrt(2 * 18k) = 0.5%
    other = L ** (-1.0 / (2 * (5 - m) - 2))  # the other m's exponent: must not match
    assert ratio != pytest.approx(other, rel=0.05)
    assert _is_standard_normal(_standardised(model, inner, factor=expected))
    for b in branches(model):
        assert torch.all(model.get_submodule(b.output).weight == 0)
    assert torch.all(model.head.weight == 0)
    with pytest.raises(initlab.InitlabError, match=rf"fixup\(m={5 - m}\).* has {m} weighted layers"):
        initlab.init_(_ResidualMLP(L, m, width), f"fixup(m={5 - m})", generator=_gen())


def test_fixup_counts_branches_of_a_transformer_block() -> None:
    model = model_factory("vit(depth=2, dim=16, heads=2)")()
    found = branches(model)
    assert [b.layers for b in found[:2]] == [
        ("blocks.0.attn.q", "blocks.0.attn.k", "blocks.0.attn.v", "blocks.0.attn.out"),
        ("blocks.0.mlp.fc1", "blocks.0.mlp.fc2"),
    ]


# -- depth_scaled -----------------------------------------------------------------------------


def test_depth_scaled_is_nanogpt_on_a_vit() -> None:
    depth, dim = 3, 64
    model = model_factory(f"vit(depth={depth}, dim={dim}, heads=2)")()
    initlab.init_(model, "depth_scaled", generator=_gen())
    outs = residual_outputs(model)
    assert len(outs) == 2 * depth
    small = 0.02 / math.sqrt(2 * depth)
    assert _is_standard_normal(_standardised(model, outs, std=small))
    assert not _is_standard_normal(_standardised(model, outs, std=0.02))  # negative control
    rest = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n not in outs]
    assert _is_standard_normal(_standardised(model, rest, std=0.02))


def test_depth_scaled_with_a_he_base_and_explicit_n_on_a_resnet() -> None:
    model = model_factory("resnet(depth=14, width=8, norm=none)")()
    initlab.init_(model, "depth_scaled(he_normal, 4)", generator=_gen())
    outs = residual_outputs(model)
    assert _is_standard_normal(_standardised(model, outs, factor=0.5))
    assert _is_standard_normal(_standardised(model, [n for n in _convs(model) if n not in outs]))


# -- delta_orthogonal -------------------------------------------------------------------------


def test_delta_orthogonal_on_a_resnet() -> None:
    model = model_factory("resnet(depth=8, width=8, norm=none)")()
    initlab.init_(model, "delta_orthogonal(gain=1.5)", generator=_gen())
    for name in _convs(model):
        w = model.get_submodule(name).weight.detach().double()  # (out, in, 3, 3)
        centre = w[:, :, 1, 1]  # (out, in)
        rest = w.clone()
        rest[:, :, 1, 1] = 0
        assert torch.all(rest == 0), name
        small = min(centre.shape)
        gram = centre @ centre.T if centre.shape[0] <= centre.shape[1] else centre.T @ centre
        torch.testing.assert_close(gram, 2.25 * torch.eye(small, dtype=torch.float64), atol=1e-5, rtol=0)
        law = initlab.scheme("delta_orthogonal(gain=1.5)").law(tuple(w.shape))
        assert float(w.std(unbiased=False)) == pytest.approx(law.std, rel=0.05)
    fc = model.fc.weight.detach().double()  # (10, 32): a plain orthogonal matrix
    torch.testing.assert_close(fc @ fc.T, 2.25 * torch.eye(10, dtype=torch.float64), atol=1e-5, rtol=0)
    control = model_factory("resnet(depth=8, width=8, norm=none)")()
    initlab.init_(control, "orthogonal(gain=1.5)", generator=_gen())
    assert bool(torch.any(control.blocks[0].conv1.weight[:, :, 0, 0] != 0))  # orthogonal fills every tap


# -- contract ---------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["zero_residual", "fixup", "depth_scaled"])
def test_module_aware_schemes_refuse_a_bare_tensor(spec: str) -> None:
    assert scheme_info(spec).module_aware
    with pytest.raises(initlab.InitlabError, match="needs the module structure"):
        initlab.init_(torch.empty(8, 8), spec)
    assert not scheme_info("delta_orthogonal").module_aware
    initlab.init_(torch.empty(8, 8, 3, 3), "delta_orthogonal", generator=_gen())


def test_bad_depth_scheme_parameters() -> None:
    with pytest.raises(initlab.InitlabError, match="base 'nope'"):
        initlab.scheme("zero_residual(base=nope)")
    with pytest.raises(initlab.InitlabError, match="must be an ordinary"):
        initlab.scheme("depth_scaled(base=fixup)")
    with pytest.raises(initlab.InitlabError, match="m=1 must be >= 2"):
        initlab.scheme("fixup(m=1)")
    with pytest.raises(initlab.InitlabError, match="Fixup replaces normalization"):
        model_factory("resnet(depth=8, fixup=true)")


@pytest.mark.parametrize(
    "law",
    [
        Constant(0.5),
        Normal(0.2, 0.1),
        Uniform(-0.3, 0.5),
        TruncatedNormal(0.2, -0.1, 0.5, 0.1),
        Orthogonal(1.5, (40, 30)),
        DeltaOrthogonal(1.5, (8, 4, 3, 3)),
        Sparse(0.3, 0.2, (40, 30)),
    ],
    ids=lambda law: type(law).__name__,
)
def test_scaled_laws_have_scaled_std_and_mean(law: initlab.schemes.Law) -> None:
    s = scaled(law, 0.25)
    assert type(s) is type(law)
    assert s.std == pytest.approx(0.25 * law.std)
    assert s.mean == pytest.approx(0.25 * law.mean)


def test_identity_cannot_be_scaled() -> None:
    with pytest.raises(initlab.InitlabError, match="identity has no scale"):
        scaled(Identity((4, 4)), 0.5)
