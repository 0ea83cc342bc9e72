"""The records a notebook user sees from the tools display themselves (``_repr_html_``): the
diagnosis (findings, one row per layer call), the audit (warnings, one row per weight), the auto-init
plan (one row per layer) and the LSUV outcome (one row per module), every name escaped."""

from __future__ import annotations

import html
from collections import OrderedDict

import torch
from torch import nn

from html_helpers import EVIL, escaped, has_row
from initlab.core.html import number, percent
from initlab.tools import audit, auto_init_, diagnose, lsuv_


def deep_default_relu() -> nn.Sequential:
    """Six Linear(32, 32) + ReLU with PyTorch's default init, the second ReLU under a hostile name."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i in range(6):
        layers[f"fc{i}"] = nn.Linear(32, 32)
        layers[EVIL if i == 1 else f"relu{i}"] = nn.ReLU()
    return nn.Sequential(layers)


def test_diagnosis_shows_its_findings_and_every_layer(gen: torch.Generator) -> None:
    model = deep_default_relu()
    with torch.no_grad():
        model.fc3.weight.mul_(1e-3)  # a planted vanishing signal
    d = diagnose(model, input_shape=(32,), generator=gen)
    page = d._repr_html_()
    assert d.findings and all(f"<li>{html.escape(f.message)}</li>" in page for f in d.findings)
    for la in d.layers:
        assert has_row(page, la.name, la.type, "x".join(map(str, la.shape)), number(la.mean), number(la.std))
    assert has_row(page, EVIL, "ReLU") and escaped(page)


def test_a_healthy_diagnosis_says_there_is_nothing_to_report(gen: torch.Generator) -> None:
    model = nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 16))
    auto_init_(model, generator=gen)
    d = diagnose(model, input_shape=(16,), generator=gen)
    assert d.findings == [] and "No findings" in d._repr_html_()


def test_audit_shows_its_warnings_and_one_row_per_weight() -> None:
    a = audit(deep_default_relu())
    page = a._repr_html_()
    assert a.warned("torch_default_relu") and "PyTorch&#x27;s default init" in page
    for w in a.weights:
        assert has_row(
            page, w.name, "x".join(map(str, w.shape)), w.scheme, percent(w.confidence), number(w.std)
        )


def test_auto_init_plan_shows_each_layer_scheme_and_reason(gen: torch.Generator) -> None:
    plan = auto_init_(deep_default_relu(), generator=gen)
    page = plan._repr_html_()
    for step in plan.steps:
        assert has_row(page, step.layer, step.nonlinearity, step.scheme, step.reason)
    assert "6 layers" in page and escaped(page)  # the reason names the hostile ReLU


def test_lsuv_result_shows_each_module_and_its_outcome(gen: torch.Generator) -> None:
    model = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.ReLU(), nn.Linear(16, 4))
    res = lsuv_(model, torch.randn(64, 8, generator=gen), generator=gen)
    page = res._repr_html_()
    for la in res.layers:
        outcome = f"skipped: {la.skipped}" if la.skipped else "converged"
        assert has_row(page, la.name, la.type, str(la.iterations), number(la.std), number(la.scale), outcome)
    assert any(la.skipped for la in res.layers) and "· converged" in page
