"""The ``reproduce`` study: the whole classic initialization study, end to end, in one call.

Parts, in the study's order, each run through another study's Python API:

1. **symmetry** -- zero vs constant vs random weights (:func:`initlab.studies.symmetry.symmetry`,
   its defaults: ReLU, 4 hidden layers of 100 units, MNIST, SGD 0.01, batch 128);
2. **probe** -- activation histograms, 5 layers x 100 units, 1000 N(0, 1) inputs
   (:func:`initlab.probe`): sigmoid under ``std=1``, ``std=0.01`` and the study's "Xavier"
   (``lecun_normal``); ReLU and tanh under ``std=0.01``, Xavier and He;
3. **glorot** -- the book's "Xavier" beside true Glorot (``xavier_normal``) on the same probe but with
   a 784-wide input (MNIST's), since on square layers the two rules are the same;
4. **compare** -- the MNIST comparison (:func:`initlab.studies.compare.compare`): std=0.01 vs Xavier vs
   He, 5-layer ReLU network, several seeds;
5. **depth** (opt-in, ``deep=True``, ``initlab reproduce --deep``) -- the same three inits on plain
   ReLU MLPs of width ``deep_width`` at ``deep_depths`` (:func:`initlab.studies.depth.run`): which
   init trains at which depth, with its findings (:mod:`initlab.studies.depth_findings`). Without
   ``deep`` the document, the report and the figures are those of the four parts above.

The result's :meth:`ReproduceResult.to_dict` holds every part's own ``to_dict()``; the findings the
report quotes are derived from that document by :func:`initlab.report.findings.derive`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core import html
from ..core.env import environment
from ..core.errors import InitlabError, check_int
from ..core.io import to_jsonable
from ..core.seeds import check_seed
from ..data import Dataset, load_dataset
from ..schemes import scheme
from . import compare as compare_study
from . import depth as depth_study
from . import probe as probe_study
from . import symmetry as symmetry_study
from .compare import DEFAULT_INITS as COMPARE_INITS
from .compare import CompareConfig, CompareResult
from .config import ShouldStop, configure, dataset_for, figure_error, option
from .depth import DEFAULT_DEPTHS, DepthConfig, DepthResult, parse_depths
from .depth_findings import plain
from .display import card
from .probe import ProbeConfig, ProbeResult
from .progress import progress_bar
from .symmetry import SymmetryConfig, SymmetryResult

SCHEMA_ID = "initlab.reproduce/1"
ACTIVATIONS = ("sigmoid", "relu", "tanh")
STD_1 = "std=1: normal(std=1)"
STD_001 = "std=0.01: normal(std=0.01)"
XAVIER = "Xavier: lecun_normal"
HE = "He: he_normal"
GLOROT = "Glorot: xavier_normal"
#: The inits probed per activation (the classic study's choice).
PROBE_INITS: dict[str, tuple[str, ...]] = {
    "sigmoid": (STD_1, STD_001, XAVIER),
    "relu": (STD_001, XAVIER, HE),
    "tanh": (STD_001, XAVIER, HE),
}
GLOROT_INITS = (XAVIER, GLOROT)
GLOROT_INPUT_DIM = 784  #: MNIST's input size: fan_in != fan_out in layer 1, so the two rules differ
PARTS = ("symmetry", "probe", "glorot", "compare")  #: the classic study; "depth" follows with deep=True
DEEP_PART = "depth"

Progress = Callable[..., None]


@dataclass(frozen=True)
class ReproduceConfig:
    """What a reproduce run does. ``quick_config()`` gives the smoke-test version."""

    seed: int = option(0, "seed of every part")
    quick: bool = option(
        False,
        "a smoke version in seconds: few iterations and seeds (other flags still apply)",
        default_text="",
    )
    symmetry_iterations: int = option(2000, "zero vs constant vs random: SGD iterations")
    symmetry_log_every: int | None = option(None, flag=None)  #: default: the symmetry lab's (iterations / 40)
    symmetry_rank_batch: int = option(500, flag=None)
    layers: int = option(5, flag=None)  #: probe: hidden layers
    width: int = option(100, flag=None)  #: probe: units per layer
    samples: int = option(1000, flag=None)  #: probe: N(0, 1) inputs
    probe_seeds: int = option(3, "histograms: weight seeds per init (histograms and stds are seed means)")
    iterations: int = option(2000, "MNIST comparison: SGD iterations")
    seeds: int = option(5, "MNIST comparison: seeds per init")
    batch_size: int = option(128, flag=None)
    lr: float = option(0.01, flag=None)
    device: str = option(
        "cpu", "cpu, cuda, cuda:N, mps or auto: where the probe, symmetry, MNIST and depth parts run"
    )
    deep: bool = option(
        False,
        "also the depth study (opt-in): std=0.01, Xavier and He on plain ReLU MLPs at several depths; "
        "which init trains at which depth, with its figure and findings",
        default_text="",
    )
    deep_depths: tuple[int, ...] = option(
        DEFAULT_DEPTHS,
        "--deep: depths to train, separated by commas",
        metavar="N,N,...",
        parse=parse_depths,
        default_text=",".join(str(d) for d in DEFAULT_DEPTHS),
    )
    deep_iterations: int = option(300, "--deep: SGD iterations per depth")
    deep_seeds: int = option(2, "--deep: seeds per (depth, init)")
    deep_width: int = option(64, flag=None)  #: --deep: units per hidden layer

    def data_name(self) -> str:
        return "mnist"

    @classmethod
    def quick_config(cls, seed: int = 0) -> ReproduceConfig:
        """A smoke version in seconds: the same parts, few iterations and seeds."""
        return cls(
            seed=seed,
            quick=True,
            symmetry_iterations=150,
            symmetry_log_every=10,
            symmetry_rank_batch=200,
            probe_seeds=1,
            iterations=150,
            seeds=2,
            deep_depths=(2, 10, 30),
            deep_seeds=1,
        )

    def validate(self) -> None:
        for name in (
            "symmetry_iterations",
            "layers",
            "width",
            "samples",
            "probe_seeds",
            "iterations",
            "seeds",
            "deep_iterations",
            "deep_seeds",
            "deep_width",
        ):
            check_int(getattr(self, name), name)
        check_seed(self.seed, count=max(self.seeds, self.probe_seeds))
        self.compare_config().validate()  # its parts follow their own commands' rules (labels, seeds)
        self.symmetry_config().validate()
        if self.deep:
            self.depth_config().validate()

    def compare_config(self) -> CompareConfig:
        return CompareConfig(
            seeds=self.seeds,
            seed=self.seed,
            iterations=self.iterations,
            batch_size=self.batch_size,
            lr=self.lr,
            inits=COMPARE_INITS,
            device=self.device,
        )

    def symmetry_config(self) -> SymmetryConfig:
        return SymmetryConfig(
            iterations=self.symmetry_iterations,
            log_every=self.symmetry_log_every,
            rank_batch=self.symmetry_rank_batch,
            batch_size=self.batch_size,
            lr=self.lr,
            seed=self.seed,
            device=self.device,
        )

    def depth_config(self) -> DepthConfig:
        """The depth part (``deep``): the MNIST comparison's inits, lr and batch on deeper ReLU MLPs."""
        return DepthConfig(
            model=f"mlp(layers={{depth}}, width={self.deep_width})",
            depths=self.deep_depths,
            inits=COMPARE_INITS,
            seeds=self.deep_seeds,
            seed=self.seed,
            iterations=self.deep_iterations,
            batch_size=self.batch_size,
            lr=self.lr,
            device=self.device,
        )

    def probe_config(self, act: str, inits: tuple[str, ...], input_dim: int | None) -> ProbeConfig:
        return ProbeConfig(
            activation=act,
            inits=inits,
            layers=self.layers,
            width=self.width,
            samples=self.samples,
            seeds=self.probe_seeds,
            seed=self.seed,
            input_dim=input_dim,
            device=self.device,
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``config.json``)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


