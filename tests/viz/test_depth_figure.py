"""The depth figure draws what the result holds: accuracy and initial signal per init against depth,
the deepest trainable depth ringed, 6 xi_c dotted where finite, the threshold dashed."""

from __future__ import annotations

import math

import initlab.viz.depth as viz
from initlab.studies import DepthConfig, DepthResult, DepthRow


def _result() -> DepthResult:
    cfg = DepthConfig(
        model="mlp(layers={depth}, width=8)", depths=(2, 10), inits=("A: he_normal", "B: lecun_normal")
    )
    rows = []
    for depth, acc_a, acc_b in ((2, 0.9, 0.8), (10, 0.85, 0.2)):
        for seed in (0, 1):
            rows.append(DepthRow(depth, "A", "A: he_normal", seed, 0.3, acc_a + 0.01 * seed, None, 0.5))
            rows.append(DepthRow(depth, "B", "B: lecun_normal", seed, 2.0, acc_b, None, 0.5 / depth))
    return DepthResult(cfg, tuple(rows), {"A": math.inf, "B": 8.5}, False, 1.0, {2: "3", 10: "19"})


def test_depth_figure_marks_the_deepest_trainable_depth_and_the_depth_scale() -> None:
    res = _result()
    assert res.deepest("A") == 10 and res.deepest("B") == 2
    fig = viz.depth_figure(res)
    acc, sig = fig.axes
    assert sig.get_yscale() == "log"
    rings = [ln for ln in acc.get_lines() if ln.get_marker() == "o" and ln.get_markersize() > 10]
    assert sorted((float(ln.get_xdata()[0]), round(float(ln.get_ydata()[0]), 3)) for ln in rings) == [
        (2.0, 0.8),
        (10.0, 0.855),
    ]
    dotted = [ln for ln in acc.get_lines() if ln.get_linestyle() == ":"]
    assert [float(ln.get_xdata()[0]) for ln in dotted] == [8.5]  # B only: A's 6 xi_c is infinite
    # the threshold: a dashed axhline (x in axes coordinates 0..1; an init may be dashed too)
    dashed = [ln for ln in acc.get_lines() if ln.get_linestyle() == "--" and list(ln.get_xdata()) == [0, 1]]
    assert [float(ln.get_ydata()[0]) for ln in dashed] == [0.5]
    assert res.figures()["depth"] is not None
