"""A sweep on Ray (a local instance, started once for the module): the same rows as in-process, a
stop that keeps the finished ensembles, a worker killed mid-sweep whose cells Ray retries (and, with
retries off, the lost ensemble reported), and no Ray import without ``ray``."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import initlab
from initlab import load_dataset
from initlab.data import Dataset
from initlab.studies import SweepConfig
from initlab.studies.sweep import run
from initlab.studies.sweep_ray import TASK_NAME

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'initlab[ray]')")
pytestmark = pytest.mark.ray

#: 2 lr x 2 w x 2 seeds = 8 cells; chunk 2: 4 ensembles (Ray tasks) of 2 models, ~0.2-0.5 s each.
BASE = SweepConfig(
    model=("mlp(layers=2, width=64)",),
    activation=("tanh",),
    init=("variance",),
    init_param=("w=0.5,2", "b=0.05"),
    lr=(0.05, 0.2),
    iterations=(150,),
    seeds=2,
    batch_size=64,
    eval_size=200,
    smooth=3,
    chunk=2,
)
COMPARED = (
    "key",
    "seed",
    "init",
    "lr",
    "final_loss",
    "best_loss",
    "test_accuracy",
    "test_loss",
    "diverged_at",
)


@pytest.fixture(scope="module")
def small() -> Dataset:
    """MNIST cut to 2000 training and 200 test images: less to ship to the workers."""
    ds = load_dataset("mnist")
    return replace(
        ds,
        train_x=ds.train_x[:2000],
        train_y=ds.train_y[:2000],
        test_x=ds.test_x[:200],
        test_y=ds.test_y[:200],
    )


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray instance (2 CPUs) for the module; the sweeps' ``ray="auto"`` use it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        yield
    finally:
        ray.shutdown()


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[1])


def _mine(pid: int) -> bool:
    """Whether ``pid`` descends from this process (the local Ray instance's workers do: not those of
    another Ray on the machine)."""
    while pid > 1:
        pid = _parent(pid)
        if pid == os.getpid():
            return True
    return False


def _task_pids() -> list[int]:
    """Processes of this Ray instance running a sweep task now: Ray titles a busy worker
    ``ray::<task name>``."""
    title = f"ray::{TASK_NAME}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f.read().startswith(title) and _mine(int(entry)):
                        pids.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return pids


class Killer(threading.Thread):
    """Kills (SIGKILL) the first worker seen running a sweep task, as a crashed node would."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.killed: int | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.killed is None:
            for pid in _task_pids():  # titled so from the task's start to its end: it is mid-task
                os.kill(pid, signal.SIGKILL)
                self.killed = pid
                break
            time.sleep(0.005)


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute(f"SELECT {', '.join(COMPARED)} FROM cells ORDER BY key"))


def test_ray_stores_what_in_process_does_through_a_stop_and_a_killed_worker(
    local_ray: None, small: Dataset, tmp_path: Path
) -> None:
    here = run(replace(BASE, store=str(tmp_path / "here.sqlite")), dataset=small)
    assert here.trained == 8
    cfg = replace(BASE, store=str(tmp_path / "ray.sqlite"), ray="auto", ray_cpus=1)
    # Ctrl-C after the first ensemble: what finished is stored, the rest cancelled
    ticks: list[int] = []
    first = run(
        cfg, dataset=small, progress=lambda done, total: ticks.append(done), should_stop=lambda: bool(ticks)
    )
    assert first.partial and 2 <= first.trained < 8 and ticks[0] == 2
    assert len(_rows(tmp_path / "ray.sqlite")) == first.trained
    # the rerun trains the rest on Ray while a worker is killed in the middle of an ensemble
    killer = Killer()
    killer.start()
    try:
        second = run(cfg, dataset=small)
    finally:
        killer.done.set()
        killer.join()
    assert killer.killed is not None, "no sweep task was seen running"
    assert not second.partial and (second.trained, second.skipped) == (8 - first.trained, first.trained)
    stored = _rows(tmp_path / "ray.sqlite")
    assert len(stored) == 8 and len({r[0] for r in stored}) == 8  # each cell once
    assert stored == _rows(tmp_path / "here.sqlite")  # the same numbers as in-process
    assert {r["ensemble_models"] for r in second.rows} == {2}


def test_without_retries_the_killed_workers_ensemble_is_an_error(
    local_ray: None, small: Dataset, tmp_path: Path
) -> None:
    path = tmp_path / "s.sqlite"
    cfg = replace(BASE, store=str(path), ray="auto", ray_retries=0)
    killer = Killer()
    killer.start()
    try:
        with pytest.raises(
            initlab.InitlabError, match=r"Ray lost the ensemble of 2 cell\(s\) .* after 0 retries"
        ):
            run(cfg, dataset=small)
    finally:
        killer.done.set()
        killer.join()
    assert killer.killed is not None
    stored = _rows(path)
    assert len(stored) < 8 and len({r[0] for r in stored}) == len(stored)  # what finished, once


def test_bad_ray_settings_and_an_unreachable_cluster() -> None:
    for fields, message in [
        ({"ray": "nowhere"}, "--ray takes auto, HOST:PORT or ray://HOST:PORT"),
        ({"ray": "auto", "ray_cpus": 0}, "ray_cpus must be > 0"),
        ({"ray": "auto", "ray_retries": -1}, "ray_retries must be a non-negative integer"),
        ({"ray": "auto", "device": "cuda:1"}, "with --ray the device is one of cpu, cuda, auto"),
    ]:
        with pytest.raises(initlab.InitlabError, match=message):
            replace(BASE, **fields).validate()  # type: ignore[arg-type]
    start = time.perf_counter()
    with pytest.raises(initlab.InitlabError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:1"):
        run(replace(BASE, ray="127.0.0.1:1"))
    assert time.perf_counter() - start < 10


def test_ray_not_installed_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(initlab.InitlabError, match=r"--ray needs Ray, .*pip install 'initlab\[ray\]'"):
        replace(BASE, ray="auto").validate()


def test_an_in_process_sweep_never_imports_ray(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from initlab.studies import SweepConfig\n"
        "from initlab.studies.sweep import run\n"
        "res = run(SweepConfig(model=('mlp(layers=1, width=4)',), iterations=(2,), seeds=1, eval_size=10))\n"
        "assert res.trained == 1\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
