"""The reproduce figures draw only what they are given: the collapse reference comes from the result."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import initlab.viz.reproduce as viz
from initlab.studies.probe import probe
from initlab.studies.reproduce import ReproduceConfig, ReproduceResult, reference_std


@pytest.fixture(scope="module")
def probes() -> dict[str, object]:
    return {
        a: probe(["He: he_normal", "Xavier: lecun_normal"], a, layers=3, width=16, samples=64)
        for a in ("relu", "tanh")
    }


def _reference_lines(fig: object) -> list[float]:
    out = []
    for ax in fig.axes:  # type: ignore[attr-defined]
        for line in ax.get_lines():
            ys = set(line.get_ydata())
            if line.get_linestyle() == ":" and len(ys) == 1:
                out.append(float(next(iter(ys))))
    return out


def test_std_per_layer_draws_the_reference_it_is_given(probes: dict[str, object]) -> None:
    fig = viz.std_per_layer_figure(probes, {"relu": 0.25, "tanh": 0.5})  # type: ignore[arg-type]
    assert _reference_lines(fig) == [0.25, 0.5]
    result = ReproduceResult(ReproduceConfig(), {}, probes=probes)  # type: ignore[arg-type]
    assert result.to_dict()["parts"]["probe"]["reference_std"] == result.reference_std
    fig = result.figures()["std_per_layer"]
    assert _reference_lines(fig) == pytest.approx([reference_std("relu"), reference_std("tanh")])


def _study_imports(source: str) -> tuple[int, int]:
    """(all imports of a study module, those under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(source)
    found = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and "studies" in (n.module or "")]
    typing_only = {
        id(n)
        for b in ast.walk(tree)
        if isinstance(b, ast.If) and isinstance(b.test, ast.Name) and b.test.id == "TYPE_CHECKING"
        for n in ast.walk(b)
    }
    return len(found), sum(id(n) in typing_only for n in found)


def test_viz_reproduce_does_not_call_into_a_study() -> None:
    total, typing_only = _study_imports(Path(viz.__file__).read_text())
    assert total == typing_only == 1  # ProbeResult, for the annotations only
    # negative control: the import this module used to make at run time is caught
    late = "def f():\n    from ..studies.reproduce import reference_std\n"
    assert _study_imports(late) == (1, 0)
