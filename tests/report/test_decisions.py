"""The report's decisions on hand-made inputs: criteria, recommendation, fastest init, and agreement
with the classic study -- including runs that disagree with it, where the report must say so."""

from __future__ import annotations

import math

import pytest
import synthetic

from initlab.report import decisions as dc
from initlab.report import derive
from initlab.report.build import FIGURES, render_markdown
from initlab.report.model import MnistRun, Probe, ProbeLayer, ProbeRun


def _run(label: str, stds: list[float | None], *, sat: float | None = None, dead: float = 0.0,
         nonfinite: int = 0) -> ProbeRun:  # fmt: skip
    layers = tuple(ProbeLayer(s, 1.0, 0.1, sat, dead, nonfinite) for s in stds)
    return ProbeRun(label, label.lower(), layers, 1.0, "critical")


def _probe(act: str, *runs: ProbeRun, ref: float = 0.627) -> Probe:
    return Probe(act, len(runs[0].layers), 100, 1000, 1, 100, ref, runs)


# -- criteria ---------------------------------------------------------------------------------------


def test_an_even_unsaturated_init_passes() -> None:
    v = dc.judge(_run("Xavier", [0.6, 0.58, 0.57, 0.57, 0.56], sat=0.01), 0.627)
    assert v.passes and v.problems == () and v.std_ratio == 1.07 and v.saturated_pct_max == 1.0


@pytest.mark.parametrize(
    ("run", "kind", "value", "layer"),
    [
        (_run("a", [0.6, 0.2, 0.2, 0.2, 0.2]), "uneven", 3.0, None),
        (_run("b", [0.6, 0.6, 0.6, 0.6, 0.6], sat=0.3), "saturated", 30.0, 1),
        (_run("c", [0.05, 0.05, 0.05, 0.05, 0.05]), "collapsed", 0.05, None),
        (_run("d", [0.6, 0.6, 0.6, 0.6, 0.6], dead=0.75), "dead", 75.0, 1),
        (_run("e", [0.6, 0.6, 0.6, 0.6, 0.6], nonfinite=2), "nonfinite", 10, None),
        (_run("f", [0.6, 0.0, 0.6, 0.6, 0.6]), "zero_std", None, None),
        (_run("g", [0.6, None, 0.6, 0.6, 0.6]), "zero_std", None, None),
    ],
)
def test_each_criterion_fails_an_init(
    run: ProbeRun, kind: str, value: float | None, layer: int | None
) -> None:
    v = dc.judge(run, 0.627)
    assert not v.passes
    assert [(p.kind, p.value, p.layer) for p in v.problems] == [(kind, value, layer)]


def test_limits_apply_to_the_quoted_numbers() -> None:
    assert dc.judge(_run("x", [0.6, 0.3, 0.3, 0.3, 0.3]), 0.627).passes  # ratio exactly 2
    assert dc.judge(_run("x", [0.6, 0.3, 0.3, 0.3, 0.2999]), 0.627).passes  # 2.0007, quoted 2
    assert not dc.judge(_run("x", [0.6, 0.3, 0.3, 0.3, 0.298]), 0.627).passes  # 2.01
    assert dc.judge(_run("x", [0.0627] * 5), 0.627).passes  # exactly a tenth: not collapsed


def test_recommendation_is_the_most_even_passing_init() -> None:
    rec = dc.recommend(
        _probe(
            "tanh",
            _run("std=0.01", [0.01, 1e-4, 1e-6, 1e-8, 1e-10]),
            _run("Xavier", [0.6, 0.5, 0.45, 0.4, 0.4]),
            _run("He", [0.7, 0.69, 0.69, 0.68, 0.68]),
        )
    )
    assert rec.recommended is not None and rec.recommended.label == "He"
    assert [v.label for v in rec.passed] == ["He", "Xavier"]
    assert rec.classic == "Xavier" and not rec.agrees_with_classic


def test_no_passing_init_recommends_nothing() -> None:
    rec = dc.recommend(
        _probe("relu", _run("a", [1.0, 0.1, 0.01, 1e-3, 1e-4]), _run("b", [1, 0.5, 0.2, 0.1, 0.01]))
    )
    assert rec.recommended is None and rec.passed == () and not rec.agrees_with_classic
    assert rec.most_even.label == "b"


# -- MNIST ------------------------------------------------------------------------------------------


def _mnist_run(label: str, reach: int | None, acc: float, n: int = 400) -> MnistRun:
    return MnistRun(label, label, tuple(synthetic.loss_curve(n, reach)), acc, None)


