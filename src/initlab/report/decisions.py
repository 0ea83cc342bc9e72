"""The report's decisions, as pure functions over the typed run (:mod:`initlab.report.model`).

Every number a decision reads is rounded first, exactly as the report quotes it
(:mod:`initlab.report.format`), so a ratio quoted as ``2`` is within a factor of 2.

Criteria for an init at initialization (Glorot & Bengio 2010 look for the same things in their
activation histograms):

* **even**: the largest per-layer activation std is at most ``STD_RATIO_LIMIT`` times the smallest;
* **not saturated** (sigmoid, tanh): no layer has more than ``SATURATED_LIMIT_PCT`` % of its outputs
  within 1% of a bound (the threshold of ``initlab.diagnose``);
* **not collapsed**: the last layer's std is at least ``COLLAPSE_FRACTION`` times the std of
  ``phi(z)``, ``z ~ N(0, 1)``;
* **alive and finite**: no layer with more than ``DEAD_LIMIT_PCT`` % dead units, no NaN/Inf.

An init passes when it meets all four (:func:`judge`); the recommendation for an activation is the
passing init with the smallest ratio (:func:`recommend`). Training speed (:func:`mnist_scheme`): the
first iteration at which the trailing moving average of the training loss over the compare study's
window is at most ``LOSS_TARGET`` (:func:`initlab.measure.series.first_at_most`); the fastest init is
the one whose every seed got there, earliest on average (:func:`fastest`). Where the run and the
classic study disagree is listed by :func:`departures`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..measure.series import final_mean, first_at_most, sample_std
from .format import dec, pct, plus_zero, sig
from .model import Mnist, MnistRun, Probe, ProbeRun

LOSS_TARGET = 0.5
STD_RATIO_LIMIT = 2
SATURATED_LIMIT_PCT = 25
DEAD_LIMIT_PCT = 50
COLLAPSE_FRACTION = 0.1
#: The classic study's conclusions, checked against this run.
CLASSIC_RECOMMENDATION = {"sigmoid": "Xavier", "tanh": "Xavier", "relu": "He"}
CLASSIC_FASTEST = "He"


def ratio(values: Sequence[float | None]) -> float | None:
    """max / min of positive finite values (None if any is missing, 0 or not finite).

    >>> ratio([0.5, 1.0]), ratio([1.0, 0.0])
    (2.0, None)
    """
    if not values or any(v is None or not math.isfinite(v) or v <= 0 for v in values):
        return None
    vals = [float(v) for v in values if v is not None]
    return max(vals) / min(vals)


# -- histograms -------------------------------------------------------------------------------------

ProblemKind = Literal["nonfinite", "zero_std", "uneven", "saturated", "collapsed", "dead"]


@dataclass(frozen=True)
class Problem:
    """A criterion an init failed: ``value`` is the quoted number (a count, ratio, % or std)."""

    kind: ProblemKind
    value: float | None = None
    layer: int | None = None  #: 1-based


@dataclass(frozen=True)
class Verdict:
    """One init under one activation, judged on its rounded numbers."""

    label: str
    spec: str
    chi_1: float | None
    regime: str | None
    std_per_layer: tuple[float | None, ...]
    mean_last_layer: float | None
    std_ratio: float | None
    grad_std_ratio: float | None
    saturated_pct_per_layer: tuple[float | None, ...] | None  #: None for an unbounded activation
    saturated_pct_max: float | None
    saturated_layer: int | None
    dead_pct_max: float
    dead_layer: int
    nonfinite: int
    last_std: float | None
    reference_std: float
    collapsed: bool
    problems: tuple[Problem, ...]

    @property
    def passes(self) -> bool:
        return not self.problems


def judge(run: ProbeRun, reference_std: float) -> Verdict:
    """Apply the four criteria to one probed init (``reference_std`` rounded as quoted)."""
    layers = run.layers
    raw = [la.std for la in layers]
    stds = tuple(sig(v) for v in raw)
    std_ratio = sig(ratio(raw))
    sat = tuple(pct(la.saturated_fraction) for la in layers)
    bounded = all(v is not None for v in sat)
    sat_max = max((v for v in sat if v is not None), default=None) if bounded else None
    sat_layer = sat.index(sat_max) + 1 if sat_max is not None else None
    dead = [pct(la.dead_fraction) or 0.0 for la in layers]
    nonfinite = sum(la.nonfinite for la in layers)
    last = stds[-1]
    collapsed = last is not None and last < COLLAPSE_FRACTION * reference_std
    problems: list[Problem] = []
    if nonfinite:
        problems.append(Problem("nonfinite", nonfinite))
    if std_ratio is None:
        problems.append(Problem("zero_std"))
    elif std_ratio > STD_RATIO_LIMIT:
        problems.append(Problem("uneven", std_ratio))
    if sat_max is not None and sat_max > SATURATED_LIMIT_PCT:
        problems.append(Problem("saturated", sat_max, sat_layer))
    if collapsed:
        problems.append(Problem("collapsed", last))
    if max(dead) > DEAD_LIMIT_PCT:
        problems.append(Problem("dead", max(dead), dead.index(max(dead)) + 1))
    return Verdict(
        label=run.label,
        spec=run.spec,
        chi_1=sig(run.chi_1),
        regime=run.regime,
        std_per_layer=stds,
        mean_last_layer=plus_zero(dec(layers[-1].mean, 2)),
        std_ratio=std_ratio,
        grad_std_ratio=sig(ratio([la.grad_std for la in layers])),
        saturated_pct_per_layer=sat if bounded else None,
        saturated_pct_max=sat_max,
        saturated_layer=sat_layer,
        dead_pct_max=max(dead),
        dead_layer=dead.index(max(dead)) + 1,
        nonfinite=nonfinite,
        last_std=last,
        reference_std=reference_std,
        collapsed=collapsed,
        problems=tuple(problems),
    )


@dataclass(frozen=True)
class Recommendation:
    """The verdicts of one activation's probe and what the run recommends."""

    activation: str
    reference_std: float
    verdicts: tuple[Verdict, ...]
    passed: tuple[Verdict, ...]  #: most even first
    recommended: Verdict | None
    classic: str | None  #: the classic study's recommendation

    @property
    def agrees_with_classic(self) -> bool:
        return self.recommended is not None and self.recommended.label == self.classic

    @property
    def classic_verdict(self) -> Verdict | None:
        """The classic study's init as this run judged it (None if it was not probed)."""
        return next((v for v in self.verdicts if v.label == self.classic), None)

    @property
    def most_even(self) -> Verdict:
        """The init with the smallest ratio, passing or not."""
        return min(self.verdicts, key=lambda v: v.std_ratio if v.std_ratio is not None else math.inf)


