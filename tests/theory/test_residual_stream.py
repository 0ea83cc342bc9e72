"""The residual stream's variance and gradient per block at initialization, measured against the
prediction.

A stack of pre-activation residual blocks ``x + W2 relu(W1 relu(x))`` of width 512, initialised by
the catalogue's schemes through ``init_`` (the marks say which Linear ends each branch): the
measured growth of the stream's second moment in every block is within 15% of ``(1 + a^2)``, and the
stream itself (mean over seeds) within 15% of the compounded prediction after every block,
with ``a^2`` computed from the laws ``init_`` reports -- so a scheme that ignored its branch scale,
or a prediction that ignored it, fails. Backwards, for ``L = sum(g * x_last)`` with ``g`` N(0, 1),
the squared gradient norm per sample w.r.t. the stream grows by the same ``(1 + a^2)`` per block
going back (:func:`initlab.theory.gradient_norms2`), and stays exactly flat for zero branches.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch
from torch import nn

import initlab
from initlab import theory
from initlab.ensemble import mark_block, mark_residual

WIDTH, BLOCKS, BATCH = 512, 8, 256  # finite width: each block's gain fluctuates ~ sqrt(2/W)


class PreActMLP(nn.Module):
    """``x_{l+1} = x_l + W2 relu(W1 relu(x_l))``, ``BLOCKS`` blocks of ``WIDTH`` units, marked."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            mark_block(
                nn.Sequential(
                    nn.ReLU(), nn.Linear(WIDTH, WIDTH), nn.ReLU(), mark_residual(nn.Linear(WIDTH, WIDTH))
                )
            )
            for _ in range(BLOCKS)
        )

    def stream(self, x: torch.Tensor) -> list[float]:
        """The stream's second moment before the first block and after each block."""
        qs = [float((x.double() ** 2).mean())]
        for blk in self.blocks:
            x = x + blk(x)  # (B, W)
            qs.append(float((x.double() ** 2).mean()))
        return qs

    def gradients(self, x: torch.Tensor, g: torch.Tensor) -> list[float]:
        """``E ||dL/dx_l||^2`` per sample after each block, for ``L = sum(g * x_last)``."""
        outs = []
        for blk in self.blocks:
            x = x + blk(x)  # (B, W)
            x.retain_grad()
            outs.append(x)
        (g * x).sum().backward()
        return [float((o.grad.double() ** 2).sum() / o.shape[0]) for o in outs if o.grad is not None]


def _measured_and_scale(spec: str, seed: int) -> tuple[list[float], float]:
    net = PreActMLP()
    records = initlab.init_(net, spec, generator=torch.Generator().manual_seed(seed))
    weights = {r.name: r for r in records if r.name.endswith("weight")}
    gains = [theory.layer_gain(weights[f"blocks.0.{i}.weight"].std, WIDTH) for i in (1, 3)]
    x = torch.randn(BATCH, WIDTH, generator=torch.Generator().manual_seed(100 + seed))  # (B, W)
    with torch.no_grad():
        return net.stream(x), theory.branch_scale2(gains)


@pytest.mark.parametrize(
    ("spec", "a2"),
    [
        ("he_normal", 1.0),  # doubling per block
        ("depth_scaled(he_normal)", 1.0 / BLOCKS),  # GPT-2: n = BLOCKS marked outputs
        ("depth_scaled(he_normal, 2)", 0.5),
        ("zero_residual", 0.0),  # flat
    ],
)
def test_stream_variance_grows_as_one_plus_a2_per_block(spec: str, a2: float) -> None:
    measured = [0.0] * (BLOCKS + 1)
    seeds = 3
    for seed in range(seeds):
        qs, scale2 = _measured_and_scale(spec, seed)
        assert scale2 == pytest.approx(a2, rel=1e-9)  # the law init_ drew with, not an assumption
        for before, after in pairwise(qs):
            assert after / before == pytest.approx(1.0 + a2, rel=0.15)  # each block's growth
        measured = [m + q / seeds for m, q in zip(measured, qs, strict=True)]
    predicted = theory.stream_variances(measured[0], [a2] * BLOCKS)
    for got, want in zip(measured, predicted, strict=True):
        assert got == pytest.approx(want, rel=0.15)
    if a2 != 1.0:  # the branch scale matters: the unscaled (doubling) prediction is far off
        doubling = theory.stream_variances(measured[0], [1.0] * BLOCKS)
        assert measured[-1] != pytest.approx(doubling[-1], rel=0.5)