Config = ReproduceConfig


def reference_std(act: str) -> float:
    """Std of ``phi(z)``, ``z ~ N(0, 1)``: the activation's natural output scale (collapse reference)."""
    from .. import theory

    m2 = theory.second_moment(act, 1.0)
    m1 = theory.activation_mean(act, 1.0)
    return math.sqrt(max(m2 - m1 * m1, 0.0))


@dataclass
class ReproduceResult:
    """Every part's result (``None``/empty where the run stopped before it), timings and environment."""

    config: ReproduceConfig
    environment: dict[str, Any]
    symmetry: SymmetryResult | None = None
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    glorot: dict[str, ProbeResult] = field(default_factory=dict)
    compare: CompareResult | None = None
    depth: DepthResult | None = None  #: the depth part (``config.deep``)
    seconds: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def completed(self) -> list[str]:
        """The parts that ran to the end."""
        done = []
        if self.symmetry is not None and not self.symmetry.interrupted:
            done.append("symmetry")
        if len(self.probes) == len(ACTIVATIONS):
            done.append("probe")
        if len(self.glorot) == len(ACTIVATIONS):
            done.append("glorot")
        if self.compare is not None and not self.compare.partial:
            done.append("compare")
        if self.depth is not None and not self.depth.partial:
            done.append(DEEP_PART)
        return done

    @property
    def reference_std(self) -> dict[str, float]:
        """Per activation, the std of ``phi(z)``, ``z ~ N(0, 1)`` (the collapse reference; the
        report and the ``std_per_layer`` figure read it from here)."""
        return {a: reference_std(a) for a in ACTIVATIONS}

    def to_dict(self) -> dict[str, Any]:
        """The measurements (``results.json`` without its ``findings``; see docs/results-reproduce.md)."""
        glorot_std = {
            s.label: s.std((self.config.width, GLOROT_INPUT_DIM)) for s in (scheme(x) for x in GLOROT_INITS)
        }
        doc: dict[str, Any] = {
            "study": "reproduce",
            "schema": SCHEMA_ID,
            "partial": self.interrupted,
            "quick": self.config.quick,
            "completed": self.completed,
            "config": self.config.to_dict(),
            "environment": self.environment,
            "seconds": dict(self.seconds),
            "parts": {
                "symmetry": None if self.symmetry is None else self.symmetry.to_dict(),
                "probe": {
                    "inits": {a: list(PROBE_INITS[a]) for a in ACTIVATIONS},
                    "reference_std": self.reference_std,
                    "activations": {a: r.to_dict() for a, r in self.probes.items()},
                },
                "glorot": {
                    "input_dim": GLOROT_INPUT_DIM,
                    "layer1_weight_std": glorot_std,
                    "activations": {a: r.to_dict() for a, r in self.glorot.items()},
                },
                "compare": None if self.compare is None else self.compare.to_dict(),
            },
        }
        if self.config.deep:  # only then: without --deep the document is the classic study's
            doc["parts"][DEEP_PART] = None if self.depth is None else self.depth.to_dict()
        return doc

    @property
    def partial(self) -> bool:
        return self.interrupted

    def figure_names(self) -> list[str]:
        """The figures of the parts that ran, in the report's order: ``symmetry_units``,
        ``symmetry_training``, ``histograms_<activation>`` per probed activation, ``std_per_layer``,
        ``glorot_vs_xavier``, ``mnist_compare`` and, with ``deep``, ``depth``."""
        names: list[str] = []
        sym = self.symmetry
        if sym is not None and sym.cases and sym.iterations_done > 0:
            names += ["symmetry_units", "symmetry_training"]
        names += [f"histograms_{act}" for act in self.probes]
        if self.probes:
            names.append("std_per_layer")
        if self.glorot:
            names.append("glorot_vs_xavier")
        if self.compare is not None and self.compare.train.iterations > 0:
            names.append("mnist_compare")
        if self.depth is not None and self.depth.rows:
            names.append("depth")
        return names

    def figures(self) -> dict[str, Any]:
        """``name -> Figure`` for every figure the report shows, for the parts that ran
        (:meth:`figure_names`)."""
        return {name: self.figure(name) for name in self.figure_names()}

    def figure(self, name: str) -> Any:
        """One of :meth:`figures`, by name (a matplotlib Figure); each part's figure is that part's
        own result's (``symmetry_units`` is the symmetry result's ``distinct_units``, ...)."""
        if name not in self.figure_names():
            raise figure_error("reproduce", name, self.figure_names())
        if name.startswith("histograms_"):
            return self.probes[name.removeprefix("histograms_")].figure("histograms")
        if name == "symmetry_units" and self.symmetry is not None:
            return self.symmetry.figure("distinct_units")
        if name == "symmetry_training" and self.symmetry is not None:
            return self.symmetry.figure("training")
        if name == "mnist_compare" and self.compare is not None:
            return self.compare.figure("compare")
        if name == "depth" and self.depth is not None:
            return self.depth.figure("depth")
        from ..viz import reproduce as viz

        if name == "std_per_layer":
            return viz.std_per_layer_figure(self.probes, self.reference_std)
        return viz.glorot_figure(self.glorot)

    def _repr_html_(self) -> str:
        """Jupyter's display: the parts that ran, the symmetry findings, the MNIST comparison's
        summary table and the ``std_per_layer`` figure (the report, :func:`initlab.report.build`,
        has every figure and the recommendation)."""
        facts = [
            "quick" if self.config.quick else "full",
            f"seed {self.config.seed}",
            "completed: "
            + (", ".join(self.completed) or "none")
            + (" (stopped early)" if self.partial else ""),
            f"{self.seconds.get('total', 0.0):.1f} s",
        ]
        parts: list[html.Markup | str] = []
        if self.symmetry is not None:
            parts += [
                html.paragraph("Zero vs constant vs random weights:"),
                html.bullets(self.symmetry.findings),
            ]
        if self.compare is not None:
            rows = [
                [
                    r["label"],
                    r["spec"],
                    r["seeds"],
                    r["final_train_loss"],
                    html.percent(r["test_accuracy_mean"]),
                ]
                for r in self.compare.summary()
            ]
            columns = ["init", "spec", "seeds", "train loss", "test accuracy"]
            parts.append(html.table(columns, rows, caption="The MNIST comparison"))
        if self.depth is not None:
            parts += [
                html.paragraph("Trainable depth (--deep):"),
                html.bullets(plain(s) for s in self.depth.findings.statements),
            ]
        figure = None
        if self.probes:
            figure = (self, "std_per_layer", "activation std per layer for every activation and init")
        return card("initlab reproduce", *parts, facts=facts, figure=figure)