def recommend(probe: Probe) -> Recommendation:
    """Judge every init of ``probe``; recommend the most even of those that pass."""
    ref = sig(probe.reference_std) or 0.0
    verdicts = tuple(judge(run, ref) for run in probe.runs)
    passing = tuple(sorted((v for v in verdicts if v.passes), key=lambda v: v.std_ratio or 0.0))
    return Recommendation(
        activation=probe.activation,
        reference_std=ref,
        verdicts=verdicts,
        passed=passing,
        recommended=passing[0] if passing else None,
        classic=CLASSIC_RECOMMENDATION.get(probe.activation),
    )


# -- Xavier vs Glorot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlorotRow:
    activation: str
    xavier_std: tuple[float | None, ...]
    glorot_std: tuple[float | None, ...]
    ratio_layer1: float | None  #: Glorot / Xavier
    ratio_last: float | None


def glorot_row(probe: Probe) -> GlorotRow:
    """Std per layer under the book's Xavier and Glorot, and their ratio in the first and last layer."""
    x, g = probe.run("Xavier").layers, probe.run("Glorot").layers

    def over(a: float | None, b: float | None) -> float | None:
        return sig(a / b) if a and b else None

    return GlorotRow(
        activation=probe.activation,
        xavier_std=tuple(sig(la.std) for la in x),
        glorot_std=tuple(sig(la.std) for la in g),
        ratio_layer1=over(g[0].std, x[0].std),
        ratio_last=over(g[-1].std, x[-1].std),
    )


# -- MNIST ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Speed:
    """One init on MNIST over its seeds (losses to 3 decimals, accuracies in % to 2)."""

    label: str
    spec: str
    seeds: int
    diverged: int
    iterations_to_target: tuple[int | None, ...]  #: per seed
    reached: int
    iterations_to_target_mean: int | None
    iterations_to_target_min: int | None
    iterations_to_target_max: int | None
    final_loss: float | None
    accuracy_pct: float | None
    accuracy_spread_pct: float | None  #: sample std over seeds (measure.series.sample_std)
    accuracy_min_pct: float | None
    accuracy_max_pct: float | None

    @property
    def all_reached(self) -> bool:
        return self.reached == self.seeds


