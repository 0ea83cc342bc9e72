"""Issue 16: audit, diagnose and lsuv_ on non-finite weights, degenerate shapes and other dtypes."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import initlab
from initlab import InitlabError

DTYPES = (torch.float16, torch.bfloat16, torch.float64)


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _mlp() -> nn.Sequential:
    model = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    initlab.init_(model, "he_normal", generator=_g())
    return model


def _poison(model: nn.Sequential) -> None:
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
        model[2].weight[1, 1] = float("inf")
        model[2].weight[2, 2] = float("-inf")


def test_audit_reports_nonfinite_weights_per_parameter_counted() -> None:
    model = _mlp()
    _poison(model)
    aud = initlab.audit(model)  # used to fail on a spec the user never wrote: uniform(a=-inf, b=inf)
    bad = aud.of("2.weight")
    assert (bad.nonfinite, bad.kind, bad.confidence) == (3, "nonfinite", 0.0)
    assert aud.of("0.weight").nonfinite == 0 and aud.of("0.weight").scheme == "he_normal"
    assert aud.warned("nonfinite")
    (warning,) = [w for w in aud.warnings if w.kind == "nonfinite"]
    assert warning.weights == ("2.weight",) and "3 of 1024 entries" in warning.message
    assert initlab.audit(model[2].weight).of("tensor").nonfinite == 3
    assert aud.to_dict()["weights"][1]["expected_std"] is None  # JSON-safe


def test_diagnose_reports_nonfinite_parameters_per_parameter_counted() -> None:
    model = _mlp()
    _poison(model)
    d = initlab.diagnose(model, input_shape=(32,), generator=_g())
    msgs = [f.message for f in d.findings if f.kind == "nonfinite"]
    assert any("2.weight (3 of 1024 entries)" in m for m in msgs), msgs


def test_diagnose_refuses_an_empty_batch() -> None:
    with pytest.raises(InitlabError, match=r"empty batch.*\(0, 32\)"):  # was "100% dead units"
        initlab.diagnose(_mlp(), torch.zeros(0, 32))


def _zero_size() -> nn.Sequential:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own init warns about zero-element weights
        return nn.Sequential(nn.Linear(4, 0), nn.ReLU(), nn.Linear(0, 3))


def test_a_zero_size_layer_is_a_finding_not_a_crash() -> None:
    d = initlab.diagnose(_zero_size(), input_shape=(4,), generator=_g())
    (empty,) = [f for f in d.findings if f.kind == "empty"]
    assert empty.layers == ("0", "1")
    assert not d.flagged("vanishing") and d.depth() is None  # no ratio through an empty layer
    aud = initlab.audit(_zero_size())
    assert aud.warned("empty") and aud.of("0.weight").kind == "empty"


def test_a_model_without_a_floating_output_says_there_was_no_backward_pass() -> None:
    class Argmax(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x).argmax(-1)

    d = initlab.diagnose(Argmax(), input_shape=(4,), generator=_g())
    assert not d.backward
    (f,) = [f for f in d.findings if f.kind == "no_backward"]
    assert "not floating point (torch.int64)" in f.message


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_tools_work_on_half_and_double_models(dtype: torch.dtype) -> None:
    model = _mlp().to(dtype)
    assert len(initlab.init_(model, "auto", generator=_g())) == 6
    assert initlab.init_(model, "orthogonal", generator=_g())[0].empirical_std > 0  # QR has no half kernel
    assert [w.nonfinite for w in initlab.audit(model).weights] == [0, 0, 0]
    d = initlab.diagnose(model, input_shape=(32,), generator=_g())
    assert d.backward and not d.flagged("nonfinite")
    batch = torch.randn(64, 32, generator=_g()).to(dtype)
    result = initlab.lsuv_(model, batch, generator=_g())
    assert all(p.dtype == dtype and bool(torch.isfinite(p).all()) for p in model.parameters())
    assert result.layers


def test_audit_and_diagnose_on_the_meta_device_say_they_cannot() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    with pytest.raises(InitlabError, match="meta device"):
        initlab.audit(model)
    with pytest.raises(InitlabError, match="meta device"):
        initlab.diagnose(model, input_shape=(8,))
    with pytest.raises(InitlabError, match="meta device"):
        initlab.lsuv_(model, torch.randn(16, 8, generator=_g()), generator=_g())


def test_auto_init_that_fails_on_a_layer_leaves_the_model_untouched() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own init warns about the zero-element weight
        model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 0))
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(InitlabError, match="zero-size weight"):
        initlab.init_(model, "auto", generator=_g())
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