def test_fastest_needs_every_seed_to_reach_the_target() -> None:
    he = dc.mnist_scheme("He", [_mnist_run("He", 100, 0.95), _mnist_run("He", 120, 0.96)], 25)
    xavier = dc.mnist_scheme("Xavier", [_mnist_run("Xavier", 80, 0.94), _mnist_run("Xavier", None, 0.5)], 25)
    assert he.all_reached and he.iterations_to_target_min is not None
    assert he.iterations_to_target_min < he.iterations_to_target_max  # type: ignore[operator]
    assert xavier.reached == 1 and not xavier.all_reached
    assert dc.fastest([xavier, he]) is he
    assert [s.label for s in dc.by_speed([xavier, he])] == ["He", "Xavier"]
    assert dc.fastest([xavier]) is None


def test_accuracy_spread_is_the_sample_std_and_separation_compares_ranges() -> None:
    a = dc.mnist_scheme("a", [_mnist_run("a", 100, 0.95), _mnist_run("a", 100, 0.97)], 25)
    b = dc.mnist_scheme("b", [_mnist_run("b", 100, 0.94), _mnist_run("b", 100, 0.96)], 25)
    assert a.accuracy_pct == 96.0 and a.accuracy_spread_pct == round(math.sqrt(2), 2)
    assert dc.by_accuracy([b, a])[0] is a
    assert dc.separated([a, b]) is False  # 95 at worst against 96 at best: overlap
    c = dc.mnist_scheme("c", [_mnist_run("c", 100, 0.90), _mnist_run("c", 100, 0.91)], 25)
    assert dc.separated([a, c]) is True


# -- agreement with the classic study, through the whole report -------------------------------------


def test_a_run_that_agrees_says_so() -> None:
    f = derive(synthetic.results())
    assert f["departures"] == [] and f["agrees_with_classic"] is True
    md = render_markdown(synthetic.results(), set(FIGURES))[0]
    assert "On every point checked, this run agrees with the classic study." in md
    assert "As in the classic study, `He` learned fastest." in md
    assert "Departures" not in md and "departs" not in md


def test_a_run_that_disagrees_says_where() -> None:
    probes = synthetic.default_probes()
    probes["tanh"] = synthetic.probe_part(
        [
            synthetic.probe_run("std=0.01", [0.01, 1e-4, 1e-6, 1e-8, 1e-10], sat=0.0),
            synthetic.probe_run("Xavier", [0.6, 0.5, 0.45, 0.4, 0.4], sat=0.01),
            synthetic.probe_run("He", [0.7, 0.69, 0.69, 0.68, 0.68], sat=0.05),
        ]
    )
    doc = synthetic.results(
        probes=probes,
        reach={"std=0.01": None, "Xavier": 150, "He": 300},
        acc={"std=0.01": [0.11, 0.12], "Xavier": [0.95, 0.955], "He": [0.93, 0.935]},
    )
    f = derive(doc)
    assert f["agrees_with_classic"] is False and f["mnist"]["fastest"] == "Xavier"
    assert [r["agrees_with_classic"] for r in f["recommendations"]] == [True, True, False]
    assert len(f["departures"]) == 3
    md = render_markdown(doc, set(FIGURES))[0]
    assert "On every point checked" not in md
    assert "**Departures from the classic study.** For tanh the classic study recommends `Xavier`" in md
    assert "this run measured `He` as the better choice." in md
    assert "The classic study found `He` fastest; in this run `Xavier` reached 0.5 first." in md
    assert "this run measured `Xavier` first to a training loss of 0.5." in md
    assert "On MNIST `Xavier`, not `He`, ended most accurate." in md
    assert (
        "tanh: `He` (the largest per-layer std 1.03 times the smallest); the classic study says `Xavier`."
        in md
    )
    assert "in this run `He` kept the std more even: its ratio was 1.03 against 1.5 for `Xavier`." in md


def test_departures_are_typed() -> None:
    recs = [dc.recommend(_probe("relu", _run("Xavier", [0.6] * 5), _run("He", [0.6, 0.1, 0.1, 0.1, 0.1])))]
    found = dc.departures(recs, "Xavier", "He")
    assert found == [
        dc.Departure("recommendation", "He", "Xavier", "relu"),
        dc.Departure("fastest", "He", "Xavier"),
    ]
    assert not dc.agrees_with_classic(found, recs, True)
    assert dc.agrees_with_classic([], recs, True) and not dc.agrees_with_classic([], recs, False)
