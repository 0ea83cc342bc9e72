"""The probe's predicted residual stream per block: flat for branches that start at zero (exact),
growing by (k + a^2) for He pre-activation blocks, linear with BatchNorm, absent where no rule applies."""

from __future__ import annotations

import pytest

import initlab
from initlab.studies import ProbeResult


def _stream(res: ProbeResult, label: str) -> tuple[list[float], list[float | None], str | None]:
    run = next(r for r in res.runs if r.label == label)
    layers = [la for la in run.layers if la.role == "stream"]
    pred = [la.theory.std if la.theory is not None else None for la in layers]
    return [la.std[0] for la in layers], pred, run.theory_note


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
    basic = initlab.probe(["he_normal"], model="resnet(depth=8, width=4, norm=none)", samples=4)
    _, pred, note = _stream(basic, "he_normal")
    assert pred == [None] * 3 and note is not None and "no prediction for post-activation" in note
