"""Parity with torch.nn.init: same generator state, same values, wherever the rule is the same."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

import initlab
from initlab.schemes import fans

SHAPES = [(64, 32), (32, 64), (16, 8, 3), (16, 4, 3, 3), (8, 2, 3, 3, 3)]


def _ours(spec: str, shape: tuple[int, ...], seed: int = 7) -> Tensor:
    return initlab.scheme(spec).sample(shape, generator=torch.Generator().manual_seed(seed))


def _theirs(fn: Callable[..., Tensor], shape: tuple[int, ...], seed: int = 7, **kw: object) -> Tensor:
    t = torch.empty(shape)
    fn(t, generator=torch.Generator().manual_seed(seed), **kw)
    return t


CASES: list[tuple[str, Callable[..., Tensor], dict[str, object]]] = [
    ("normal(mean=0.5, std=0.3)", nn.init.normal_, {"mean": 0.5, "std": 0.3}),
    ("uniform(a=-2, b=2)", nn.init.uniform_, {"a": -2.0, "b": 2.0}),
    ("xavier_uniform", nn.init.xavier_uniform_, {}),
    ("xavier_normal(gain=1.5)", nn.init.xavier_normal_, {"gain": 1.5}),
    ("he_normal", nn.init.kaiming_normal_, {"nonlinearity": "relu"}),
    ("he_uniform", nn.init.kaiming_uniform_, {"nonlinearity": "relu"}),
    ("he_normal(mode=fan_out)", nn.init.kaiming_normal_, {"nonlinearity": "relu", "mode": "fan_out"}),
    (
        "he_uniform(nonlinearity=leaky_relu, negative_slope=0.1)",
        nn.init.kaiming_uniform_,
        {"nonlinearity": "leaky_relu", "a": 0.1},
    ),
    ("lecun_normal", nn.init.kaiming_normal_, {"nonlinearity": "linear"}),
    ("lecun_uniform", nn.init.kaiming_uniform_, {"nonlinearity": "linear"}),
    ("variance_scaling(scale=2, distribution=normal)", nn.init.kaiming_normal_, {"nonlinearity": "relu"}),
    ("orthogonal(gain=2)", nn.init.orthogonal_, {"gain": 2.0}),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("spec", "fn", "kw"), CASES, ids=[c[0] for c in CASES])
def test_bit_identical_to_torch(
    spec: str, fn: Callable[..., Tensor], kw: dict[str, object], shape: tuple[int, ...]
) -> None:
    assert torch.equal(_ours(spec, shape), _theirs(fn, shape, **kw))


def test_a_different_rule_gives_different_values() -> None:
    # negative control for the parity test above
    assert not torch.equal(_ours("xavier_normal", (64, 32)), _theirs(nn.init.kaiming_normal_, (64, 32)))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_trunc_normal_bounds_in_std_units(shape: tuple[int, ...]) -> None:
    ours = _ours("trunc_normal(mean=0.1, std=0.02, a=-2, b=2)", shape)
    theirs = _theirs(nn.init.trunc_normal_, shape, mean=0.1, std=0.02, a=0.1 - 0.04, b=0.1 + 0.04)
    assert torch.equal(ours, theirs)
    assert float(ours.min()) >= 0.06 and float(ours.max()) <= 0.14


@pytest.mark.parametrize("shape", [(8, 8), (6, 9), (8, 4, 3), (8, 4, 3, 3), (4, 4, 3, 3, 3)], ids=str)
def test_identity_is_eye_or_dirac(shape: tuple[int, ...]) -> None:
    ref = torch.empty(shape)
    if len(shape) == 2:
        nn.init.eye_(ref)
    else:
        nn.init.dirac_(ref)
    assert torch.equal(_ours("identity", shape), ref)


@pytest.mark.parametrize(("spec", "value"), [("zeros", 0.0), ("ones", 1.0), ("constant(value=-0.25)", -0.25)])
def test_constants(spec: str, value: float) -> None:
    ref = torch.empty(5, 7)
    nn.init.constant_(ref, value)
    assert torch.equal(_ours(spec, (5, 7)), ref)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fans_match_torch(shape: tuple[int, ...]) -> None:
    t = torch.empty(shape)
    assert fans(shape) == nn.init._calculate_fan_in_and_fan_out(t)
    assert fans((3, *shape), model_axis=True) == nn.init._calculate_fan_in_and_fan_out(t)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Linear(300, 50),
        lambda: nn.Conv2d(6, 16, 5),
        lambda: nn.Conv1d(4, 8, 3, groups=2),
    ],
    ids=["Linear", "Conv2d", "Conv1d-groups"],
)
def test_torch_default_equals_pytorch_constructor(make: Callable[[], nn.Module]) -> None:
    with torch.random.fork_rng():
        torch.manual_seed(3)
        ref = make()
    mod = make()
    initlab.init_(mod, "torch_default", generator=torch.Generator().manual_seed(3))
    for (name, p), (_, q) in zip(mod.named_parameters(), ref.named_parameters(), strict=True):
        assert torch.equal(p, q), name


def test_sparse_same_distribution_as_torch() -> None:
    # torch.nn.init.sparse_ draws zero positions from the global RNG; compare distributions instead
    ours = _ours("sparse(sparsity=0.3, std=0.5)", (200, 100))
    with torch.random.fork_rng():
        ref = _theirs(nn.init.sparse_, (200, 100), sparsity=0.3, std=0.5)
    assert torch.equal((ours == 0).sum(0), (ref == 0).sum(0))
    assert float(ours[ours != 0].std()) == pytest.approx(float(ref[ref != 0].std()), rel=0.05)
    assert math.ceil(0.3 * 200) == int((ours == 0).sum(0)[0])
