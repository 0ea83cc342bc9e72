"""Model families from spec strings: the mlp equals the Stack, specs are checked, user factories load."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from initlab.activations import activations
from initlab.core.errors import InitlabError
from initlab.core.seeds import weight_seeds
from initlab.ensemble import Ensemble, Stack, families, model_factory, residual_outputs

SPECS = ["he_normal", "xavier_uniform", "torch_default"]


def test_mlp_default_equals_the_compare_stack_bit_for_bit() -> None:
    """The compare study's models (Stack [784] + [100]*4 + [10]) and mlp() through an Ensemble."""
    seeds = weight_seeds([0, 1, 2])
    ens = Ensemble.from_factory(model_factory("mlp"), SPECS, seeds)
    stack = Stack.from_schemes([784] + [100] * 4 + [10], "relu", SPECS, seeds)
    assert len(stack.weights) == 5
    for layer in range(5):
        assert torch.equal(ens.params[f"{2 * layer}.weight"], stack.weights[layer])
        assert stack.biases is not None
        assert torch.equal(ens.params[f"{2 * layer}.bias"], stack.biases[layer])
    x = torch.rand(16, 784, generator=torch.Generator().manual_seed(0))  # (B, 784) flat MNIST-sized
    assert torch.equal(ens(x), stack(x))  # (M, B, 10)


@pytest.mark.parametrize("act", activations())
def test_every_registered_activation_builds_an_mlp(act: str) -> None:
    make = model_factory("mlp(layers=2, width=6, bias=false)", in_shape=(5,), classes=3, activation=act)
    ens = Ensemble.from_factory(make, ["lecun_normal"], [0])
    stack = Stack.from_schemes([5, 6, 6, 3], act, ["lecun_normal"], [0], bias=False)
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(1))  # (B, D)
    assert make.activation == act
    torch.testing.assert_close(ens(x), stack(x), rtol=0, atol=0)


def test_the_factory_reports_its_canonical_spec() -> None:
    make = model_factory("mlp(2, 8)", activation="leaky_relu(negative_slope=0.2)")
    assert make.spec == "mlp(layers=2, width=8, bias=true)"
    assert (make.family, make.params["width"], make.activation) == (
        "mlp",
        8,
        "leaky_relu(negative_slope=0.2)",
    )
    assert residual_outputs(make()) == []
    assert "mlp" in families()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mpl", "unknown model family 'mpl' (did you mean: mlp?)"),
        ("transformer", "families: cnn, mlp, resnet, vit, or PACKAGE.MODULE:FACTORY for your own"),
        (
            "mlp(widht=3)",
            "no parameter 'widht' in 'mlp(widht=3)' (did you mean: width?); it takes: mlp(layers=",
        ),
        ("mlp(width=2.5)", "width=2.5 in 'mlp(width=2.5)': must be an integer"),
        ("mlp(width=0)", "width=0 in 'mlp(width=0)': must be >= 1"),
        ("mlp(bias=3)", "must be true or false"),
        ("mlp(1, 2, 3, 4)", "takes 3 parameter(s)"),
        ("mlp(width=3", "missing ')'"),
        ("", "non-empty string"),
        ("no_such_module_xyz:make", "cannot import module 'no_such_module_xyz'"),
        ("initlab.ensemble:nothing_here", "has no attribute 'nothing_here'"),
        ("initlab.ensemble:BLOCK", "is not callable (a str)"),
    ],
)
def test_bad_specs_are_one_clear_error(spec: str, message: str) -> None:
    with pytest.raises(InitlabError) as err:
        model_factory(spec)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_activation_and_shapes() -> None:
    with pytest.raises(InitlabError, match="unknown activation 'rleu'"):
        model_factory("mlp", activation="rleu")
    with pytest.raises(InitlabError, match="in_shape"):
        model_factory("mlp", in_shape=(0, 28))
    with pytest.raises(InitlabError, match="classes must be >= 1"):
        model_factory("mlp", classes=0)


MODELS = """
import torch
from torch import nn

_calls = []

def good():
    return nn.Sequential(nn.Linear(784, 4), nn.ReLU(), nn.Linear(4, 10))

def growing():  # a different width on every call: not one architecture
    _calls.append(1)
    return nn.Linear(784, len(_calls))

def empty():
    return nn.Sequential(nn.ReLU())

def not_a_module():
    return 3

def fails():
    raise ValueError("no weights file")
"""


@pytest.fixture
def user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "user_models_fam.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    yield "user_models_fam"
    sys.modules.pop("user_models_fam", None)


def test_a_user_factory_from_the_current_folder(user_models: str) -> None:
    make = model_factory(f"{user_models}:good")
    assert (make.family, make.spec, make.activation) == ("factory", f"{user_models}:good", None)
    ens = Ensemble.from_factory(make, SPECS, [0, 1, 2])
    assert ens(torch.zeros(2, 784)).shape == (3, 2, 10)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("growing", "model 1 differs from model 0: weight (1, 784)"),
        ("empty", "no nn.Linear or nn.ConvNd layer"),
        ("not_a_module", "returned a int, not a torch.nn.Module"),
        ("fails", "calling user_models_fam:fails() failed: ValueError: no weights file"),
    ],
)
def test_bad_user_factories_are_ensemble_errors(user_models: str, name: str, message: str) -> None:
    make = model_factory(f"{user_models}:{name}")  # imported now, called per model
    with pytest.raises(InitlabError) as err:
        Ensemble.from_factory(make, SPECS, [0, 1, 2])
    assert message in str(err.value)
