"""The depth study's findings, from results with known rows: where each init trains and falls to
chance, which inits train at each depth, the initial signal's collapse per layer, 6 xi_c against the
measured limit, and the runs that cannot support a ranking. Every number a sentence quotes is a
stored value of the findings."""

from __future__ import annotations

import json
import math

import pytest

from initlab.studies import DepthConfig, DepthResult, DepthRow
from initlab.studies.depth_findings import depth_facts, plain
from reproduce_helpers import unquoted

DEPTHS = (2, 5, 10, 20)


def result(
    acc: dict[str, list[float]],
    std: dict[str, list[float]],
    scale: dict[str, float | None],
    *,
    depths: tuple[int, ...] = DEPTHS,
    model: str = "mlp(layers={depth}, width=8)",
    partial: bool = False,
    diverged: dict[tuple[str, int], int] | None = None,
) -> DepthResult:
    """Two seeds per (depth, init), accuracies ``acc[label][k] -/+ 0.01``, signal ``std[label][k]``."""
    labels = list(acc)
    cfg = DepthConfig(model=model, depths=depths, inits=tuple(f"{a}: he_normal" for a in labels))
    rows = []
    for k, d in enumerate(depths[: len(next(iter(acc.values())))]):
        for a in labels:
            for s, wiggle in ((0, -0.01), (1, 0.01)):
                div = (diverged or {}).get((a, d), 0) > s
                rows.append(
                    DepthRow(
                        d, a, f"{a}: he_normal", s, 0.3, acc[a][k] + wiggle, 3 if div else None, std[a][k]
                    )
                )
    return DepthResult(cfg, tuple(rows), scale, partial, 1.0, {})


def test_mixed_run_ranks_the_inits_and_says_where_each_trains_and_collapses() -> None:
    res = result(
        {"He": [0.9, 0.8, 0.7, 0.55], "Xavier": [0.8, 0.4, 0.12, 0.1], "tiny": [0.11, 0.1, 0.1, 0.1]},
        {"He": [0.5, 0.5, 0.5, 0.5], "Xavier": [0.5, 0.2, 0.05, 0.005], "tiny": [1e-3, 1e-8, 1e-17, 1e-36]},
        {"He": math.inf, "Xavier": 8.66, "tiny": 1.2},
    )
    f = res.findings
    he, xavier, tiny = f.inits
    assert (he.deepest, he.fails_from, he.chance_from, he.signal_trend) == (20, None, None, "stable")
    assert (xavier.trains_at, xavier.fails_from, xavier.fails_accuracy_pct) == ((2,), 5, 40.0)
    assert xavier.chance_from == 10 and xavier.deepest_accuracy_pct == 80.0  # 12%: within 5 points of 10%
    assert tiny.deepest is None and tiny.fails_from == 2 and tiny.chance_from == 2
    assert xavier.signal_trend == "vanishing" and xavier.signal_change == 0.01
    assert xavier.signal_per_depth == pytest.approx(0.01 ** (1 / 18), abs=1e-3)  # per layer, 2 -> 20
    assert f.by_depth == ((2, ("He", "Xavier")), (5, ("He",)), (10, ("He",)), (20, ("He",)))
    assert res.deepest("He") == he.deepest and res.deepest("Xavier") == 2 and res.deepest("tiny") is None
    assert f.summary == (
        "Deepest trainable depth (mean test accuracy over 2 seeds above 50% after 300 iterations): "
        "`He` 20, `Xavier` 2, `tiny` none. `He` trains deepest."
    )
    assert xavier.statement.startswith(
        "`Xavier` trains at depth 2 (deepest 2: 80%); not at depth 5 (40%); at chance (at most 15%) from "
        "depth 10 on. Its signal std at initialization falls from 0.5 at depth 2 to 0.005 at depth 20, a "
        "factor 0.774 per layer: vanishing"
    )
    # 6 xi_c = 8.66 lies between grid depths 5 and 10; Xavier stops at 2: one grid step shallower
    assert (xavier.scale_between, xavier.scale_steps, xavier.scale_verdict) == ((5, 10), 1, "shallower")
    assert "`6 xi_c` = 8.66 lies between depths 5 and 10; it stops shallower than that, by 1 grid step" in (
        xavier.statement
    )
    # critical He trains at the deepest depth: mean-field theory's "no limit" agrees; tiny's 1.2 lies
    # below the shallowest depth and tiny trains nowhere: agrees too
    assert he.scale_verdict == "agrees" and "`6 xi_c` is infinite" in he.statement
    assert tiny.scale_between == (None, 2) and tiny.scale_verdict == "agrees"
    assert f.statements[-1] == (
        "Which inits train at each depth of `mlp(layers={depth}, width=8)`: 2: `He` and `Xavier`; "
        "5: `He`; 10: `He`; 20: `He`."
    )
    doc = res.to_dict()
    assert unquoted("\n".join(f.statements), doc["findings"]) == []  # every number quoted is stored
    assert unquoted(f.summary.replace("20,", "21,"), doc["findings"]) == ["21"]  # negative control
    assert depth_facts(json.loads(json.dumps(doc))).to_dict() == doc["findings"]  # from a saved file


