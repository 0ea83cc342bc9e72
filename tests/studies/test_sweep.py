"""The sweep study: the grid, the store (resume after a stop, a changed grid), the summary, TOML."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import initlab
from initlab import load_dataset
from initlab.data import Dataset
from initlab.measure import bootstrap_mean
from initlab.studies import SweepConfig, config_from_toml, load_store
from initlab.studies.sweep import run

#: 2 lr x 2 w x 2 seeds = 8 cells in 2 ensembles of 4 (chunk 2: 4 ensembles of 2).
BASE = SweepConfig(
    model=("mlp(layers=1, width=8)",),
    activation=("tanh",),
    init=("variance",),
    init_param=("w=0.5,2", "b=0.05"),
    lr=(0.05, 0.2),
    iterations=(6,),
    seeds=2,
    batch_size=32,
    eval_size=200,
    smooth=3,
    chunk=2,
)
MEASURED = ("final_loss", "best_loss", "test_accuracy", "test_loss", "diverged_at")


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


def _stored(path: Path) -> list[tuple[str, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT key, init, lr, seed FROM cells"))


def test_grid_expands_parameters_into_canonical_cells() -> None:
    cells = BASE.cells()
    assert len(cells) == 8 and len({c.group() for c in cells}) == 2
    assert {c.init for c in cells} == {"variance(w=0.5, b=0.05)", "variance(w=2.0, b=0.05)"}
    assert {c.model for c in cells} == {"mlp(layers=1, width=8, bias=true)"}
    assert [c.seed for c in cells[:2]] == [0, 1]


def test_stopped_sweep_resumes_with_only_the_rest(mnist: Dataset, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    cfg = replace(BASE, store=str(store))
    stored = [0]

    def progress(done: int, total: int, **info: object) -> None:
        stored[0] = done

    first = run(cfg, dataset=mnist, progress=progress, should_stop=lambda: stored[0] >= 4)
    assert first.partial and first.trained == 4 and len(_stored(store)) == 4
    second = run(cfg, dataset=mnist)
    assert not second.partial and (second.trained, second.skipped) == (4, 4)
    rows = _stored(store)
    assert len(rows) == 8 and len({r[0] for r in rows}) == 8  # each cell once
    # the same numbers as one uninterrupted sweep, in one ensemble per group (chunk 64)
    whole = run(replace(BASE, store=str(tmp_path / "whole.sqlite"), chunk=64), dataset=mnist)
    assert whole.trained == 8
    for a, b in zip(second.rows, whole.rows, strict=True):
        assert a["key"] == b["key"]
        assert {k: a[k] for k in MEASURED} == {k: b[k] for k in MEASURED}
    assert {r["ensemble_models"] for r in whole.rows} == {4}


def test_changed_grid_adds_only_the_new_cells(mnist: Dataset, tmp_path: Path) -> None:
    cfg = replace(BASE, store=str(tmp_path / "s.sqlite"), lr=(0.05,))
    first = run(cfg, dataset=mnist)
    assert first.trained == 4
    before = {r["key"]: r["finished_at"] for r in first.rows}
    grown = run(replace(cfg, lr=(0.05, 0.2), init_param=("w=0.5,2,3", "b=0.05")), dataset=mnist)
    assert (grown.trained, grown.skipped, len(grown.rows)) == (8, 4, 12)
    assert {r["key"]: r["finished_at"] for r in grown.rows if r["key"] in before} == before
    # a smaller grid trains nothing and reports only its own cells
    small = run(cfg, dataset=mnist)
    assert (small.trained, small.skipped, len(small.rows)) == (0, 4, 4)
    # another fixed setting is another cell
    assert run(replace(cfg, batch_size=16), dataset=mnist).trained == 4


def test_rows_summary_and_load_store(mnist: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    res = run(replace(BASE, store=str(path), lr=(0.05,)), dataset=mnist)
    row = res.rows[0]
    assert row["init_params"] == {"w": 0.5, "b": 0.05} and row["model_params"]["width"] == 8
    assert row["torch_version"] and row["initlab_version"] == initlab.__version__
    assert 0.0 <= row["test_accuracy"] <= 1.0 and row["iterations_done"] == 6
    summary = res.summary()
    assert [s["init.w"] for s in summary] == [0.5, 2]
    accs = [r["test_accuracy"] for r in res.rows if r["init_params"]["w"] == 2]
    iv = bootstrap_mean(accs, generator=initlab.core.seeds.generator(BASE.seed, "bootstrap"))
    assert summary[1]["seeds"] == 2 and summary[1]["test_accuracy_mean"] == pytest.approx(iv.mean)
    assert summary[1]["test_accuracy_low"] <= iv.mean <= summary[1]["test_accuracy_high"]
    assert res.varying() == ["init.w"]
    doc = res.to_dict()
    assert doc["schema"] == "initlab.sweep/1" and doc["stored"] == 4 and len(doc["rows"]) == 4
    loaded = load_store(path, frame=False)
    assert len(loaded) == 4 and loaded[0]["init.w"] == 0.5 and "init_params" not in loaded[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
        assert load_store(path) == loaded  # the plain rows
        with pytest.raises(initlab.InitlabError, match="needs pandas"):
            load_store(path, frame=True)
    try:
        import pandas  # noqa: F401
    except ImportError:  # pragma: no cover - pandas is an optional extra
        return
    frame = load_store(path)
    assert list(frame["init.w"]) == [0.5, 0.5, 2.0, 2.0] and len(frame.columns) == len(loaded[0])


def test_toml_grid_and_its_conflicts(tmp_path: Path) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(
        'model = "mlp(width=8)"\nactivation = "tanh"\ninit = "variance"\nlr = [0.1, 0.01]\n'
        "seeds = 3\n[init_param]\nw = [1.0, 1.5]\nb = 0.05\n[model_param]\nlayers = [1, 2]\n"
    )
    cfg = config_from_toml(path)
    cells = cfg.cells()
    assert len(cells) == 2 * 2 * 2 * 3  # layers x lr x w x seeds
    assert {c.model for c in cells} == {f"mlp(layers={n}, width=8, bias=true)" for n in (1, 2)}
    with pytest.raises(initlab.InitlabError, match=r"conflicting values: lr is set both in .* and by --lr"):
        config_from_toml(path, {"lr": (0.5,)})
    with pytest.raises(initlab.InitlabError, match="conflicting values: model parameter 'layers'"):
        replace(cfg, model=("mlp(layers=3, width=8)",)).cells()
    with pytest.raises(initlab.InitlabError, match="repeats the value"):
        replace(cfg, init=("variance", "variance(w=1, b=0)"), init_param=()).cells()


KILLED = """
import sys
from initlab.studies.sweep import SweepConfig, run
run(SweepConfig(model=("mlp(layers=1, width=8)",), init=("variance",), init_param=("w=0.5:3:6",),
                iterations=(20,), seeds=2, batch_size=32, eval_size=100, chunk=1, store=sys.argv[1]))