class _Ticker:
    """Maps each part's ``progress(done, total)`` onto one bar over the whole run (model-iterations)."""

    def __init__(self, cfg: ReproduceConfig, progress: Progress | None) -> None:
        self.progress = progress
        self.weights = {
            "symmetry": 4 * cfg.symmetry_iterations * 2,  # 4 models, plus the per-step recorder
            "probe": 200 * len(ACTIVATIONS),
            "glorot": 100 * len(ACTIVATIONS),
            "compare": len(COMPARE_INITS) * cfg.seeds * cfg.iterations,
        }
        if cfg.deep:
            runs = len(COMPARE_INITS) * cfg.deep_seeds * len(cfg.deep_depths)
            self.weights[DEEP_PART] = runs * cfg.deep_iterations
        self.total = sum(self.weights.values())
        self.offset = 0

    def part(self, name: str) -> Progress:
        offset, weight = self.offset, self.weights[name]

        def tick(done: int, total: int, **info: Any) -> None:
            if self.progress is not None and total:
                self.progress(offset + round(weight * done / total), self.total, part=name, **info)

        return tick

    def finish(self, name: str) -> None:
        self.part(name)(1, 1)  # the bar reaches the end of this part
        self.offset += self.weights[name]


def run(
    config: ReproduceConfig | None = None,
    *,
    dataset: Dataset | None = None,
    progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
) -> ReproduceResult:
    """Run every part of the classic study; returns a :class:`ReproduceResult`.

    ``dataset`` (MNIST) skips loading. ``progress(done, total, part=..., **info)`` reports one bar
    over the whole run (``progress=True``: a bar, :mod:`initlab.studies.progress`); ``should_stop()``
    is polled by the trainers between steps and between parts: when it returns True the run ends
    after the current step, the parts not reached are left out, and the result is marked
    ``interrupted``.
    """
    cfg = config if config is not None else ReproduceConfig()
    cfg.validate()
    with progress_bar(progress, "reproduce") as tick:
        return _run_parts(cfg, dataset, tick, should_stop)


