"""Activation registry and gains: PyTorch's table, numerical gains, and their agreement."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import integrate

import initlab
from initlab.activations import activation, gain, match_activation


def test_registry_has_the_catalogue() -> None:
    expected = {"linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus"}
    assert expected | {"softsign", "mish"} <= set(initlab.activations())


@pytest.mark.parametrize(
    ("name", "torch_name", "kw"),
    [
        ("linear", "linear", {}),
        ("sigmoid", "sigmoid", {}),
        ("tanh", "tanh", {}),
        ("relu", "relu", {}),
        ("selu", "selu", {}),
        ("leaky_relu(negative_slope=0.2)", "leaky_relu", {"param": 0.2}),
    ],
)
def test_torch_gain_is_pytorchs(name: str, torch_name: str, kw: dict[str, float]) -> None:
    assert gain(name) == pytest.approx(torch.nn.init.calculate_gain(torch_name, **kw), rel=1e-12)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("relu", math.sqrt(2.0)), ("linear", 1.0), ("leaky_relu(negative_slope=0.3)", math.sqrt(2 / 1.09))],
)
def test_numerical_gain_agrees_where_definitions_coincide(name: str, expected: float) -> None:
    assert gain(name, method="numerical") == pytest.approx(expected, rel=1e-6)


def test_numerical_gain_differs_where_pytorch_chose_otherwise() -> None:
    # negative control: tanh's 5/3 is not the variance-preserving gain
    assert abs(gain("tanh", method="numerical") - 5 / 3) > 0.05


@pytest.mark.parametrize("name", initlab.activations())
def test_numerical_gain_preserves_second_moment(name: str) -> None:
    """Monte Carlo check of the quadrature: E[(g * phi(z))^2] == 1 for z ~ N(0, 1)."""
    g = gain(name, method="numerical")
    z = torch.randn(2_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    act = activation(name)
    assert float((g * act(z)).pow(2).mean()) == pytest.approx(1.0, rel=5e-3)


def test_gain_keyword_params_and_errors() -> None:
    assert gain("leaky_relu", negative_slope=0.2) == gain("leaky_relu(negative_slope=0.2)")
    with pytest.raises(initlab.InitlabError, match="did you mean: relu"):
        gain("rellu")
    with pytest.raises(initlab.InitlabError, match="PyTorch defines no gain for 'gelu'"):
        gain("gelu", method="torch")
    with pytest.raises(initlab.InitlabError, match="no parameter 'alpha'"):
        activation("relu(alpha=1)")


@pytest.mark.parametrize("name", initlab.activations())
def test_bounds_contain_the_function(name: str) -> None:
    act = activation(name)
    x = torch.linspace(-30, 30, 10001, dtype=torch.float64)
    y = act(x)
    lo, hi = act.bounds
    if lo is not None:
        assert float(y.min()) >= lo - 1e-3
    if hi is not None:
        assert float(y.max()) <= hi + 1e-9


@pytest.mark.parametrize("name", initlab.activations())
def test_second_moment_matches_an_independent_integrator(name: str) -> None:
    """The one quadrature rule (panels broken at 0) is exact to ~1e-15 here, including at the kinks of
    elu/selu/softsign, where the 201-node Gauss-Hermite rule it replaced was off by 1e-5 to 2e-4."""
    act = activation(name)

    def integrand(z: float) -> float:
        y = float(act(torch.tensor(z, dtype=torch.float64)))
        return y * y * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    ref, _ = integrate.quad(integrand, -12, 12, points=[0.0], limit=400, epsabs=1e-14, epsrel=1e-13)
    assert act.second_moment(1.0) == pytest.approx(ref, rel=1e-11)
    assert gain(name, method="numerical") == pytest.approx(1 / math.sqrt(ref), rel=1e-11)


class _NewGELU(torch.nn.Module):
    """Hugging Face's NewGELUActivation, written out (no transformers needed)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


@pytest.mark.parametrize(
    ("fn", "name"),
    [
        (torch.nn.Hardswish(), "hardswish"),
        (torch.nn.Hardsigmoid(), "hardsigmoid"),
        (_NewGELU(), "gelu_tanh"),
        (lambda x: x * torch.sigmoid(x), "silu"),  # timm's Swish, HF's SiLUActivation
        (lambda x: x * torch.sigmoid(1.702 * x), "quick_gelu"),
        (torch.nn.GELU(), "gelu"),
        (torch.nn.Mish(), "mish"),
        (torch.nn.ReLU6(), None),  # capped at 6: not relu, elementwise, unknown
    ],
)
def test_match_activation_by_values(fn: object, name: str | None) -> None:
    found = match_activation(fn)  # type: ignore[arg-type]
    assert found is not None and found.elementwise
    assert (found.activation.name if found.activation else None) == name
    assert found.unknown == (name is None)


def test_match_activation_rejects_what_is_not_elementwise_and_gives_unknown_gains() -> None:
    assert match_activation(lambda x: x.softmax(-1)) is None
    assert match_activation(torch.nn.LayerNorm(1601)) is None
    ident = match_activation(torch.nn.Identity())
    assert ident is not None and not ident.elementwise and ident.activation is not None
    quad = match_activation(lambda x: x + x * x / 4)
    assert quad is not None and quad.unknown
    assert quad.gain == pytest.approx((16 / 19) ** 0.5, rel=1e-9)  # E[(z + z^2/4)^2] = 1 + 3/16
