"""Mean-field theory: against closed forms, against an independent integrator (scipy), and the
identities that define the depth scales (slopes of the maps by finite differences)."""

from __future__ import annotations

import math

import pytest
from scipy import integrate, optimize, special

import initlab
from initlab import theory

SQRT2PI = math.sqrt(2 * math.pi)


def _gauss(f, q: float) -> float:  # type: ignore[no-untyped-def]
    """Reference ``E[f(sqrt(q) z)]`` by adaptive quadrature (scipy), independent of initlab's rule."""
    s = math.sqrt(q)
    val, _ = integrate.quad(
        lambda z: f(s * z) * math.exp(-z * z / 2) / SQRT2PI, -12, 12, limit=200, points=[0]
    )
    return float(val)


REF = {  # phi and phi' written out by hand
    "tanh": (math.tanh, lambda x: 1 - math.tanh(x) ** 2),
    "sigmoid": (special.expit, lambda x: special.expit(x) * (1 - special.expit(x))),
    "relu": (lambda x: max(x, 0.0), lambda x: float(x > 0)),
    "elu": (lambda x: x if x > 0 else math.expm1(x), lambda x: 1.0 if x > 0 else math.exp(x)),
}


@pytest.mark.parametrize("act", sorted(REF))
@pytest.mark.parametrize("q", [0.01, 0.7, 4.0, 90.0])
def test_moments_match_an_independent_integrator(act: str, q: float) -> None:
    phi, dphi = REF[act]
    assert theory.second_moment(act, q) == pytest.approx(
        _gauss(lambda x: phi(x) ** 2, q), rel=1e-7, abs=1e-12
    )
    assert theory.activation_mean(act, q) == pytest.approx(_gauss(phi, q), rel=1e-7, abs=1e-12)
    assert theory.derivative_moment(act, q) == pytest.approx(_gauss(lambda x: dphi(x) ** 2, q), rel=1e-6)


@pytest.mark.parametrize(
    ("act", "sw2", "sb2"), [("tanh", 1.5, 0.05), ("tanh", 4.0, 0.0), ("sigmoid", 9.0, 0.1)]
)
def test_fixed_point_and_chi1_match_the_reference(act: str, sw2: float, sb2: float) -> None:
    phi, dphi = REF[act]

    def gap(q: float) -> float:
        return sw2 * _gauss(lambda x: phi(x) ** 2, q) + sb2 - q

    q_ref = optimize.brentq(gap, 1e-6, 100.0, xtol=1e-13)
    assert theory.fixed_point(act, sw2, sb2) == pytest.approx(q_ref, rel=1e-8)
    chi_ref = sw2 * _gauss(lambda x: dphi(x) ** 2, q_ref)
    assert theory.chi_1(act, sw2, sb2) == pytest.approx(chi_ref, rel=1e-6)


@pytest.mark.parametrize(("sw2", "sb2"), [(1.0, 0.5), (0.5, 0.2), (1.9, 0.01), (1.0, 0.0)])
def test_relu_closed_forms(sw2: float, sb2: float) -> None:
    # q -> sw2 q / 2 + sb2 is linear: q* = sb2 / (1 - sw2/2), chi_1 = sw2/2, both depth scales -1/ln(sw2/2)
    assert theory.variance_map("relu", 3.0, sw2, sb2) == pytest.approx(1.5 * sw2 + sb2, rel=1e-12)
    assert theory.fixed_point("relu", sw2, sb2) == pytest.approx(sb2 / (1 - sw2 / 2), abs=1e-12)
    assert theory.chi_1("relu", sw2, sb2) == pytest.approx(sw2 / 2, rel=1e-12)
    depth = -1 / math.log(sw2 / 2)
    assert theory.xi_q("relu", sw2, sb2) == pytest.approx(depth, rel=1e-9)
    assert theory.xi_c("relu", sw2, sb2) == pytest.approx(depth, rel=1e-9)
    assert theory.mean_field("relu", sw2, sb2).regime == "ordered"