def _run_parts(
    cfg: ReproduceConfig, dataset: Dataset | None, progress: Progress | None, should_stop: ShouldStop | None
) -> ReproduceResult:
    """The parts of :func:`run`, in order, on a validated config."""
    result = ReproduceResult(config=cfg, environment=environment())
    ticker = _Ticker(cfg, progress)
    stop = should_stop if should_stop is not None else (lambda: False)
    start = time.perf_counter()
    try:
        t = time.perf_counter()
        data = dataset if dataset is not None else load_dataset("mnist")
        result.seconds["data"] = time.perf_counter() - t

        t = time.perf_counter()
        result.symmetry = symmetry_study.run(
            cfg.symmetry_config(), dataset=data, progress=ticker.part("symmetry"), should_stop=should_stop
        )
        result.seconds["symmetry"] = time.perf_counter() - t
        if result.symmetry.interrupted or stop():
            result.interrupted = True
            return result
        ticker.finish("symmetry")

        for part, store, inits, input_dim in (
            ("probe", result.probes, PROBE_INITS, None),
            ("glorot", result.glorot, dict.fromkeys(ACTIVATIONS, GLOROT_INITS), GLOROT_INPUT_DIM),
        ):
            t = time.perf_counter()
            for k, act in enumerate(ACTIVATIONS):
                store[act] = probe_study.run(cfg.probe_config(act, inits[act], input_dim))
                ticker.part(part)(k + 1, len(ACTIVATIONS))
                if stop():
                    result.interrupted = True
                    break
            result.seconds[part] = time.perf_counter() - t
            if result.interrupted:
                return result
            ticker.finish(part)

        t = time.perf_counter()
        result.compare = compare_study.run(
            cfg.compare_config(), dataset=data, progress=ticker.part("compare"), should_stop=should_stop
        )
        result.seconds["compare"] = time.perf_counter() - t
        result.interrupted = result.compare.partial
        if result.interrupted:
            return result
        ticker.finish("compare")

        if cfg.deep:
            if stop():
                result.interrupted = True
                return result
            t = time.perf_counter()
            result.depth = depth_study.run(
                cfg.depth_config(), dataset=data, progress=ticker.part(DEEP_PART), should_stop=should_stop
            )
            result.seconds[DEEP_PART] = time.perf_counter() - t
            result.interrupted = result.depth.partial
            if not result.interrupted:
                ticker.finish(DEEP_PART)
    finally:
        result.seconds["total"] = time.perf_counter() - start
    return result