@pytest.mark.parametrize(
    ("measured", "steps", "verdict"),
    [([0.8, 0.8, 0.1, 0.1], 0, "agrees"), ([0.8, 0.8, 0.8, 0.1], 1, "deeper"), ([0.1] * 4, 2, "shallower")],
)
def test_six_xi_c_against_the_measured_limit_within_the_grid(
    measured: list[float], steps: int, verdict: str
) -> None:
    (x,) = result({"X": measured}, {"X": [1.0] * 4}, {"X": 8.66}).findings.inits
    assert (x.scale_steps, x.scale_verdict) == (steps, verdict)
    words = {"agrees": "agrees within the grid's resolution", "deeper": "trains deeper than that"}
    assert words.get(verdict, "stops shallower than that, by 2 grid steps") in x.statement


def test_no_init_trains_the_run_cannot_rank() -> None:
    f = result({"A": [0.2, 0.1], "B": [0.3, 0.1]}, {"A": [1, 1], "B": [1, 1]}, {}, depths=(3, 6)).findings
    assert f.summary.startswith("No init trained at any depth of this run (depths 3, 6;")
    assert f.summary.endswith("the run cannot rank the inits by trainable depth.")
    assert "`A` trains at none of the depths (best: 20% at depth 3)" in f.statements[1]


def test_every_init_trains_everywhere_the_grid_cannot_separate_them() -> None:
    f = result({"A": [0.9, 0.8], "B": [0.9, 0.7]}, {"A": [1, 2], "B": [1, 30]}, {}, depths=(3, 6)).findings
    assert f.summary.startswith("Every init trained at every depth (depths 3, 6;")
    assert f.summary.endswith("this grid cannot separate them.")
    # B's signal grows 30-fold over 3 layers of a resnet-like unit: exploding; not mlp: per unit of depth
    g = result({"B": [0.9, 0.7]}, {"B": [1, 30]}, {}, depths=(3, 6), model="resnet(depth={depth})").findings
    assert g.inits[0].signal_trend == "exploding" and "per unit of depth: exploding" in g.inits[0].statement


def test_partial_run_divergence_and_overflow_are_said() -> None:
    res = result(
        {"A": [0.9, 0.2]},
        {"A": [1.0, math.inf]},
        {},
        depths=(2, 5, 10),
        partial=True,
        diverged={("A", 5): 2},
    )
    (a,) = res.findings.inits
    assert res.findings.summary.startswith("Partial run: 2 of 3 depths finished (depths 2, 5). ")
    assert a.signal_trend == "non-finite" and "overflowed (not finite) at depth 5" in a.statement
    assert "diverged: 2 of 2 seeds at depth 5" in a.statement
    assert plain(a.statement).startswith("A trains at depth 2 (deepest 2: 90%)")


def test_depths_given_in_any_order_are_read_shallowest_first() -> None:
    res = result({"A": [0.1, 0.9, 0.6]}, {"A": [1e-3, 1.0, 0.1]}, {}, depths=(30, 2, 10))
    (a,) = res.findings.inits
    assert res.findings.depths == (2, 10, 30) and [p.depth for p in a.points] == [2, 10, 30]
    assert (a.deepest, a.fails_from, a.chance_from) == (10, 30, 30)
    assert (a.signal_first, a.signal_last, a.signal_trend) == (1.0, 1e-3, "vanishing")


def test_trainable_is_decided_on_the_quoted_percentage() -> None:
    """50.004% is quoted as 50%, which is not above a 50% threshold: the finding and deepest() agree."""
    res = result({"A": [0.50004, 0.1]}, {"A": [1, 1]}, {}, depths=(2, 5))
    assert res.findings.inits[0].points[0].accuracy_pct == 50.0
    assert res.deepest("A") is None and res.findings.inits[0].deepest is None