"""


def test_a_killed_sweep_keeps_its_finished_cells_and_resumes(mnist: Dataset, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(store)], env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    try:
        deadline = time.monotonic() + 120
        count = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists():
                with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(store) as db:
                    count = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            if count >= 2:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no cleanup at all: the store must be whole anyway
    finally:
        proc.wait()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    assert 2 <= kept < 12
    cfg = SweepConfig(
        model=("mlp(layers=1, width=8)",),
        init=("variance",),
        init_param=("w=0.5:3:6",),
        iterations=(20,),
        seeds=2,
        batch_size=32,
        eval_size=100,
        store=str(store),
    )
    res = run(cfg, dataset=mnist)
    assert (res.trained, res.skipped, len(res.rows)) == (12 - kept, kept, 12)


def test_varying_names_schemes_by_spec_and_one_scheme_by_its_parameters(mnist: Dataset) -> None:
    tiny = replace(BASE, lr=(0.05,), iterations=(2,), seeds=1, eval_size=20)
    mixed = run(replace(tiny, init=("he_normal", "lecun_normal"), init_param=()), dataset=mnist)
    assert mixed.varying() == ["init"]  # not he_normal's mode/nonlinearity against lecun_normal's none
    assert run(tiny, dataset=mnist).varying() == ["init.w"]


def test_a_store_in_new_folders_is_made_and_one_under_a_file_refused(mnist: Dataset, tmp_path: Path) -> None:
    store = tmp_path / "runs" / "phase" / "s.sqlite"  # neither folder exists yet
    res = run(replace(BASE, lr=(0.05,), store=str(store)), dataset=mnist)
    assert res.trained == 4 and len(_stored(store)) == 4
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(initlab.InitlabError, match="is not a folder"):
        replace(BASE, store=str(tmp_path / "file" / "sub" / "s.sqlite")).validate()