def test_normalized_branches_grow_linearly_and_shortcuts_that_drop_channels_keep_less() -> None:
    assert theory.stream_variances(2.0, [1.0, 1.0, 1.0], normalized=True) == [2.0, 3.0, 4.0, 5.0]
    assert theory.stream_variances(1.0, [1.0, 1.0], keep=[1.0, 0.5]) == [1.0, 2.0, 3.0]
    assert theory.branch_scale2([2.0, 2.0], normalized=True) == 1.0
    with pytest.raises(initlab.InitlabError, match="2 shortcut fractions for 3 blocks"):
        theory.stream_variances(1.0, [1.0] * 3, keep=[1.0, 1.0])


@pytest.mark.parametrize(
    ("spec", "a2"),
    [("he_normal", 1.0), ("depth_scaled(he_normal)", 1.0 / BLOCKS), ("depth_scaled(he_normal, 2)", 0.5)],
)
def test_gradient_norm_grows_as_one_plus_a2_per_block_going_back(spec: str, a2: float) -> None:
    measured = [0.0] * BLOCKS
    seeds = 3
    for seed in range(seeds):
        net = PreActMLP()
        initlab.init_(net, spec, generator=torch.Generator().manual_seed(seed))
        x = torch.randn(BATCH, WIDTH, generator=torch.Generator().manual_seed(100 + seed))  # (B, W)
        g = torch.randn(BATCH, WIDTH, generator=torch.Generator().manual_seed(200 + seed))  # (B, W)
        ns = net.gradients(x, g)
        for before, after in pairwise(ns):  # block l's gradient over block l+1's
            assert before / after == pytest.approx(1.0 + a2, rel=0.15)
        measured = [m + n / seeds for m, n in zip(measured, ns, strict=True)]
    predicted = theory.gradient_norms2(measured[-1], [a2] * (BLOCKS - 1))
    for got, want in zip(measured, predicted, strict=True):
        assert got == pytest.approx(want, rel=0.15)
    ignored = theory.gradient_norms2(measured[-1], [1.0] * (BLOCKS - 1))  # the branch scale ignored
    if a2 != 1.0:
        assert measured[0] != pytest.approx(ignored[0], rel=0.5)


def test_zero_branches_keep_the_gradient_flat_and_shortcuts_that_drop_channels_pass_less() -> None:
    net = PreActMLP()
    initlab.init_(net, "zero_residual", generator=torch.Generator().manual_seed(0))
    x = torch.randn(BATCH, WIDTH, generator=torch.Generator().manual_seed(1))  # (B, W)
    g = torch.randn(BATCH, WIDTH, generator=torch.Generator().manual_seed(2))  # (B, W)
    ns = net.gradients(x, g)
    assert ns == pytest.approx([ns[-1]] * BLOCKS, rel=1e-12)
    assert ns == pytest.approx(theory.gradient_norms2(ns[-1], [0.0] * (BLOCKS - 1)), rel=1e-12)
    assert theory.gradient_norms2(2.0, [1.0, 1.0], keep=[1.0, 0.5]) == [6.0, 3.0, 2.0]
    with pytest.raises(initlab.InitlabError, match="2 shortcut fractions for 3 blocks"):
        theory.gradient_norms2(1.0, [1.0] * 3, keep=[1.0, 1.0])
