"""The ``sweep`` study: a declarative grid of trainings, stored one row per model, resumable.

The grid (:mod:`.sweep_grid`) is the product of its axes -- datasets, model specs (and their
parameters), activations, init specs (and their parameters), optimizers, learning rates, iteration
counts -- times ``seeds`` replicates (model seeds ``seed .. seed + seeds - 1``). It comes from the
fields (the flags) or a TOML file (:func:`config_from_toml`). Cells that share everything but their
init and seed are trained as one :class:`~initlab.ensemble.Ensemble` (at most ``chunk`` models at a
time), on the same mini-batches (the ``batches`` stream of ``seed``), by :func:`initlab.train.train`.

Results go to a :class:`~.sweep_store.Store` (SQLite at ``store``, or in memory) as each ensemble
finishes, keyed by each cell's canonical hash: a rerun skips the cells already stored, a changed grid
trains only its new cells, and a stop (``should_stop``, Ctrl-C) loses only the ensemble in flight.
A cell's numbers do not depend on which other cells share its ensemble (each model is computed as
if alone), so resumed and uninterrupted sweeps store the same rows.

Where the ensembles train is the runner's business (:meth:`SweepConfig.runner`): one after the other
in this process (:func:`~.sweep_runners.in_process`), or with ``ray`` each as a Ray task on a cluster
(:class:`~.sweep_ray.RayRunner`, Ray imported only then); either way this process alone writes the store.

The summary: per cell without its seed, the mean over seeds and a 95% percentile-bootstrap interval
(:func:`initlab.measure.bootstrap_mean`, the ``bootstrap`` stream of ``seed``) of the test accuracy
and the final training loss.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

import torch

from ..activations import activation as get_activation
from ..core import html
from ..core.device import resolve_device
from ..core.env import version
from ..core.errors import InitlabError, closest
from ..core.seeds import check_seed, generator, weight_seeds
from ..core.spec import canonical, format_value, signature_params
from ..data import Dataset, dataset_info, load_dataset
from ..ensemble import Ensemble, model_factory
from ..measure import bootstrap_mean
from ..measure.series import moving_average
from ..schemes import scheme
from ..train import SAMPLINGS, TrainConfig, TrainResult, train
from .config import Progress, ShouldStop, configure, dataset_for, figure_error, option
from .display import card
from .progress import progress_bar
from .sweep_grid import GROUP_AXES, Cell, cell_key, expand_specs, param_axes, unique
from .sweep_ray import RayRunner, check_ray, task_gpus
from .sweep_runners import Chunk, Rows, Runner, in_process
from .sweep_store import Store, check_store, flat

#: The ``"schema"`` of results.json.
SCHEMA_ID = "initlab.sweep/1"
#: The grid values a summary row is keyed by (a cell without its seed).
SUMMARY_AXES = ("dataset", "model", "activation", "init", "optimizer", "lr", "iterations")


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: its grid axes (repeatable flags), replicates, fixed training settings and store."""

    grid: str | None = option(
        None,
        "a TOML file with the grid (its keys are these settings; a flag may not repeat one)",
        metavar="FILE",
    )
    dataset: tuple[str, ...] = option(
        ("mnist",), "dataset, repeatable", repeatable=True, default_text="mnist"
    )
    model: tuple[str, ...] = option(
        ("mlp(layers=4, width=100)",),
        "model family spec, repeatable",
        repeatable=True,
        metavar="SPEC",
        default_text="mlp(layers=4, width=100)",
    )
    model_param: tuple[str, ...] = option(
        (),
        "a model parameter as an axis, NAME=V1,V2 or NAME=START:STOP:NUM, repeatable",
        repeatable=True,
        metavar="NAME=VALUES",
        default_text="none",
    )
    activation: tuple[str, ...] = option(
        ("relu",), "activation, repeatable", repeatable=True, default_text="relu"
    )
    init: tuple[str, ...] = option(
        ("he_normal",), "init spec, repeatable", repeatable=True, metavar="SPEC", default_text="he_normal"
    )
    init_param: tuple[str, ...] = option(
        (),
        "a scheme parameter as an axis, e.g. w=1:4:7 for variance(w, b); repeatable",
        repeatable=True,
        metavar="NAME=VALUES",
        default_text="none",
    )
    optimizer: tuple[str, ...] = option(
        ("sgd",), "optimizer spec, repeatable", repeatable=True, default_text="sgd"
    )
    lr: tuple[float, ...] = option((0.01,), "learning rate, repeatable", repeatable=True, default_text="0.01")
    iterations: tuple[int, ...] = option(
        (300,), "training steps, repeatable", repeatable=True, default_text="300"
    )
    seeds: int = option(2, "replicates per cell (model seeds seed, seed+1, ...)")
    seed: int = option(0, "first model seed; also seeds the batches and the bootstrap")
    batch_size: int = option(128, "mini-batch size")
    momentum: float = option(0.9, "momentum for --optimizer momentum")
    sampling: str = option("replacement", f"{' or '.join(SAMPLINGS)}")
    eval_size: int | None = option(None, "test examples evaluated (default: all)", default_text="all")
    smooth: int = option(25, "iterations averaged for the final and best training loss")
    chunk: int = option(64, "at most this many models per ensemble")
    device: str = option("cpu", "cpu, cuda, cuda:N, mps or auto")
    backend: str = option("auto", "training backend: auto, autograd or engine")
    store: str | None = option(
        None,
        "SQLite file of results, one row per model: created, or resumed (stored cells are skipped)",
        metavar="FILE",
        default_text="in memory only",
    )
    ray: str | None = option(
        None,
        "run each ensemble as a Ray task: auto (this machine's Ray cluster, else a local one) or "
        "HOST:PORT / ray://HOST:PORT; the store is written here (pip install 'initlab[ray]')",
        metavar="auto|ADDRESS",
        default_text="in-process",
    )
    ray_cpus: float = option(1.0, "CPUs per Ray task (its torch threads)")
    ray_gpus: float | None = option(None, "GPUs per Ray task", default_text="1 with --device cuda, else 0")
    ray_retries: int = option(3, "times Ray reruns a task whose worker died")

    #: The grid's axes: the fields that hold lists of values.
    AXES: ClassVar[tuple[str, ...]] = (
        "dataset",
        "model",
        "model_param",
        "activation",
        "init",
        "init_param",
        "optimizer",
        "lr",
        "iterations",
    )

    def data_name(self) -> str:
        return self.dataset[0] if self.dataset else "mnist"

    def validate(self) -> None:
        """Raise ``InitlabError`` for the first bad setting (the grid expanded and every spec checked)."""
        for name in ("seeds", "batch_size", "smooth", "chunk"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise InitlabError(f"{name} must be a positive integer, got {v!r}")
        check_seed(self.seed, count=self.seeds)
        self.cells()
        for opt in unique(self.optimizer, "--optimizer"):
            for lr in unique(self.lr, "--lr"):
                self.train_config(opt, float(lr), 1).validate()
        if self.ray is None:
            resolve_device(self.device)
        else:  # the device is the workers': resolved there
            check_ray(self.ray, self.ray_cpus, self.ray_gpus, self.ray_retries, self.device)
        check_store(self.store)

    def runner(self) -> Runner:
        """Where the ensembles train: in this process, or as Ray tasks (``ray``)."""
        if self.ray is None:
            return in_process
        gpus = task_gpus(self.ray_gpus, self.device)
        return RayRunner(self.ray, self.ray_cpus, gpus, self.ray_retries)

    def train_config(self, optimizer: str, lr: float, iterations: int) -> TrainConfig:
        return TrainConfig(
            iterations=iterations,
            batch_size=self.batch_size,
            lr=lr,
            optimizer=optimizer,
            momentum=self.momentum,
            sampling=self.sampling,
            eval_every=0,
            eval_size=self.eval_size,
            backend=self.backend,
        )

    def fixed(self) -> dict[str, Any]:
        """The settings shared by every cell that change its numbers (part of each cell's key)."""
        return {
            "batch_size": self.batch_size,
            "sampling": self.sampling,
            "momentum": self.momentum,
            "batch_seed": self.seed,
            "eval_size": self.eval_size,
            "smooth": self.smooth,
        }

    def cells(self) -> list[Cell]:
        """The grid's cells, ensemble-major: every spec canonical, duplicates after that an error."""
        inits = expand_specs(self.init, param_axes(self.init_param, "--init-param"), "init", "--init-param")
        models = expand_specs(
            self.model, param_axes(self.model_param, "--model-param"), "model", "--model-param"
        )
        init_specs = unique([full_spec(s) for s in inits], "--init (its canonical specs)")
        acts = unique(
            [get_activation(a).spec for a in unique(self.activation, "--activation")], "--activation"
        )
        datasets = [dataset_info(d) for d in unique(self.dataset, "--dataset")]
        unique([d.name for d in datasets], "--dataset")
        canon: list[str] = []
        for text in models:
            for d in datasets:
                for act in acts:
                    spec = model_factory(
                        text, in_shape=(1, *d.image_shape), classes=len(d.classes), activation=act
                    ).spec
            canon.append(spec)
        canon = unique(canon, "--model (its canonical specs)")
        lrs = [float(v) for v in unique(self.lr, "--lr")]
        its = unique(self.iterations, "--iterations")
        for it in its:
            if isinstance(it, bool) or not isinstance(it, int) or it <= 0:
                raise InitlabError(f"iterations must be positive integers, got {it!r}")
        out = []
        for d in datasets:
            for m in canon:
                for act in acts:
                    for opt in unique(self.optimizer, "--optimizer"):
                        for lr in lrs:
                            for it in its:
                                for init in init_specs:
                                    for j in range(self.seeds):
                                        out.append(Cell(d.name, m, act, init, opt, lr, it, self.seed + j))
        return out

    def to_dict(self) -> dict[str, Any]:
        from ..core.io import to_jsonable

        out: dict[str, Any] = to_jsonable(self)
        return out


def full_spec(text: str) -> str:
    """The canonical spec of a scheme with every parameter written, defaults included (so
    ``variance`` and ``variance(w=1)`` are one cell).

    >>> full_spec("variance(b=0.05)")
    'variance(w=1.0, b=0.05)'
    """
    sch = scheme(text)
    defaults = {n: p.default for n, p in signature_params(sch.info.law, frozenset({"shape"})).items()}
    return canonical(sch.name, {**defaults, **sch.params})


def config_from_toml(path: str | os.PathLike[str], given: Mapping[str, Any] | None = None) -> SweepConfig:
    """The :class:`SweepConfig` a TOML file describes; ``given`` (flags) may not repeat its keys.

    Keys are the config's fields; an axis takes a value or a list of values; ``model_param`` and
    ``init_param`` are tables of ``NAME = value, [values] or "START:STOP:NUM"``::

        model = "mlp(layers=20, width=100)"
        activation = "tanh"
        init = "variance"
        iterations = 300
        [init_param]
        w = [1.0, 1.5, 2.0]
        b = 0.05
    """
    import tomllib

    shown = os.fspath(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise InitlabError(f"no grid file {shown!r}") from None
    except tomllib.TOMLDecodeError as err:
        raise InitlabError(f"{shown}: not valid TOML: {err}") from None
    names = [f.name for f in fields(SweepConfig) if f.name != "grid"]
    values: dict[str, Any] = {}
    for key, value in doc.items():
        if key not in names:
            raise InitlabError(f"{shown}: unknown setting {key!r}{closest(key, names)}")
        if given is not None and key in given:
            flag = "--" + key.replace("_", "-")
            raise InitlabError(
                f"conflicting values: {key} is set both in {shown} and by {flag}; give it once"
            )
        if key in ("model_param", "init_param"):
            if not isinstance(value, dict):
                raise InitlabError(f"{shown}: {key} must be a table of NAME = value or [values]")
            values[key] = tuple(_entry(n, v, shown) for n, v in value.items())
        elif key in SweepConfig.AXES:
            items = value if isinstance(value, list) else [value]
            values[key] = tuple(items)
        else:
            if isinstance(value, list | dict):
                raise InitlabError(f"{shown}: {key} takes one value, got {value!r}")
            values[key] = value
    return SweepConfig(grid=shown, **values)


def _entry(name: str, value: Any, shown: str) -> str:
    items = value if isinstance(value, list) else [value]
    for v in items:
        if not isinstance(v, int | float | str | bool):
            raise InitlabError(f"{shown}: {name} = {value!r}: values must be numbers, booleans or names")
    if len(items) == 1 and isinstance(items[0], str) and ":" in items[0]:
        return f"{name}={items[0]}"  # START:STOP:NUM as written
    return f"{name}={','.join(format_value(v) for v in items)}"


@dataclass
class SweepResult:
    """A sweep's cells, the stored rows of them (earlier runs' included) and what this run did."""

    config: SweepConfig
    cells: list[Cell]
    keys: list[str]  #: per cell
    rows: list[dict[str, Any]]  #: the stored rows of this grid's cells, in cell order
    trained: int  #: cells trained by this run
    skipped: int  #: cells found in the store
    partial: bool  #: stopped before every cell was stored
    wall_seconds: float
    store: str | None = None
    summary_rows: list[dict[str, Any]] = field(default_factory=list)
    #: per key: the training loss on each step's batch, (T,) float32 on the CPU, NaN once diverged;
    #: only the cells trained by this run (the store keeps final numbers, not curves)
    curves: dict[str, torch.Tensor] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        """Per cell without its seed: seeds stored, diverged, mean and 95% bootstrap interval of the
        test accuracy and of the final training loss."""
        if self.summary_rows:
            return self.summary_rows
        g = generator(self.config.seed, "bootstrap")
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in self.rows:
            groups.setdefault(tuple(row[a] for a in SUMMARY_AXES), []).append(row)
        out = []
        for key, rows in groups.items():
            acc = bootstrap_mean([_num(r["test_accuracy"]) for r in rows], generator=g)
            loss = bootstrap_mean([_num(r["final_loss"]) for r in rows], generator=g)
            first = flat(rows[0])
            params = {k: v for k, v in first.items() if k.startswith(("model.", "init."))}
            out.append(
                {
                    **dict(zip(SUMMARY_AXES, key, strict=True)),
                    **params,
                    "seeds": len(rows),
                    "diverged": sum(r["diverged_at"] is not None for r in rows),
                    "test_accuracy_mean": _finite(acc.mean),
                    "test_accuracy_low": _finite(acc.low),
                    "test_accuracy_high": _finite(acc.high),
                    "final_loss_mean": _finite(loss.mean),
                    "final_loss_low": _finite(loss.low),
                    "final_loss_high": _finite(loss.high),
                }
            )
        self.summary_rows = out
        return out

    def varying(self) -> list[str]:
        """The summary's columns that take more than one value (the axes a figure can show)."""
        rows = self.summary()
        cols = [
            c for c in (rows[0] if rows else {}) if c in SUMMARY_AXES or c.startswith(("model.", "init."))
        ]
        out = [c for c in cols if len({repr(r.get(c)) for r in rows}) > 1]
        for spec in ("init", "model"):
            names = {str(r[spec]).split("(")[0] for r in rows}
            params = [c for c in out if c.startswith(spec + ".")]
            if len(names) > 1:  # different schemes (families): the spec names the cell
                out = [c for c in out if c not in params]
            elif params and spec in out:  # one scheme (family): its varying parameters say more
                out.remove(spec)
        return out

    def _repr_html_(self) -> str:
        """Jupyter's display: the summary table (mean and 95% interval over seeds) and the figure."""
        cols = [*self.varying()] or ["init"]
        rows = [
            [
                *(r.get(c) for c in cols),
                r["seeds"],
                html.percent(r["test_accuracy_mean"]),
                f"[{html.percent(r['test_accuracy_low'])}, {html.percent(r['test_accuracy_high'])}]",
                r["final_loss_mean"],
                r["diverged"],
            ]
            for r in self.summary()
        ]
        columns = [*cols, "seeds", "test accuracy", "95% interval", "final loss", "diverged"]
        facts = [
            f"{len(self.cells)} cells: {self.trained} trained, {self.skipped} from the store"
            + (" (stopped early)" if self.partial else ""),
            f"store {self.store}" if self.store else "no store (in memory)",
            f"{self.wall_seconds:.1f} s",
        ]
        figure = (self, "sweep", "test accuracy and final loss per cell") if self.rows else None
        return card("initlab sweep", html.table(columns, rows), facts=facts, figure=figure)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": "sweep",
            "schema": SCHEMA_ID,
            "partial": self.partial,
            "store": self.store,
            "cells": len(self.cells),
            "trained": self.trained,
            "skipped": self.skipped,
            "stored": len(self.rows),
            "wall_seconds": self.wall_seconds,
            "summary": self.summary(),
            "rows": [{k: _json_value(v) for k, v in flat(r).items()} for r in self.rows],
        }

    def figure_names(self) -> list[str]:
        return ["sweep"] if self.rows else []

    def figures(self) -> dict[str, Any]:
        return {name: self.figure(name) for name in self.figure_names()}

    def figure(self, name: str, **options: Any) -> Any:
        if name not in self.figure_names():
            raise figure_error("sweep", name, self.figure_names())
        from ..viz.sweep import sweep_figure

        return sweep_figure(self, **options)


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _json_value(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _measure(res: TrainResult, m: int, smooth: int) -> dict[str, Any]:
    avg = moving_average(res.train_loss[:, m], smooth)  # (T,)
    finite = avg[torch.isfinite(avg)]
    return {
        "final_loss": float(avg[-1]) if len(avg) else math.nan,
        "best_loss": float(finite.min()) if len(finite) else math.nan,
        "test_accuracy": float(res.eval_accuracy[-1, m]),
        "test_loss": float(res.eval_loss[-1, m]),
        "diverged_at": res.diverged_at[m],
        "iterations_done": res.iterations,
        "loss_curve": res.train_loss[:, m].detach().to("cpu", torch.float32),  # (T,), not stored
    }


def _train_chunk(
    cfg: SweepConfig, chunk: Chunk, data: Dataset, should_stop: ShouldStop | None
) -> Rows | None:
    """Train the cells of ``chunk`` (one ensemble) and return their rows; ``None`` if stopped."""
    first = chunk[0][0]
    factory = model_factory(
        first.model, in_shape=(1, *data.image_shape), classes=data.n_classes, activation=first.activation
    )
    schemes = [scheme(c.init) for c, _ in chunk]
    ens = Ensemble.from_factory(
        factory, schemes, weight_seeds([c.seed for c, _ in chunk]), device=resolve_device(cfg.device)
    )
    tcfg = cfg.train_config(first.optimizer, first.lr, first.iterations)
    res = train(ens, data, tcfg, generator=generator(cfg.seed, "batches"), should_stop=should_stop)
    if res.interrupted:
        return None
    common = {
        **cfg.fixed(),
        "model_family": factory.family,
        "model_params": factory.params,
        "wall_seconds": res.wall_seconds / len(chunk),
        "ensemble_models": len(chunk),
        "device": res.device,
        "backend": res.backend,
        "initlab_version": version(),
        "torch_version": torch.__version__,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    rows = []
    for m, ((cell, key), sch) in enumerate(zip(chunk, schemes, strict=True)):
        rows.append(
            {
                **common,
                **cell.values(),
                "key": key,
                "init_scheme": sch.name,
                "init_params": sch.params,
                **_measure(res, m, cfg.smooth),
            }
        )
    return rows


def run(
    config: SweepConfig | None = None,
    *,
    dataset: Dataset | None = None,
    progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
) -> SweepResult:
    """Run the sweep (see the module docstring); returns a :class:`SweepResult`.

    ``dataset`` is used for the cells of its dataset (others are loaded); ``progress(done, total)``
    counts cells stored by this run; ``should_stop`` is polled between ensembles and between steps.
    """
    cfg = config if config is not None else SweepConfig()
    cfg.validate()
    start = time.perf_counter()
    cells = cfg.cells()
    fixed = cfg.fixed()
    keys = [cell_key(c, fixed) for c in cells]
    store = Store(cfg.store)
    try:
        done = store.keys()
        todo = [(c, k) for c, k in zip(cells, keys, strict=True) if k not in done]
        groups: dict[tuple[Any, ...], list[tuple[Cell, str]]] = {}
        for c, k in todo:
            groups.setdefault(c.group(), []).append((c, k))
        chunks = [g[i : i + cfg.chunk] for g in groups.values() for i in range(0, len(g), cfg.chunk)]
        loaded: dict[str, Dataset] = {}
        if dataset is not None:
            loaded[dataset_info(dataset.name).name] = dataset
        trained = 0
        curves: dict[str, torch.Tensor] = {}

        def data(name: str) -> Dataset:
            if name not in loaded:
                loaded[name] = load_dataset(name)
            return loaded[name]

        with progress_bar(progress, "sweep") as tick:

            def deliver(rows: Rows) -> None:
                nonlocal trained
                curves.update((r["key"], r.pop("loss_curve")) for r in rows)
                trained += store.add(rows)
                if tick is not None:
                    tick(trained, len(todo))

            train = functools.partial(_train_chunk, cfg)
            stopped = cfg.runner()(chunks, train, data, deliver, should_stop)
        rows_by_key = {r["key"]: r for r in store.rows(keys)}
    finally:
        store.close()
    return SweepResult(
        config=cfg,
        cells=cells,
        keys=keys,
        rows=[rows_by_key[k] for k in keys if k in rows_by_key],
        trained=trained,
        skipped=len(cells) - len(todo),
        partial=stopped,
        wall_seconds=time.perf_counter() - start,
        store=cfg.store,
        curves=curves,
    )


def sweep(
    config: SweepConfig | None = None,
    /,
    *,
    dataset: Dataset | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | bool | None = None,
    download_progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
    **fields_: Any,
) -> SweepResult:
    """Run a sweep: ``sweep(config)``, ``sweep(**fields)`` or ``sweep(config, **fields)``, then
    :func:`run`."""
    if isinstance(dataset, str):
        fields_, dataset = {**fields_, "dataset": (dataset,)}, None
    cfg = configure(SweepConfig, config, fields_, "sweep")
    cfg.validate()
    ds = dataset_for(cfg, dataset, data_dir, download_progress)
    return run(cfg, dataset=ds, progress=progress, should_stop=should_stop)


Config = SweepConfig
__all__ = [
    "GROUP_AXES",
    "SCHEMA_ID",
    "Config",
    "SweepConfig",
    "SweepResult",
    "config_from_toml",
    "run",
    "sweep",
]