def reproduce(
    config: ReproduceConfig | None = None,
    /,
    *,
    dataset: Dataset | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | bool | None = None,
    download_progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
    **fields: Any,
) -> ReproduceResult:
    """The whole classic study: ``reproduce(config)``, ``reproduce(**fields)`` or
    ``reproduce(config, **fields)`` (``ReproduceConfig``'s fields replace the config's), then
    :func:`run`. ``quick=True`` without a ``config`` starts from
    :meth:`ReproduceConfig.quick_config` (other fields still apply).

    ``dataset`` is MNIST, loaded (a :class:`~initlab.data.Dataset`) or by name; otherwise MNIST is
    loaded from ``data_dir`` first (``download_progress`` reports a download).
    """
    if config is not None and fields.get("quick"):
        raise InitlabError("pass either a config or quick=True (ReproduceConfig.quick_config()), not both")
    if isinstance(dataset, str):
        if dataset != "mnist":
            raise InitlabError(f"reproduce runs on mnist, got dataset {dataset!r}")
        dataset = None
    base = ReproduceConfig.quick_config() if config is None and fields.get("quick") else config
    cfg = configure(ReproduceConfig, base, fields, "reproduce")
    cfg.validate()
    data = dataset_for(cfg, dataset, data_dir, download_progress)
    return run(cfg, dataset=data, progress=progress, should_stop=should_stop)
