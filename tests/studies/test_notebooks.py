"""The example notebooks (``docs/notebooks/<study>.ipynb``): one per study, stored without outputs,
and each one executed here in a real Jupyter kernel (``nbclient`` + ``ipykernel``), so none goes stale.

The five run in **one** kernel session, one after the other, with ``%reset -f`` between them (each
starts from an empty namespace, so a notebook that leans on another's variables fails here too); a
kernel start and the torch import take seconds, paid once instead of five times. Any cell error
fails the test; each notebook must show its study's result card (``_repr_html_``) with an inline
PNG that decodes, and a finished progress bar.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import initlab.studies

NOTEBOOKS = Path(__file__).resolve().parents[2] / "docs" / "notebooks"
#: Every study module of ``initlab.studies`` (the modules its ``__all__`` names).
STUDIES = sorted(n for n in initlab.studies.__all__ if isinstance(getattr(initlab.studies, n), ModuleType))
_IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
_BAR = re.compile(r'class="initlab-progress".*?<progress value="(\d+)" max="(\d+)"')


def _read(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    return doc


def test_every_study_has_a_notebook_stored_without_outputs() -> None:
    assert STUDIES == ["compare", "depth", "diagnose", "phase", "probe", "reproduce", "sweep", "symmetry"]
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == STUDIES
    for name in STUDIES:
        cells = _read(name)["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert code and any(c["cell_type"] == "markdown" for c in cells), name
        for c in code:  # clean diffs: what is stored is the source, never a run's outputs
            assert c["outputs"] == [] and c["execution_count"] is None, (name, c["source"])


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every notebook's code cells after execution: all five in one kernel session, in order."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    # a kernel on this interpreter: a "python3" kernelspec installed elsewhere could name another
    # (JUPYTER_PATH is searched first)
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    (jupyter_path / "kernels" / "initlab-test").mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (jupyter_path / "kernels" / "initlab-test" / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "initlab test", "language": "python"})
    )
    combined = nbformat.v4.new_notebook()
    spans: dict[str, tuple[int, int]] = {}
    for name in STUDIES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        combined.cells.append(nbformat.v4.new_code_cell("%reset -f"))
        start = len(combined.cells)
        combined.cells += [c for c in nb.cells if c.cell_type == "code"]
        spans[name] = (start, len(combined.cells))
    client = nbclient.NotebookClient(
        combined,
        timeout=300,
        kernel_name="initlab-test",
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("cwd"))}},
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter_path))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(jupyter_path / "runtime"))  # connection files: not in $HOME
        client.execute()  # raises CellExecutionError, naming the cell, on any error
    return {name: combined.cells[a:b] for name, (a, b) in spans.items()}


def _html(cells: list[dict[str, Any]]) -> list[str]:
    return [
        o["data"]["text/html"]
        for c in cells
        for o in c["outputs"]
        if o["output_type"] in ("display_data", "execute_result") and "text/html" in o["data"]
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", STUDIES)
def test_notebook_runs_and_shows_its_result(executed: dict[str, list[dict[str, Any]]], name: str) -> None:
    from PIL import Image

    outputs = _html(executed[name])
    cards = [h for h in outputs if f"<h4>initlab {name}</h4>" in h]
    assert cards, f"{name}.ipynb shows no {name} result card"
    pngs = _IMG.findall(cards[0])
    assert len(pngs) == 1
    with Image.open(io.BytesIO(base64.b64decode(pngs[0]))) as img:
        assert img.format == "PNG" and img.width > 200
    bars = [m for h in outputs for m in _BAR.findall(h)]
    assert bars and all(done == total for done, total in bars), bars  # every bar reached its end
    errors = [o for c in executed[name] for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors
    # `result.figure(name)` in a cell shows the figure (the kernel's inline backend, not Agg)
    for cell in executed[name]:
        if ".figure(" in cell["source"]:
            assert any("image/png" in o.get("data", {}) for o in cell["outputs"]), cell["source"]