def test_he_init_is_critical_and_beyond_it_the_variance_diverges() -> None:
    mf = theory.mean_field("relu", 2.0, 0.0, q0=3.0)
    assert mf.regime == "critical" and mf.q_star == pytest.approx(3.0) and mf.xi_c == math.inf
    for sw2, sb2 in [(2.5, 0.0), (2.0, 0.1)]:
        assert theory.fixed_point("relu", sw2, sb2) == math.inf
        mf = theory.mean_field("relu", sw2, sb2)
        assert mf.regime == "divergent" and math.isnan(mf.chi_1)


def test_linear_closed_forms() -> None:
    assert theory.fixed_point("linear", 0.5, 1.0) == pytest.approx(2.0)
    assert theory.chi_1("linear", 0.5, 1.0) == pytest.approx(0.5)
    assert theory.fixed_point("linear", 1.5, 0.0) == math.inf


def test_tanh_order_to_chaos_transition_without_bias() -> None:
    # sigma_b = 0: q* = 0 and chi_1 = sigma_w^2 tanh'(0)^2 = sigma_w^2 up to 1 (ordered), chaos above
    for sw2 in (0.5, 0.9):
        assert theory.fixed_point("tanh", sw2) == pytest.approx(0.0, abs=1e-12)
        assert theory.chi_1("tanh", sw2) == pytest.approx(sw2, rel=1e-9)
        assert theory.mean_field("tanh", sw2).regime == "ordered"
    assert theory.fixed_point("tanh", 1.0) < 1e-8  # critical: q_l ~ 1/(2l) converges slowly, still found
    assert theory.xi_c("tanh", 1.0) == math.inf
    chaotic = theory.mean_field("tanh", 2.0)
    assert chaotic.regime == "chaotic" and chaotic.chi_1 > 1
    assert chaotic.c_star == pytest.approx(0.0, abs=1e-9)  # odd phi, no bias: inputs decorrelate fully


@pytest.mark.parametrize(
    ("act", "sw2", "sb2"), [("tanh", 1.5, 0.05), ("tanh", 4.0, 0.05), ("sigmoid", 20.0, 0.1)]
)
def test_depth_scales_are_the_slopes_of_the_maps(act: str, sw2: float, sb2: float) -> None:
    """xi_q = -1/ln(dq_{l+1}/dq_l), xi_c = -1/ln(dc_{l+1}/dc_l) at the fixed points (finite differences)."""
    qs = theory.fixed_point(act, sw2, sb2)
    h = 1e-4 * qs
    slope_q = (theory.variance_map(act, qs + h, sw2, sb2) - theory.variance_map(act, qs - h, sw2, sb2)) / (
        2 * h
    )
    assert theory.xi_q(act, sw2, sb2) == pytest.approx(-1 / math.log(slope_q), rel=1e-4)

    cs = theory.correlation_fixed_point(act, sw2, sb2)
    if cs < 1:  # chaotic: c* is a fixed point of the correlation map
        assert theory.correlation_map(act, cs, sw2, sb2) == pytest.approx(cs, abs=1e-9)
        e = 1e-4
        lo, hi = theory.correlation_map(act, cs - e, sw2, sb2), theory.correlation_map(act, cs + e, sw2, sb2)
        slope_c = (hi - lo) / (2 * e)
    else:  # ordered: the slope at c = 1 is chi_1
        slope_c = theory.chi_1(act, sw2, sb2)
    assert theory.xi_c(act, sw2, sb2) == pytest.approx(-1 / math.log(slope_c), rel=1e-3)


def test_xi_c_peaks_at_the_edge_of_chaos() -> None:
    crit = optimize.brentq(lambda s: theory.chi_1("tanh", s, 0.05) - 1.0, 1.0, 3.0, xtol=1e-10)
    assert 1.5 < crit < 2.0
    near = theory.xi_c("tanh", crit * 1.01, 0.05)
    assert near > 50
    assert near > 5 * theory.xi_c("tanh", 1.2, 0.05) and near > 5 * theory.xi_c("tanh", 3.0, 0.05)