def mnist_scheme(label: str, runs: Sequence[MnistRun], window: int) -> Speed:
    """Iterations to ``LOSS_TARGET``, final loss and accuracy of one init's seeds."""
    reach = tuple(first_at_most(r.train_loss, LOSS_TARGET, window) for r in runs)
    hit = [v for v in reach if v is not None]
    ok = [r for r in runs if r.diverged_at is None]
    accs = [100 * r.test_accuracy for r in ok if r.test_accuracy is not None]
    tails = [v for v in (final_mean(r.train_loss, window) for r in ok) if v is not None]
    return Speed(
        label=label,
        spec=runs[0].spec,
        seeds=len(runs),
        diverged=len(runs) - len(ok),
        iterations_to_target=reach,
        reached=len(hit),
        iterations_to_target_mean=round(math.fsum(hit) / len(hit)) if hit else None,
        iterations_to_target_min=min(hit) if hit else None,
        iterations_to_target_max=max(hit) if hit else None,
        final_loss=dec(math.fsum(tails) / len(tails), 3) if tails else None,
        accuracy_pct=dec(math.fsum(accs) / len(accs), 2) if accs else None,
        accuracy_spread_pct=dec(sample_std(accs), 2) if accs else None,
        accuracy_min_pct=dec(min(accs), 2) if accs else None,
        accuracy_max_pct=dec(max(accs), 2) if accs else None,
    )


def mnist_schemes(mnist: Mnist) -> list[Speed]:
    """Every init of the MNIST comparison, in the study's order."""
    return [mnist_scheme(lb, [r for r in mnist.runs if r.label == lb], mnist.window) for lb in mnist.labels]


def _speed_key(s: Speed) -> tuple[int, float]:
    if s.all_reached:
        return 0, float(s.iterations_to_target_mean or 0)
    if s.reached:
        return 1, -s.reached
    return 2, s.final_loss if s.final_loss is not None else math.inf


def by_speed(schemes: Sequence[Speed]) -> list[Speed]:
    """Fastest first: every seed reached the target (earliest mean first), then some seeds (most
    first), then none (lowest final loss first)."""
    return sorted(schemes, key=_speed_key)


def fastest(schemes: Sequence[Speed]) -> Speed | None:
    """The init whose every seed reached the target, earliest on average (None if none did)."""
    order = by_speed(schemes)
    return order[0] if order and order[0].all_reached else None


def by_accuracy(schemes: Sequence[Speed]) -> list[Speed]:
    """Most accurate first (inits without an accuracy left out)."""
    return sorted((s for s in schemes if s.accuracy_pct is not None), key=lambda s: -(s.accuracy_pct or 0.0))


def separated(ranked: Sequence[Speed]) -> bool | None:
    """Every seed of the most accurate beat every seed of the runner-up (None with one seed or init)."""
    if len(ranked) < 2 or ranked[0].seeds <= 1:
        return None
    a, b = ranked[0], ranked[1]
    return float(a.accuracy_min_pct or 0.0) > float(b.accuracy_max_pct or 0.0)


# -- the classic study ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Departure:
    """A point where this run contradicts the classic study.

    ``recommendation``: for ``activation`` the run recommends ``measured`` (None: no init passed)
    instead of ``classic``; ``fastest``: ``measured`` reached the loss target first on MNIST;
    ``most_accurate``: ``measured`` ended most accurate on MNIST.
    """

    kind: Literal["recommendation", "fastest", "most_accurate"]
    classic: str
    measured: str | None
    activation: str | None = None


def departures(
    recs: Sequence[Recommendation], fastest_label: str | None, most_accurate_label: str | None
) -> list[Departure]:
    """Every departure from the classic study, in the report's order (recommendations, then MNIST)."""
    out = [
        Departure("recommendation", r.classic, r.recommended.label if r.recommended else None, r.activation)
        for r in recs
        if r.classic is not None and not r.agrees_with_classic
    ]
    if fastest_label is not None and fastest_label != CLASSIC_FASTEST:
        out.append(Departure("fastest", CLASSIC_FASTEST, fastest_label))
    if most_accurate_label is not None and most_accurate_label != CLASSIC_FASTEST:
        out.append(Departure("most_accurate", CLASSIC_FASTEST, most_accurate_label))
    return out


def agrees_with_classic(found: Sequence[Departure], recs: Sequence[Recommendation], mnist_ran: bool) -> bool:
    """True when nothing departs from the classic study and every part it is checked on ran."""
    return not found and bool(recs) and mnist_ran
