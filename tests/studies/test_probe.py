"""The probe: stacked computation vs each model alone, measurements vs mean-field theory, the classic
study's behaviours, degenerate and non-finite networks, bad input."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch

import initlab
from initlab.core import seeds as seed_streams
from initlab.core.io import to_jsonable
from initlab.ensemble.stack import Stack
from initlab.measure import stats
from initlab.studies import ProbeResult
from initlab.studies.probe import auto_range
from schema_helpers import validate


def _col(result: ProbeResult, label: str, key: str) -> list[float]:
    """A per-layer column of results.json for the spec with this label."""
    run = next(r for r in result.to_dict()["runs"] if r["label"] == label)
    return [la[key] for la in run["layers"]]


def _worst(result: ProbeResult, label: str, measured: str, predicted: str) -> float:
    """Largest relative gap between a measured column and its mean-field prediction."""
    pairs = zip(_col(result, label, measured), _col(result, label, predicted), strict=True)
    return max(abs(m / p - 1) for m, p in pairs)


# -- the stacked computation equals each model alone ---------------------------------------------


def test_stacked_probe_equals_each_model_alone() -> None:
    """Rebuild every (spec, seed) model as an nn.Sequential, feed it the documented input and
    cotangent, and recompute every statistic by hand."""
    inits = ["torch_default", "A: normal(std=0.3)"]
    act, width, depth, samples, seeds, seed = "tanh", 12, 3, 17, 2, 5
    res = initlab.probe(
        inits, act, layers=depth, width=width, samples=samples, seeds=seeds, seed=seed, bias=True, input_dim=9
    )
    x = torch.randn(samples, 9, generator=seed_streams.generator(seed, "inputs"))  # (B, D)
    g = torch.randn(samples, width, generator=seed_streams.generator(seed, "cotangents"))  # (B, H)
    for k, spec in enumerate(inits):
        run = res.runs[k]
        assert run.seeds == (seed, seed + 1)
        for s in range(seeds):
            model = Stack.from_schemes(
                [9] + [width] * depth, act, [spec], seed_streams.weight_seeds([seed + s]), activate_last=True
            )
            seq = model.to_sequential(0)
            h, pre = x, []
            for mod in seq:
                h = mod(h)
                if isinstance(mod, torch.nn.Linear):
                    h.retain_grad()
                    pre.append(h)
            (h * g).sum().backward()
            linears = [mod for mod in seq if isinstance(mod, torch.nn.Linear)]
            for i, layer in enumerate(run.layers):
                z = pre[i].detach()
                a = torch.tanh(z)
                dz, dw = pre[i].grad, linears[i].weight.grad
                assert dz is not None and dw is not None
                close = {"rel": 1e-4, "abs": 1e-7}
                assert layer.mean[s] == pytest.approx(a.double().mean().item(), **close)
                assert layer.std[s] == pytest.approx(a.double().std(correction=0).item(), **close)
                assert layer.preact_std[s] == pytest.approx(z.double().std(correction=0).item(), **close)
                assert layer.grad_std[s] == pytest.approx(dz.double().std(correction=0).item(), **close)
                assert layer.weight_grad_std[s] == pytest.approx(
                    dw.double().std(correction=0).item(), **close
                )
                sat = ((a <= -0.98) | (a >= 0.98)).double().mean().item()
                assert layer.saturated_fraction is not None and layer.saturated_fraction[s] == pytest.approx(
                    sat
                )
                lo, hi = run.hist_range
                counts = torch.histc(a.double().clamp(lo, hi), bins=run.bins, min=lo, max=hi) / a.numel()
                assert list(layer.histogram[s]) == pytest.approx(counts.tolist(), abs=2 / a.numel())


# -- measurements agree with mean-field theory in wide layers ------------------------------------

WIDE_TOL = 0.06  # relative; the largest gap seen at width 1000, 3 seeds is ~3%


@pytest.mark.slow  # width 1000 (or 20 layers x 500): a few seconds
@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid"])
def test_wide_layers_follow_mean_field_theory(act: str) -> None:
    inits = ["lecun_normal", "xavier_uniform", "torch_default"]
    res = initlab.probe(inits, act, layers=4, width=1000, samples=100, seeds=2, bias=True)
    for label in inits:
        for measured, predicted in [
            ("std", "theory_std"),
            ("preact_std", "theory_preact_std"),
            ("grad_std", "theory_grad_std"),
        ]:
            gap = _worst(res, label, measured, predicted)
            assert gap < WIDE_TOL, f"{act} {label} {measured}: {gap:.3f}"
        gap = _worst(res, label, "weight_grad_std", "theory_weight_grad_std")
        assert gap < 0.1, f"{act} {label} weight grads: {gap:.3f}"
        run = next(r for r in res.runs if r.label == label)
        assert run.theory_exact is True


@pytest.mark.slow  # width 1000 (or 20 layers x 500): a few seconds
def test_theory_for_the_wrong_scheme_does_not_match() -> None:
    """Negative control: LeCun's prediction misses He-initialised ReLU layers by far more than tolerated."""
    res = initlab.probe(["he_normal", "lecun_normal"], "relu", layers=4, width=1000, samples=100)
    he = _col(res, "he_normal", "std")
    lecun_theory = _col(res, "lecun_normal", "theory_std")
    assert max(abs(m / p - 1) for m, p in zip(he, lecun_theory, strict=True)) > 5 * WIDE_TOL
    assert _worst(res, "he_normal", "std", "theory_std") < WIDE_TOL


