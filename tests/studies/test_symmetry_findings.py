"""The symmetry findings, computed once from the lab's results and quoted alike by ``initlab symmetry``
and the reproduce report."""

from __future__ import annotations

import math
from typing import Any

from initlab.report.model import parse
from initlab.report.render import say
from initlab.studies.symmetry_findings import LOSS_WINDOW, SymmetryFacts, explain, symmetry_facts

STEPS = [0, 10, 20, 30]


def _case(
    label: str,
    units: list[int],
    *,
    grad: float,
    loss: float,
    acc: float,
    diverged: int | None = None,
    out_grad: float = 0.5,
) -> dict[str, Any]:
    n = 100
    losses: list[float | None] = [loss] * n
    if diverged is not None:
        losses[diverged:] = [None] * (n - diverged)
    return {
        "label": label,
        "spec": label,
        "iterations": STEPS,
        "distinct_units": [units, units],
        "grad_norm": [[grad * 2] * 4, [grad] * 4],
        "grad_max": [[grad] * 4, [grad] * 4],
        "output_grad_max": [out_grad] * 4,
        "train_loss": losses,
        "test_accuracy": [acc],
        "diverged_at": diverged,
    }


def _doc() -> dict[str, Any]:
    return {
        "widths": [784, 8, 8, 10],
        "label_entropy": 2.3010004,
        "iterations_done": 100,
        "partial": False,
        "cases": [
            _case("zeros", [1, 1, 1, 1], grad=0.0, out_grad=0.0, loss=2.3021, acc=0.1135),
            _case("constant", [1, 1, 1, 1], grad=0.0356, loss=2.25, acc=0.2),
            _case("uniform", [8, 8, 8, 5], grad=3.0, loss=1.0, acc=math.nan, diverged=25),
            _case("He", [8, 8, 8, 8], grad=0.5, loss=0.41237, acc=0.9012),
        ],
    }


def test_facts_follow_the_measurements() -> None:
    f = symmetry_facts(_doc())
    zeros, const, uniform, he = f.cases
    assert (f.width, f.hidden_layers, f.label_entropy, f.loss_window) == (8, 2, 2.301, LOSS_WINDOW)
    assert zeros.stuck and zeros.hidden_gradients_zero and zeros.output_gradients_zero and not zeros.learned
    assert const.stuck and not const.hidden_gradients_zero and const.layer1_grad_norm_max == 0.0712
    assert const.final_loss == 2.25 and not const.learned  # within 0.1 of the label entropy
    assert uniform.logged_at == 20 and uniform.distinct_units == (8, 8)  # read before the divergence
    assert uniform.final_loss is None and uniform.test_accuracy_pct is None and not uniform.learned
    assert he.learned and he.final_loss == 0.412 and he.test_accuracy_pct == 90.1
    assert [c.label for c in f.learned] == ["He"] and [c.label for c in f.diverged] == ["uniform"]
    assert SymmetryFacts.from_dict(f.to_dict()) == f


def test_the_command_and_the_report_quote_the_same_facts() -> None:
    f = symmetry_facts(_doc())
    lines = explain(f)
    assert lines[0].startswith("zeros: distinct units at iteration 30: layer 1: 1 of 8; layer 2: 1 of 8;")
    assert "exactly 0 at every logged step and so were the output weights'" in lines[0]
    assert "layer-1 gradient norm up to 0.0712" in lines[1]
    assert (
        "final training loss 2.250 (mean of the last 50 iterations; label entropy 2.301, difference -0.051)"
        in (lines[1])
    )
    assert "diverged at iteration 25" in lines[2] and "test accuracy" not in lines[2]
    assert lines[3].endswith(
        "final training loss 0.412 (mean of the last 50 iterations; label entropy 2.301, "
        "difference -1.889); test accuracy 90.1%."
    )

    # the report reads the same facts from results.json and writes its own sentences from them
    sym = parse(
        {
            "partial": False,
            "quick": False,
            "config": {"seed": 0, "lr": 0.01, "batch_size": 128, "layers": 5},
            "environment": {},
            "seconds": {},
            "parts": {"symmetry": {"facts": f.to_dict()}},
        }
    ).symmetry
    assert sym is not None
    he = say("symmetry_case", sym.cases[3], sym)
    assert he == (
        "`He`: all 8 units of every hidden layer stayed distinct at every logged step; its training loss "
        "fell to 0.412 (mean of the last 50 iterations); test accuracy 90.1%."
    )
    zeros = say("symmetry_case", sym.cases[0], sym)
    assert "every hidden layer had 1 distinct unit (of 8)" in zeros and "2.302" in zeros
    summary = say("symmetry_summary", sym, [sym.cases[3]], list(sym.cases[:2]), [sym.cases[2]])
    assert summary.startswith("Of the 4 cases, only `He` learned (training loss 0.412, test accuracy 90.1%).")
    assert "`zeros` and `constant` were stuck at 1 distinct unit" in summary
    assert summary.endswith("`uniform` diverged at iteration 25.")
