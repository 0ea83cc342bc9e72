"""The probe's predicted residual stream per block: flat for branches that start at zero (exact),
growing by (k + a^2) for He pre-activation blocks, linear with BatchNorm, absent where no rule applies;
and its gradient norm per block backwards from the last block: flat for zero branches, the same
growth for He blocks (the moment pass, checked against a per-pixel computation written here), none
with BatchNorm."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import initlab
from initlab.studies import ProbeResult


def _stream(res: ProbeResult, label: str) -> tuple[list[float], list[float | None], str | None]:
    run = next(r for r in res.runs if r.label == label)
    layers = [la for la in run.layers if la.role == "stream"]
    pred = [la.theory.std if la.theory is not None else None for la in layers]
    return [la.std[0] for la in layers], pred, run.theory_note


def _grads(res: ProbeResult, label: str) -> tuple[list[float], list[float]]:
    run = next(r for r in res.runs if r.label == label)
    layers = [la for la in run.layers if la.role == "stream"]
    pred = [la.theory.grad_norm if la.theory is not None else math.nan for la in layers]
    return [la.grad_norm[0] for la in layers if la.grad_norm is not None], pred


def test_zero_branches_predict_the_stream_exactly_and_he_branches_a_growing_one() -> None:
    res = initlab.probe(
        ["zero_residual", "fixup", "he_normal"],
        model="resnet(depth=14, width=8, norm=none, block=preact)",
        samples=8,
    )
    for label in ("zero_residual", "fixup"):
        got, pred, note = _stream(res, label)
        assert note is not None and "flat" in note
        assert pred[:2] == pytest.approx(got[:2], rel=1e-5)  # x + 0 within a stage: exactly flat
        # a stage transition keeps half the channels (new zeros) and every other pixel: the prediction
        # scales the moments by the channels kept; subsampling the pixels moves them a little
        assert pred == pytest.approx(got, rel=0.05)
        assert got[2] < got[1] and got[3] == pytest.approx(got[2], rel=1e-5)
    got_g, pred_g = _grads(res, "zero_residual")  # backwards: flat within a stage, from the last block
    assert pred_g[-1] == pytest.approx(got_g[-1], rel=1e-6)
    assert pred_g[-2] == pytest.approx(got_g[-2], rel=1e-5)
    # back through a stage transition: the padded channels, exactly 0, got no gradient from the
    # ReLU head, and the subsample is injective: the norm passes whole
    assert pred_g == pytest.approx(got_g, rel=1e-5)
    assert pred_g == pytest.approx([pred_g[-1]] * 6, rel=1e-12)
    assert _grads(res, "fixup")[1] == [0.0] * 6  # Fixup's zero classifier: no gradient reaches the stream
    got, pred, note = _stream(res, "he_normal")
    assert note is not None and "x(k + a^2)" in note
    assert all(p is not None for p in pred)
    assert pred[0] == pytest.approx(got[0], rel=1e-6)  # the first block is the measured start
    assert (
        pred[1] is not None
        and pred[0] is not None
        and (pred[1] / pred[0]) ** 2 == pytest.approx(1.9, rel=0.05)
    )


def test_batchnorm_branches_add_a_constant_and_post_activation_blocks_have_no_prediction() -> None:
    bn = initlab.probe(["he_normal"], model="resnet(depth=14, width=8, block=preact)", samples=8)
    _, pred, note = _stream(bn, "he_normal")
    assert note is not None and "De & Smith" in note
    q = [p * p for p in pred if p is not None]
    assert len(q) == 6 and 0.7 < q[1] - q[0] < 1.0  # + v per block, v = g_last/2 with padding counted
    assert note is not None and "no gradient prediction" in note
    assert all(math.isnan(g) for g in _grads(bn, "he_normal")[1])
    basic = initlab.probe(["he_normal"], model="resnet(depth=8, width=4, norm=none)", samples=4)
    _, pred, note = _stream(basic, "he_normal")
    assert pred == [None] * 3 and note is not None and "no prediction for post-activation" in note


def _box(q: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """He conv on second moments ``q: (C, H, W)``: 2 x the channels' mean summed over the taps inside
    the zero-padded input / 9 (``E[w^2] = 2 / (9 C)``), one output channel (all alike)."""
    k = torch.full((1, 1, 3, 3), 1.0 / 9, dtype=torch.float64)
    return 2.0 * F.conv2d(q.mean(dim=0)[None, None], k, stride=stride, padding=1)[0]  # (1, H', W')


def _blocks(q0: torch.Tensor, width: int, n: int) -> list[torch.Tensor]:
    """The expected second moment per channel and pixel after each pre-activation block (ReLU
    halves), written out for resnet(depth=6n+2, width, norm=none, block=preact) with He weights."""
    q, out = _box(q0).expand(width, -1, -1), []  # the stem: (w, 28, 28)
    for stage, c in enumerate((width, 2 * width, 4 * width)):
        for i in range(n):
            stride = 2 if stage and not i else 1
            f = _box(_box(q / 2, stride).expand(c, -1, -1) / 2).expand(c, -1, -1)  # (c, H', W')
            s = F.pad(q[:, ::stride, ::stride], (0, 0, 0, 0, 0, c - q.shape[0]))  # (c, H', W')
            q = s + f
            out.append(q)
    return out


def test_he_prediction_is_the_per_pixel_moment_map_forwards_and_its_transpose_backwards() -> None:
    x = torch.randint(0, 2, (4, 784), generator=torch.Generator().manual_seed(0)).double() * 2 - 1
    res = initlab.probe(
        ["he_normal"], model="resnet(depth=14, width=4, norm=none, block=preact)", inputs=x.float()
    )
    run = res.runs[0]
    layers = [la for la in run.layers if la.role == "stream"]
    assert all(la.theory is not None for la in layers)
    q_pred = [la.theory.q for la in layers if la.theory is not None]
    n_pred = [la.theory.grad_norm**2 for la in layers if la.theory is not None]
    q0 = torch.ones(1, 28, 28, dtype=torch.float64, requires_grad=True)  # x^2 = 1 exactly
    qs = _blocks(q0, 4, 2)
    want = [float(q.detach().mean()) for q in qs]
    assert [q / q_pred[0] for q in q_pred] == pytest.approx([w / want[0] for w in want], rel=1e-9)
    # the average tap share (a uniform stream) predicts less: the border pixels, which lose taps,
    # fall behind, and the interior, which keeps them all, comes to dominate
    tf = [initlab.theory.tap_fraction(n, 3, padding=1) ** 2 for n in (28, 14, 7)]
    down = [initlab.theory.tap_fraction(n, 3, 2, 1) ** 2 for n in (28, 14)]
    a2 = [tf[0] ** 2, down[0] * tf[1], tf[1] ** 2, down[1] * tf[2], tf[2] ** 2]
    uniform = initlab.theory.stream_variances(1.0, a2, keep=[1.0, 0.5, 1.0, 0.5, 1.0])
    assert q_pred[-1] / q_pred[0] > 1.05 * uniform[-1]
    # backwards: the transpose of the map from block l to the last, on a uniform gradient moment
    last = qs[-1]
    u = torch.full_like(last, 1.0 / last.numel())
    back = torch.autograd.grad([last], qs, [u])
    n_last = layers[-1].grad_norm
    assert n_last is not None and n_pred[-1] == pytest.approx(n_last[0] ** 2, rel=1e-9)  # the anchor
    assert n_pred == pytest.approx([n_pred[-1] * float(b.sum()) for b in back], rel=1e-9)
    assert n_pred[0] > 4 * n_pred[-1]  # the gradient grows going back


def test_a_transformer_with_zero_branches_is_flat_forwards_and_backwards() -> None:
    res = initlab.probe(["zero_residual", "depth_scaled"], model="vit(depth=3, dim=16, heads=2)", samples=4)
    got, pred, note = _stream(res, "zero_residual")  # two branches per block, both zero
    assert note is not None and "flat" in note
    assert pred == pytest.approx(got, rel=1e-5) and len(got) == 3
    got_g, pred_g = _grads(res, "zero_residual")
    assert pred_g == pytest.approx(got_g, rel=1e-5)
    _, pred, note = _stream(res, "depth_scaled")  # non-zero transformer branches: no rule
    assert pred == [None] * 3 and note is not None and "no prediction" in note