# -- the classic study's behaviours ---------------------------------------------------------------


def _log_slope(values: list[float]) -> float:
    """Least-squares slope of ln(value) against the layer number."""
    n = len(values)
    xs, ys = range(n), [math.log(v) for v in values]
    x_mean, y_mean = (n - 1) / 2, math.fsum(ys) / n
    return math.fsum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / math.fsum(
        (x - x_mean) ** 2 for x in xs
    )


@pytest.mark.slow  # width 1000 (or 20 layers x 500): a few seconds
def test_relu_he_keeps_std_and_lecun_halves_the_variance_per_layer() -> None:
    """Theory: He keeps q_l constant, LeCun halves it (std x 1/sqrt(2) per layer). At finite width each
    layer multiplies the variance by a random factor of relative sd ~sqrt(2/width) (6% at width 500),
    so the std wanders like a random walk around the trend: test the trend (slope of ln std per layer,
    its noise is ~0.01 here) and keep the band on the wander loose."""
    res = initlab.probe(["he_normal", "lecun_normal"], "relu", layers=20, width=500, samples=50, seeds=3)
    he = _col(res, "he_normal", "std")
    assert abs(_log_slope(he)) < 0.04, he
    assert all(0.6 < s / he[0] < 1.6 for s in he), he
    lecun = _col(res, "lecun_normal", "std")
    assert _log_slope(lecun) == pytest.approx(-math.log(2) / 2, abs=0.04), lecun
    per_layer = (lecun[-1] / lecun[0]) ** (1 / 19)
    assert per_layer == pytest.approx(1 / math.sqrt(2), rel=0.04)


def test_sigmoid_with_std_1_is_mostly_saturated() -> None:
    res = initlab.probe(["std=1: normal(std=1)", "Xavier: lecun_normal"], "sigmoid")
    sat = _col(res, "std=1", "saturated_fraction")
    assert min(sat) > 0.4 and sat[0] > 0.5, sat
    # theory: sigmoid(u) is within 0.01 of a bound when |u| > logit(0.99); u ~ N(0, q) with q = theory_q
    for layer, q in zip(sat, _col(res, "std=1", "theory_q"), strict=True):
        predicted = math.erfc(math.log(99) / math.sqrt(2 * q))
        assert layer == pytest.approx(predicted, abs=0.08)
    assert max(_col(res, "Xavier", "saturated_fraction")) < 0.01


@pytest.mark.slow  # width 1000 (or 20 layers x 500): a few seconds
def test_tanh_orthogonal_and_xavier_follow_theory_to_the_edge_of_chaos() -> None:
    res = initlab.probe(["orthogonal", "xavier_normal"], "tanh", layers=6, width=1000, samples=100)
    for label in ("orthogonal", "xavier_normal"):
        std, pred = _col(res, label, "std"), _col(res, label, "theory_std")
        assert _worst(res, label, "std", "theory_std") < WIDE_TOL
        assert all(b < a for a, b in itertools.pairwise(std))  # q_l -> 0 slowly (critical)
        assert all(b < a for a, b in itertools.pairwise(pred))
        run = next(r for r in res.runs if r.label == label)
        assert run.mean_field is not None and run.mean_field.regime == "critical"
    orth = next(r for r in res.runs if r.label == "orthogonal")
    assert orth.theory_exact is False  # orthogonal: approximate theory, flagged


# -- degenerate, non-finite, determinism ----------------------------------------------------------


def test_zero_weights_zero_everything() -> None:
    res = initlab.probe(["zeros"], "relu", layers=4, width=30, samples=50)
    for layer in res.runs[0].layers:
        d = layer.to_dict()
        assert d["std"] == 0 and d["mean"] == 0 and d["zero_fraction"] == 1 and d["dead_fraction"] == 1
        assert d["grad_std"] == 0 and d["weight_grad_std"] == 0 and d["nonfinite"] == 0
        assert d["theory_std"] is None  # a constant is not a variance-scaling scheme
    assert res.runs[0].mean_field is None


def test_nan_input_is_counted_not_fatal() -> None:
    x = torch.randn(20, 8, generator=torch.Generator().manual_seed(0))
    x[3, 2] = float("nan")
    res = initlab.probe(["he_normal", "xavier_normal"], "tanh", layers=3, width=10, inputs=x, seeds=2)
    for run in res.runs:
        for layer in run.layers:
            assert layer.nonfinite == (10, 10)  # the NaN row poisons all 10 units of that input, per seed
            assert all(math.isfinite(v) for v in layer.std)
    doc = json.loads(json.dumps(to_jsonable(res.to_dict()), allow_nan=False))
    validate(doc, "probe")
    assert doc["config"]["input"] == "tensor" and doc["config"]["samples"] == 20


