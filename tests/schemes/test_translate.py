"""``translate``: every catalogue scheme to every framework, and the torch code run against ``init_``.

The torch translation is executed (``exec``) on a fresh tensor under ``torch.manual_seed(s)`` and
compared bit for bit with ``init_`` under ``torch.Generator().manual_seed(s)`` (the two streams are
the same) wherever it claims ``same_values``. The other frameworks are checked by drawing from them
in ``test_translate_interop.py`` (optional dependencies).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

import initlab
from initlab.schemes import SCHEMES, TARGETS, Normal, Translation, translate, translations

#: The catalogue with its defaults, plus the parameters that change a translation.
SPECS: list[str] = [
    *initlab.schemes(),
    "constant(value=-1.25)",
    "normal(mean=0.5, std=0.3)",
    "uniform(a=-2, b=2)",
    "trunc_normal(std=0.02)",
    "trunc_normal(mean=1, std=2, a=-1, b=3)",
    "trunc_normal(a=3, b=4)",
    *[
        f"variance_scaling(scale=2, mode={mode}, distribution={dist})"
        for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
        for dist in ("normal", "truncated_normal", "uniform")
    ],
    "xavier_uniform(gain=1.5)",
    "xavier_normal(gain=1.5)",
    "he_normal(mode=fan_out)",
    "he_uniform(nonlinearity=leaky_relu, negative_slope=0.1)",
    "he_normal(nonlinearity=gelu, mode=fan_out)",
    "he_uniform(nonlinearity=tanh)",
    "he_normal(nonlinearity=selu)",
    "orthogonal(gain=2)",
    "sparse(sparsity=0.5, std=1)",
    "variance(w=1.7, b=0.05)",
]
SHAPES = [(64, 32), (32, 64), (16, 4, 3, 3), (8, 2, 3, 3, 3)]


def _run_torch(t: Translation, w: Tensor, b: Tensor | None = None, seed: int = 7) -> None:
    assert t.code is not None
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(seed)
        exec(t.code, {"torch": torch, "math": math, "w": w, "b": b})
        if b is not None and t.bias is not None:
            exec(t.bias, {"torch": torch, "math": math, "w": w, "b": b, "bound": _bound(w)})


def _bound(w: Tensor) -> float:
    return 1.0 / math.sqrt(w[0].numel())


@pytest.mark.parametrize("spec", SPECS)
def test_every_scheme_translates_to_every_framework(spec: str) -> None:
    found = translations(spec)
    assert [t.target for t in found] == list(TARGETS)
    for t in found:
        assert t.spec == initlab.scheme(spec).spec
        assert t.exact == (t.code is not None and t.exact)
        assert t.code is not None or any("no exact equivalent" in n for n in t.notes), t
        assert t.layout and t.usage
        assert not t.same_values or t.target == "torch"
        assert t.to_dict()["code"] == t.code


#: (spec, shape) pairs for the torch code; sparse is 2-D only; module-aware schemes have no tensor code
TORCH_CASES = [
    (spec, shape)
    for spec in SPECS
    for shape in SHAPES
    if (len(shape) == 2 or "sparse" not in spec) and not initlab.scheme(spec).info.module_aware
]


@pytest.mark.parametrize(("spec", "shape"), TORCH_CASES, ids=[f"{s}-{sh}" for s, sh in TORCH_CASES])
def test_torch_code_gives_init_s_values(spec: str, shape: tuple[int, ...]) -> None:
    t = translate(spec, "torch")
    ours = torch.empty(shape)
    initlab.init_(ours, spec, generator=torch.Generator().manual_seed(7))
    theirs = torch.full(shape, float("nan"))
    if not t.exact:  # an interval beyond 2 std: torch itself warns that its values may be wrong
        with pytest.warns(UserWarning, match="more than 2 std"):
            _run_torch(t, theirs)
        return
    _run_torch(t, theirs)
    if t.same_values:
        assert torch.equal(ours, theirs), (spec, t.code)
    elif t.exact:  # the same law, other values (sparse_'s zero positions come from the global RNG)
        assert abs(float(theirs.std()) - float(ours.std())) < 0.2 * float(ours.std())
        assert float((theirs == 0).float().mean()) == float((ours == 0).float().mean())


def test_torch_default_code_draws_weight_and_bias_as_init_does() -> None:
    t = translate("torch_default", "torch")
    assert t.same_values and t.bias == "torch.nn.init.uniform_(b, -bound, bound)"
    ours, theirs = nn.Linear(30, 20), nn.Linear(30, 20)
    initlab.init_(ours, "torch_default", generator=torch.Generator().manual_seed(3))
    _run_torch(t, theirs.weight, theirs.bias, seed=3)
    assert torch.equal(ours.weight, theirs.weight) and torch.equal(ours.bias, theirs.bias)


def test_variance_code_draws_weight_and_bias_as_init_does() -> None:
    t = translate("variance(w=1.7, b=0.05)", "torch")
    assert t.same_values and t.bias == "torch.nn.init.normal_(b, 0.0, math.sqrt(0.05))"
    ours, theirs = nn.Linear(30, 20), nn.Linear(30, 20)
    initlab.init_(ours, "variance(w=1.7, b=0.05)", generator=torch.Generator().manual_seed(3))
    _run_torch(t, theirs.weight, theirs.bias, seed=3)
    assert torch.equal(ours.weight, theirs.weight) and torch.equal(ours.bias, theirs.bias)
    assert translate("variance(w=2)", "torch").bias == "torch.nn.init.zeros_(b)"
    assert "stddev=0.223606797749979" in str(translate("variance(w=1, b=0.05)", "keras").bias)


def test_a_wrong_rule_would_be_caught() -> None:
    # negative control: the comparison above tells Kaiming's gain 1 from gain sqrt 2, and the
    # untruncated normal from the truncated one
    ours = torch.empty(64, 32)
    initlab.init_(ours, "lecun_normal", generator=torch.Generator().manual_seed(7))
    for wrong in ("he_normal", "variance_scaling(scale=1, distribution=truncated_normal)"):
        theirs = torch.empty(64, 32)
        _run_torch(translate(wrong, "torch"), theirs)
        assert not torch.equal(ours, theirs)


def test_the_issue_s_examples() -> None:
    assert translate("trunc_normal(std=0.02)", "torch").code == (
        "torch.nn.init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)"
    )
    jax = translate("lecun_normal", "jax")
    assert jax.exact and jax.code == 'jax.nn.initializers.variance_scaling(1.0, "fan_in", "normal")'
    assert any("lecun_normal() is not the same" in n and "0.87962566103423978" in n for n in jax.notes)
    keras = translate("xavier_normal", "keras")
    assert keras.code is not None and 'distribution="untruncated_normal"' in keras.code
    assert "(in, out)" in translate("he_normal", "flax").layout and "HWIO" in jax.layout


@pytest.mark.parametrize(
    ("spec", "target"),
    [
        ("sparse", "jax"),
        ("sparse", "flax"),
        ("sparse", "keras"),
        ("trunc_normal(a=0, b=1)", "keras"),
        ("variance_scaling(mode=fan_geo_avg)", "keras"),
    ],
)
def test_no_exact_equivalent_is_said_plainly(spec: str, target: str) -> None:
    t = translate(spec, target)
    assert t.code is None and not t.exact
    assert any(n.startswith("no exact equivalent") for n in t.notes)


def test_far_tails_are_not_claimed_exact() -> None:
    for target in ("torch", "jax"):
        t = translate("trunc_normal(a=8, b=9)", target)
        assert not t.exact and not t.same_values
        assert translate("trunc_normal(a=1.5, b=9)", target).exact


def test_bad_input_is_one_readable_error() -> None:
    with pytest.raises(initlab.InitlabError, match=r"unknown framework 'jaxx' \(did you mean: jax"):
        translate("he_normal", "jaxx")
    with pytest.raises(initlab.InitlabError, match="unknown scheme 'he_nromal'"):
        translate("he_nromal", "torch")

    @initlab.register_scheme(distribution="normal", formula="1", reference="-", needs_fans=False)
    def translate_test_plugin(shape: tuple[int, ...]) -> Normal:
        return Normal(1.0)

    try:
        with pytest.raises(initlab.InitlabError, match="no translation for scheme 'translate_test_plugin'"):
            translate("translate_test_plugin", "jax")
    finally:
        SCHEMES.remove("translate_test_plugin")
