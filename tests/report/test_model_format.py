"""The typed view of results.json, number formatting, the one-line prose rule, and where prose lives."""

from __future__ import annotations

import ast
import copy
import math
from pathlib import Path

import pytest
import synthetic

import initlab.report as report_pkg
from initlab import InitlabError
from initlab.report import derive
from initlab.report.build import FIGURES, render_html, render_markdown
from initlab.report.decisions import Problem
from initlab.report.format import dec, fmt, names, pct, percent, sig
from initlab.report.model import parse
from initlab.report.render import oneline, say


def test_parse_types_every_part_and_reads_null_and_nan_as_missing() -> None:
    doc = synthetic.results()
    doc["parts"]["probe"]["activations"]["relu"]["runs"][0]["layers"][2]["std"] = math.nan
    doc["parts"]["compare"]["runs"][0]["train_loss"][5] = None
    run = parse(doc)
    assert [p.activation for p in run.probes] == ["sigmoid", "relu", "tanh"]
    assert run.probes[1].runs[0].layers[2].std is None
    assert run.mnist is not None and run.mnist.runs[0].train_loss[5] is None
    assert run.mnist.labels == ("std=0.01", "Xavier", "He") and run.mnist.window == 25
    assert run.symmetry is not None and run.symmetry.cases[3].learned
    assert run.glorot is not None and run.glorot.probes[0].run("Glorot").layers[0].std == 0.3
    with pytest.raises(InitlabError, match="no init labelled 'Kaiming'"):
        run.glorot.probes[0].run("Kaiming")


def test_parse_rejects_what_it_cannot_read() -> None:
    doc = synthetic.results()
    doc["parts"]["symmetry"] = {"cases": []}  # written before the symmetry facts existed
    with pytest.raises(InitlabError, match=r"no 'facts'.*run 'initlab reproduce' again"):
        parse(doc)
    with pytest.raises(InitlabError, match="study 'compare'"):
        parse({**synthetic.results(), "study": "compare"})


def test_a_stored_findings_entry_is_ignored() -> None:
    doc = synthetic.results()
    forged = copy.deepcopy(doc)
    forged["findings"] = {"departures": ["made up"]}
    assert derive(forged) == derive(doc)


def test_rounding_and_writing_numbers() -> None:
    assert sig(0.0123456) == 0.0123 and sig(math.inf) is None and sig(True) is None
    assert dec(2.3456, 2) == 2.35 and pct(0.25) == 25.0 and pct(None) is None
    assert percent(7.0, 2) == "7.00%" and percent(None) == "—"
    assert [fmt(v) for v in (0.5, 3, 1.31e-6, 2.6e6, None)] == ["0.5", "3", "1.31e-6", "2.6e6", "—"]
    for v in (0.0, 93.42, 0.0124, 1.31e-6, 2.6e6, 44700.0, -0.5, 1e-4, 123456.0):
        assert float(fmt(v)) == v
    with pytest.raises(TypeError):
        fmt(True)
    assert names(["a", "b", "c"]) == "`a`, `b` and `c`"


def test_oneline_joins_wrapped_prose() -> None:
    assert oneline("a\n   b ,c ( d )\n.") == "a b,c (d)."
    assert oneline("one  line") == "one line"
    # a statement macro is read as one line however it is wrapped in the template
    assert (
        say("problem", Problem("uneven", 3.0), None) == "the largest per-layer std was 3 times the smallest"
    )


def test_html_escapes_what_the_results_say() -> None:
    doc = synthetic.results()
    doc["environment"]["cpu"] = "<script>alert(1)</script> & co"
    for run in doc["parts"]["compare"]["runs"]:
        if run["label"] == "He":
            run["label"] = "He<b>"
    doc["parts"]["compare"]["summary"][2]["label"] = "He<b>"
    html = render_html(doc, Path("/nonexistent"))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<code>He&lt;b&gt;</code>" in html and "He<b>" not in html
    md = render_markdown(doc, set(FIGURES))[0]
    assert "`He<b>`" in md  # Markdown keeps labels as written, as code


def _long_strings(source: str) -> list[str]:
    """String constants of five words or more, docstrings and exception messages left out."""
    tree = ast.parse(source)
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.Raise) and node.exc is not None:
            skip |= {id(n) for n in ast.walk(node.exc)}
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and len(node.value.split()) >= 5
    ]


def test_the_report_code_holds_no_prose() -> None:
    root = Path(report_pkg.__file__).parent
    found = {p.name: _long_strings(p.read_text()) for p in sorted(root.glob("*.py"))}
    assert len(found) >= 7
    assert {k: v for k, v in found.items() if v} == {}
    planted = (
        'def f(x):\n    """A docstring of many words here."""\n'
        '    return f"{x} reached a training loss first"\n'
    )
    assert _long_strings(planted) == [" reached a training loss first"]  # negative control