def test_overflowing_init_completes_and_reports_nonfinite_per_layer() -> None:
    res = initlab.probe(["huge: normal(std=1e6)", "He: he_normal"], "relu", layers=8, width=50, samples=40)
    bad = _col(res, "huge", "nonfinite")
    assert bad[0] == 0 and bad[-1] > 0 and bad == sorted(bad), bad
    assert sum(_col(res, "He", "nonfinite")) == 0
    validate(json.loads(json.dumps(to_jsonable(res.to_dict()), allow_nan=False)), "probe")


def test_same_seed_same_bits_and_another_seed_differs() -> None:
    kwargs = {"layers": 3, "width": 40, "samples": 64, "seeds": 2}
    a = initlab.probe(["he_normal", "orthogonal"], "gelu", seed=3, **kwargs).to_dict()  # type: ignore[arg-type]
    b = initlab.probe(["he_normal", "orthogonal"], "gelu", seed=3, **kwargs).to_dict()  # type: ignore[arg-type]
    c = initlab.probe(["he_normal", "orthogonal"], "gelu", seed=4, **kwargs).to_dict()  # type: ignore[arg-type]
    assert a == b
    assert a["runs"][0]["layers"][0]["std"] != c["runs"][0]["layers"][0]["std"]


def test_a_spec_gets_the_same_numbers_whatever_else_is_probed() -> None:
    alone = initlab.probe(["he_normal"], "relu", layers=2, width=16, samples=32)
    together = initlab.probe(["lecun_normal", "he_normal"], "relu", layers=2, width=16, samples=32)
    assert alone.runs[0].layers[1].std == pytest.approx(together.runs[1].layers[1].std, rel=1e-6)


# -- histogram ranges ---------------------------------------------------------------------------


def test_histogram_range_fits_the_activation() -> None:
    kwargs = {"layers": 2, "width": 20, "samples": 50}
    assert initlab.probe(["he_normal"], "sigmoid", **kwargs).runs[0].hist_range == (0.0, 1.0)  # type: ignore[arg-type]
    assert initlab.probe(["he_normal"], "tanh", **kwargs).runs[0].hist_range == (-1.0, 1.0)  # type: ignore[arg-type]
    relu = initlab.probe(["he_normal", "normal(std=0.01)"], "relu", **kwargs)  # type: ignore[arg-type]
    (lo_a, hi_a), (lo_b, hi_b) = (r.hist_range for r in relu.runs)
    assert lo_a == lo_b == 0.0 and 1.0 < hi_a < 10 and hi_b < 0.2  # from 0 up, fitted per spec
    leaky = initlab.probe(["he_normal"], "leaky_relu", **kwargs).runs[0].hist_range  # type: ignore[arg-type]
    assert leaky[0] == -leaky[1]
    forced = initlab.probe(["he_normal"], "relu", hist_range=(0, 1), **kwargs)  # type: ignore[arg-type]
    layer = forced.runs[0].layers[0]
    assert forced.runs[0].hist_range == (0.0, 1.0) and layer.above_range[0] > 0.1


def test_auto_range_degenerate_inputs() -> None:
    assert auto_range((0.0, None), [torch.zeros(3, 4)]) == (0.0, 1.0)
    assert auto_range((None, None), [torch.full((3,), float("nan"))]) == (-1.0, 1.0)
    lo, hi = auto_range((None, None), [torch.full((5,), 2.0)])
    assert lo < 2.0 <= hi


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": 0}, "layers must be >= 1, got 0"),
        ({"width": -3}, "width must be >= 1, got -3"),
        ({"samples": 0}, "samples must be >= 1"),
        ({"seeds": 0}, "seeds must be >= 1"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"seed": 1.5}, "seed must be an integer, got 1.5"),
        ({"layers": 2.5}, "layers must be an integer"),
        ({"layers": True}, "layers must be an integer"),
        ({"bins": 0}, "bins must be >= 1"),
        ({"hist_range": (1, 0)}, "finite lo < hi"),
        ({"activation": "relux"}, "unknown activation 'relux'.*relu"),
        ({"inits": []}, "at least one init spec"),
        ({"inits": ["he_nromal"]}, "unknown scheme 'he_nromal'"),
        ({"inputs": torch.zeros(5)}, r"\(samples, features\) tensor, got \(5,\)"),
        ({"inputs": torch.zeros(5, 3), "samples": 4}, "samples=4 disagrees"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict[str, object], message: str) -> None:
    args = {"inits": ["he_normal"], "activation": "relu", "width": 4, "samples": 4, **kwargs}
    with pytest.raises(initlab.InitlabError, match=message):
        initlab.probe(**args)  # type: ignore[arg-type]


def test_stats_fast_path_equals_the_masked_path() -> None:
    """The shared stats module's all-finite fast path agrees with its masked path."""
    a = torch.randn(3, 40, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3 + 1
    b = a.clone()
    b[0, 0, 0] = float("inf")
    m_fast, s_fast = stats.finite_mean_std(a)
    m_mask, s_mask = stats.finite_mean_std(b)
    torch.testing.assert_close(m_fast[1:], m_mask[1:], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(s_fast[1:], s_mask[1:], rtol=1e-12, atol=1e-12)
