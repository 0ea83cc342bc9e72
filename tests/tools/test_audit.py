"""initlab.audit: which scheme each weight came from (a confusion matrix over the registry), warnings."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import initlab
from diagnose_models import mlp
from initlab.schemes import Law, Orthogonal
from initlab.tools import identify, nice

#: Shapes where the catalogue's candidates differ (fan_in != fan_out, conv receptive field).
SHAPES = [(64, 256), (32, 16, 3, 3)]
EXTRA = ["normal(std=0.02)", "uniform(a=-2, b=2)", "trunc_normal(std=0.5)", "orthogonal(gain=2)"]
EXTRA += ["constant(value=-0.3)", "he_normal(mode=fan_out)", "variance_scaling(scale=2)"]


def _same_law(a: Law, b: Law) -> bool:
    """Equal distributions (what matters when several names give the same law on a shape)."""
    if a.kind == "delta_orthogonal" and len(getattr(a, "shape", ())) == 2:  # a plain orthogonal matrix
        a = Orthogonal(a.gain, a.shape)  # type: ignore[union-attr]
    if b.kind == "delta_orthogonal" and len(getattr(b, "shape", ())) == 2:
        b = Orthogonal(b.gain, b.shape)  # type: ignore[union-attr]
    if a.kind != b.kind:
        return False
    tol = 0.015 * max(b.std, 1e-12)  # fitted parameters are rounded within 3 sampling errors
    ok = abs(a.std - b.std) <= tol and abs(a.mean - b.mean) <= tol + 1e-12
    if a.kind == "uniform":
        ok = ok and abs(a.low - b.low) <= tol and abs(a.high - b.high) <= tol
    if a.kind == "constant":
        ok = a.value == b.value
    if a.kind in ("orthogonal", "delta_orthogonal"):
        ok = math.isclose(a.gain, b.gain, rel_tol=1e-3)  # type: ignore[union-attr]
    return ok


def _cases() -> list[tuple[str, tuple[int, ...]]]:
    out = []
    for shape in SHAPES:
        for spec in initlab.schemes() + EXTRA:
            if spec == "sparse" and len(shape) != 2:
                continue  # sparse is 2-D only
            out.append((spec, shape))
    return out


@pytest.mark.parametrize(("spec", "shape"), _cases())
def test_audit_recognises_every_catalogue_scheme(spec: str, shape: tuple[int, ...]) -> None:
    layer = nn.Linear(shape[1], shape[0]) if len(shape) == 2 else nn.Conv2d(shape[1], shape[0], shape[2])
    initlab.init_(layer, spec, generator=torch.Generator().manual_seed(7))
    entry = initlab.audit(layer).of("weight")
    truth = initlab.scheme(spec).law(shape)
    found = initlab.scheme(entry.scheme).law(shape)
    assert _same_law(found, truth), f"{spec} on {shape} audited as {entry.scheme}"
    assert entry.confidence > 0.9, f"{spec} on {shape}: {entry.scheme} with confidence {entry.confidence}"


def test_confusion_matrix_is_diagonal_up_to_equivalent_laws() -> None:
    """The whole matrix at once, printed on failure; a wrong guess anywhere is a miss."""
    misses = []
    g = torch.Generator().manual_seed(0)
    for spec, shape in _cases():
        got = identify(initlab.scheme(spec).sample(shape, generator=g))
        if not _same_law(initlab.scheme(got.spec).law(shape), initlab.scheme(spec).law(shape)):
            misses.append(f"{spec}{shape} -> {got.spec}")
    assert not misses, misses


def test_equivalent_schemes_are_listed_and_named_once() -> None:
    w = initlab.scheme("lecun_normal").sample((100, 100), generator=torch.Generator().manual_seed(0))
    got = identify(w)  # xavier_normal == lecun_normal when fan_in == fan_out
    assert got.spec == "xavier_normal" and "lecun_normal" in got.equivalent


def test_negative_control_a_mismatched_scale_is_not_a_catalogue_scheme() -> None:
    w = initlab.scheme("he_normal").sample((64, 256), generator=torch.Generator().manual_seed(0)) * 1.1
    got = identify(w)
    assert got.spec.startswith("normal(std=")  # 10% off He is far outside the sampling error
    assert abs(initlab.scheme(got.spec).law((64, 256)).std - 1.1 * math.sqrt(2 / 256)) < 0.002


def test_small_weights_get_low_confidence() -> None:
    w = initlab.scheme("lecun_normal").sample((6, 5), generator=torch.Generator().manual_seed(0))
    assert identify(w).confidence < 0.9


def test_nice_rounds_within_three_sampling_errors() -> None:
    assert nice(0.020031, 0.0001) == 0.02
    assert nice(-0.0019, 0.001) == 0.0
    assert nice(0.08839, 0.0004) == 0.088


# -- warnings ------------------------------------------------------------------------------------------


def test_warns_pytorch_default_in_front_of_relu_with_the_measured_factor() -> None:
    model = mlp(20, 100)
    initlab.init_(model, "torch_default", generator=torch.Generator().manual_seed(0))
    report = initlab.audit(model)
    assert all(w.scheme == "torch_default" and w.followed_by == "relu" for w in report.weights)
    (warn,) = [w for w in report.warnings if w.kind == "torch_default_relu"]
    assert warn.factor == pytest.approx(1 / 6, rel=0.03)  # measured: 0.167
    assert "6x per layer" in warn.message and len(warn.weights) == 20
    # negative controls: He init, and a shallow stack
    initlab.init_(model, "auto", generator=torch.Generator().manual_seed(0))
    assert not initlab.audit(model).warned("torch_default_relu")
    shallow = mlp(3, 100)
    initlab.init_(shallow, "torch_default", generator=torch.Generator().manual_seed(0))
    assert not initlab.audit(shallow).warned("torch_default_relu")
    normed = nn.Sequential(*[m for _ in range(8) for m in (nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU())])
    initlab.init_(normed, "torch_default", generator=torch.Generator().manual_seed(0))
    report = initlab.audit(normed)  # BatchNorm undoes the scale: not the deep-stack mistake
    assert report.of("0.weight").followed_by == "relu" and not report.warned("torch_default_relu")
    tanh = mlp(20, 100, nn.Tanh)
    initlab.init_(tanh, "torch_default", generator=torch.Generator().manual_seed(0))
    assert not initlab.audit(tanh).warned("torch_default_relu")


def test_warns_trunc_normal_with_absolute_bounds_only_where_they_cut() -> None:
    g = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 64), nn.GELU(), nn.Linear(64, 256))
    for layer in (model[0], model[2]):
        nn.init.trunc_normal_(layer.weight, std=0.02, generator=g)  # bounds a=-2, b=2: never reached
    report = initlab.audit(model)
    assert report.of("0.weight").scheme == "normal(std=0.02)"
    assert not report.warned("trunc_normal_absolute")  # indistinguishable from normal_(std=0.02)
    for layer in (model[0], model[2]):
        nn.init.trunc_normal_(layer.weight, std=1.0, generator=g)  # +-2 absolute = +-2 std: cut
    report = initlab.audit(model)
    (warn,) = [w for w in report.warnings if w.kind == "trunc_normal_absolute"]
    assert warn.weights == ("0.weight", "2.weight") and "a=-2*std, b=2*std" in warn.message
    assert report.of("0.weight").scheme == "trunc_normal(std=1)" and report.of("0.weight").absolute_bounds
    # negative control: truncated at +-2 std as intended, far inside +-2
    for layer in (model[0], model[2]):
        nn.init.trunc_normal_(layer.weight, std=0.02, a=-0.04, b=0.04, generator=g)
    report = initlab.audit(model)
    assert not report.warned("trunc_normal_absolute")
    assert report.of("0.weight").scheme == "trunc_normal(std=0.02)"


def test_constant_weights_hidden_and_output() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    initlab.init_(model, "he_normal", generator=torch.Generator().manual_seed(0))
    assert not initlab.audit(model).warned("constant")
    nn.init.zeros_(model[2].weight)  # a zero head: one step breaks its symmetry
    report = initlab.audit(model)
    assert report.of("2.weight").scheme == "zeros" and report.of("2.weight").confidence == 1.0
    assert not report.warned("constant")
    (warn,) = [w for w in report.warnings if w.kind == "constant_output"]
    assert warn.weights == ("2.weight",) and "one SGD step breaks the symmetry" in warn.message
    nn.init.zeros_(model[0].weight)  # now every weight is constant: the symmetry is never broken
    (warn,) = [w for w in initlab.audit(model).warnings if w.kind == "constant"]
    assert warn.weights == ("0.weight",) and "never breaks the symmetry" in warn.message
    initlab.init_(model[2], "he_normal", generator=torch.Generator().manual_seed(1))
    (warn,) = [w for w in initlab.audit(model).warnings if w.kind == "constant"]
    assert "only slowly" in warn.message and "never" not in warn.message


def test_audit_of_a_tensor_and_bad_input() -> None:
    t = torch.full((4, 4), 0.5)
    report = initlab.audit(t)
    assert report.of("tensor").scheme == "constant(value=0.5)" and report.warned("constant")
    with pytest.raises(initlab.InitlabError, match=r"nn\.Module or a Tensor"):
        initlab.audit("model")  # type: ignore[arg-type]
    with pytest.raises(initlab.InitlabError, match="no weight 'x'"):
        report.of("x")


def test_to_dict_is_json_ready() -> None:
    import json

    model = mlp(4, 16)
    d = initlab.audit(model).to_dict()
    json.dumps(d, allow_nan=False)
    assert d["weights"][0]["name"] == "0.weight" and d["weights"][0]["shape"] == [16, 16]
