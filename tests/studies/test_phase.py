"""The phase study: the drawn chi_1 = 1 boundary against an independent bisection, the heatmap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from initlab import load_dataset
from initlab.data import Dataset
from initlab.studies.phase import PhaseConfig, PhaseDepthResult, PhaseResult, run
from initlab.studies.phase_init import measure_fixed_points

TINY = PhaseConfig(
    depth=2,
    width=6,
    iterations=3,
    batch_size=16,
    sigma_w2="1.5,2",
    sigma_b2="0:0.1:3",
    seeds=2,
    eval_size=50,
    resolution=6,
    init_width=50,
)


def _gauss(f: object) -> float:
    """E[f(z)], z ~ N(0, 1), by adaptive quadrature (scipy), independent of initlab's Gauss-Legendre."""
    val, _ = integrate.quad(
        lambda z: f(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -12, 12, limit=200
    )  # type: ignore[operator]
    return float(val)


def _tanh_sq(q: float) -> float:
    s = math.sqrt(q)
    return _gauss(lambda z: math.tanh(s * z) ** 2)


def _chi_1_minus_1(w: float, b: float) -> float:
    q = 1.0
    for _ in range(2000):  # the variance map iterated to its fixed point
        new = w * _tanh_sq(q) + b
        if abs(new - q) < 1e-13:
            break
        q = new
    return w * _gauss(lambda z: 1.0 / math.cosh(math.sqrt(q) * z) ** 4) - 1.0


@pytest.fixture(scope="module")
def result() -> PhaseResult:
    mnist: Dataset = load_dataset("mnist")
    return run(TINY, dataset=mnist)


def test_drawn_boundary_at_sigma_b2_005_within_1_percent_of_mean_field(result: PhaseResult) -> None:
    expected = optimize.brentq(lambda w: _chi_1_minus_1(w, 0.05), 1.0, 4.0, xtol=1e-10)
    assert expected == pytest.approx(1.7609, abs=2e-3)  # the reference itself (Schoenholz et al. Fig. 1)
    drawn = result.boundary_at(0.05)
    assert abs(drawn - expected) / expected < 0.01
    # negative control: the boundary a bit higher up is another sigma_w^2, beyond 1%
    assert abs(result.boundary_at(0.1) - expected) / expected > 0.01
    # the figure draws exactly these points
    fig = result.figure("phase")
    line = next(ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--")
    pts = [(b, w) for b, w in result.theory["boundary"]]
    assert np.allclose(line.get_xdata(), [w for _, w in pts]) and np.allclose(
        line.get_ydata(), [b for b, _ in pts]
    )


def test_heatmap_is_the_mean_over_seeds_of_the_stored_rows(result: PhaseResult) -> None:
    assert (result.sigma_w2, result.sigma_b2) == ([1.5, 2.0], [0.0, 0.05, 0.1])
    assert len(result.sweep.rows) == 2 * 3 * 2
    for i, b in enumerate(result.sigma_b2):
        for j, w in enumerate(result.sigma_w2):
            accs = [
                r["test_accuracy"]
                for r in result.sweep.rows
                if r["init_params"] == {"w": w, "b": b} and r["model"] == "mlp(layers=2, width=6, bias=true)"
            ]
            assert len(accs) == 2 and result.accuracy[i][j] == pytest.approx(sum(accs) / 2)
    doc = result.to_dict()
    assert doc["schema"] == "initlab.phase/1" and len(doc["theory"]["xi_c"]) == 6
    assert doc["test_accuracy"] == result.accuracy


def test_q_and_c_at_initialization_follow_the_mean_field_maps() -> None:
    points = [(0.5, 0.05), (2.0, 0.0), (4.0, 0.3)]  # ordered, chaotic without bias, chaotic with bias
    got = measure_fixed_points("tanh", 20, 500, points, seed=3)
    for p in got:
        assert p["q_measured"] == pytest.approx(p["q_theory"], rel=0.15), p  # one draw of 500-wide layers
        assert p["c_measured"] == pytest.approx(p["c_theory"], abs=0.06), p
    assert got[0]["c_theory"] == 1.0 and got[1]["c_theory"] == pytest.approx(0.0, abs=1e-9)
    # negative control: the chaotic network's q is not the ordered one's
    assert got[2]["q_measured"] > 3 * got[0]["q_theory"]


def test_fixed_points_figure_and_document(result: PhaseResult) -> None:
    assert len(result.initial) == 2 * 3
    fig = result.figure("fixed_points")
    assert len(fig.axes[0].collections[0].get_offsets()) == 6
    doc = result.to_dict()
    assert {"q_measured", "q_theory", "c_measured", "c_theory"} <= set(doc["initial"][0])


# -- the depth view: (sigma_w^2, depth L) at one sigma_b^2 ---------------------------------------------

DEPTH_TINY = PhaseConfig(
    view="depth",
    depths="1,3",
    width=6,
    iterations=3,
    batch_size=16,
    sigma_w2="1,2.5",
    seeds=2,
    eval_size=50,
    resolution=4,
)


@pytest.fixture(scope="module")
def depth_result() -> PhaseDepthResult:
    result = run(DEPTH_TINY, dataset=load_dataset("mnist"))
    assert isinstance(result, PhaseDepthResult)
    return result


def test_depth_view_trains_each_depth_and_averages_the_seeds(depth_result: PhaseDepthResult) -> None:
    r = depth_result
    assert (r.sigma_b2, r.sigma_w2, r.depths) == (0.05, [1.0, 2.5], [1, 3])  # sigma_b^2: the view's default
    assert len(r.sweep.rows) == 2 * 2 * 2 and {row["ensemble_models"] for row in r.sweep.rows} == {4}
    for i, d in enumerate(r.depths):
        for j, w in enumerate(r.sigma_w2):
            accs = [
                row["test_accuracy"]
                for row in r.sweep.rows
                if row["model"] == f"mlp(layers={d}, width=6, bias=true)" and row["init_params"]["w"] == w
            ]
            assert len(accs) == 2 and r.accuracy[i][j] == pytest.approx(sum(accs) / 2)
    doc = r.to_dict()
    assert (doc["view"], doc["depths"], doc["test_accuracy"]) == ("depth", [1, 3], r.accuracy)
    assert "initial" not in doc and r.figure_names() == ["phase_depth"]


def test_deepest_trained_and_agreement_count_the_grid(depth_result: PhaseDepthResult) -> None:
    r = depth_result
    fake = [[0.9, 0.2], [0.6, None]]  # rows depths 1, 3; columns sigma_w^2 1, 2.5
    other = PhaseDepthResult(r.config, r.sigma_b2, r.sigma_w2, r.depths, fake, r.theory, r.sweep)
    assert other.deepest_trained() == [3, None]
    limits = other.six_xi_c()  # 21.8 and 70.8: both depths within 6 xi_c
    assert limits[0] == pytest.approx(21.76, abs=0.01) and limits[1] > 3
    assert other.agreement() == {"points": 3, "agree": 2, "trained_beyond": 0, "failed_within": 1}


def test_drawn_six_xi_c_curve_is_the_theory(depth_result: PhaseDepthResult) -> None:
    from initlab.theory import xi_c

    fig = depth_result.figure("phase_depth")
    ax = fig.axes[0]
    (curve,) = [ln for ln in ax.get_lines() if "xi_c" in str(ln.get_label())]
    x, y = np.asarray(curve.get_xdata(), float), np.asarray(curve.get_ydata(), float)
    assert len(x) == 10 * 4 + 1 and x[0] == 1.0 and x[-1] == 2.5  # 10 x resolution, and the critical point
    want = np.array([6 * xi_c("tanh", w, 0.05) for w in x])
    finite = np.isfinite(want)
    assert np.allclose(y[finite], want[finite], rtol=1e-12) and np.isnan(y[~finite]).all()
    # independently of initlab (scipy quadrature): in the ordered phase xi_c = -1 / ln chi_1
    assert y[0] == pytest.approx(-6 / math.log(1 + _chi_1_minus_1(1.0, 0.05)), rel=1e-3)
    # the vertical line chi_1 = 1 at the bisection's sigma_w^2
    (line,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    expected = optimize.brentq(lambda w: _chi_1_minus_1(w, 0.05), 1.0, 4.0, xtol=1e-10)
    assert abs(line.get_xdata()[0] - expected) / expected < 1e-3


def test_depth_view_displays_its_grid_in_jupyter(depth_result: PhaseDepthResult) -> None:
    from html_helpers import has_row, pngs

    page = depth_result._repr_html_()
    assert page.startswith('<div class="initlab-result"><h4>initlab phase --view depth')
    assert has_row(
        page, "deepest trained", *("-" if v is None else str(v) for v in depth_result.deepest_trained())
    )
    assert len(pngs(page)) == 1