def test_layer_variances_from_schemes() -> None:
    he = theory.layer_variances("he_normal", (100, 300))
    assert he is not None and he.sigma_w2 == pytest.approx(2.0) and he.backward == pytest.approx(2.0 / 3)
    xu = theory.layer_variances("xavier_uniform", (100, 300))
    assert xu is not None and xu.sigma_w2 == pytest.approx(300 * 2 / 400) and xu.exact
    td = theory.layer_variances("torch_default", (50, 50), bias=True)
    assert td is not None and td.sigma_w2 == pytest.approx(1 / 3) and td.sigma_b2 == pytest.approx(1 / 150)
    td_off = theory.layer_variances("torch_default", (50, 50), bias=False)
    assert td_off is not None and td_off.sigma_b2 == 0.0
    orth = theory.layer_variances("orthogonal", (50, 50))
    assert orth is not None and orth.sigma_w2 == pytest.approx(1.0) and not orth.exact
    for spec in ("zeros", "ones", "constant(value=0.1)", "identity", "sparse", "normal(mean=1)"):
        assert theory.layer_variances(spec, (10, 10)) is None, spec


def test_predict_for_a_linear_network_is_exact() -> None:
    lv = theory.LayerVariances(sigma_w2=0.5, sigma_b2=0.25, backward=0.5, exact=True)
    preds = theory.predict("linear", [lv] * 3, input_second_moment=2.0, batch=10)
    assert [p.q for p in preds] == pytest.approx([1.25, 0.875, 0.6875])
    assert [p.grad_std for p in preds] == pytest.approx([0.5, math.sqrt(0.5), 1.0])
    # Var(dL/dW_1) = batch * E[(dL/dz_1)^2] * E[x^2]
    assert preds[0].weight_grad_std == pytest.approx(math.sqrt(10 * 0.25 * 2.0))


def test_bad_input() -> None:
    with pytest.raises(initlab.InitlabError, match="sigma_w"):
        theory.fixed_point("tanh", -1.0)
    with pytest.raises(initlab.InitlabError, match="sigma_b"):
        theory.chi_1("tanh", 1.0, math.nan)
    with pytest.raises(initlab.InitlabError, match="variance q"):
        theory.variance_map("tanh", -0.5, 1.0)
    with pytest.raises(initlab.InitlabError, match="correlation"):
        theory.correlation_map("tanh", 1.5, 2.0)
    with pytest.raises(initlab.InitlabError, match="did you mean"):
        theory.second_moment("tahn", 1.0)


@pytest.mark.parametrize("act", initlab.activations())
def test_every_activation_has_finite_theory(act: str) -> None:
    mf = theory.mean_field(act, 1.0, 0.05)
    assert mf.regime in {"ordered", "critical", "chaotic", "divergent"}
    if mf.regime != "divergent":
        assert math.isfinite(mf.q_star) and math.isfinite(mf.chi_1) and mf.xi_q >= 0 and mf.xi_c >= 0


def test_variance_scheme_gives_its_sigmas_to_the_theory() -> None:
    lv = theory.layer_variances("variance(w=1.5, b=0.05)", (50, 80), bias=True)
    assert lv is not None
    assert (lv.sigma_w2, lv.sigma_b2) == (pytest.approx(1.5), pytest.approx(0.05))
    assert lv.backward == pytest.approx(1.5 * 50 / 80)
    off = theory.layer_variances("variance(w=1.5, b=0.05)", (50, 80), bias=False)
    assert off is not None and off.sigma_b2 == 0.0


def test_critical_sigma_w2_is_where_chi_1_is_one() -> None:
    assert theory.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-6)
    w = theory.critical_sigma_w2("tanh", 0.05)
    assert theory.chi_1("tanh", w, 0.05) == pytest.approx(1.0, abs=1e-7)
    assert theory.chi_1("tanh", 0.99 * w, 0.05) < 1.0 < theory.chi_1("tanh", 1.01 * w, 0.05)
    assert math.isnan(theory.critical_sigma_w2("tanh", 0.05, high=1.5))  # no crossing below 1.5
    with pytest.raises(initlab.InitlabError, match="sigma_b"):
        theory.critical_sigma_w2("tanh", -1.0)
