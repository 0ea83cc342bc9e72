"""The ``depth`` study (library part): which initialization trains at which depth, measured.

For a model template with ``{depth}`` (``mlp(layers={depth}, width=64)``, ``resnet(depth={depth},
norm=none)``), a list of depths, init specs and seeds: every (depth, spec, seed) is trained for a
fixed budget on the dataset -- all models of one depth as one :class:`~initlab.ensemble.Ensemble`
(spec ``k``, replicate ``s`` has model seed ``seed + s``, its ``weights`` stream, as in ``compare``),
by :func:`initlab.train.train` on the same batches (the ``batches`` stream of ``seed``) -- and
recorded: the final training loss (mean of the last tenth of the batch losses), the test accuracy,
the iteration it diverged at, and the **signal at initialization**: the std of the last residual
stream (a model with residual blocks) or of the last hidden activation, on the first
``probe_samples`` training images, from :func:`initlab.measure.probe_ensemble`.

A depth "trains" for a spec when its mean test accuracy over seeds is above ``threshold``;
:meth:`DepthResult.deepest` is the deepest such depth. For the ``mlp`` family the mean-field depth
scale ``6 xi_c`` (Schoenholz et al. 2017: signals propagate ~6 xi_c layers) is recorded per spec
(``inf`` at criticality: He with ReLU). Stopping early (``should_stop``) keeps the finished depths.

The findings -- where each init trains and falls to chance, which inits train at each depth, the
initial signal's collapse or explosion per layer, and ``6 xi_c`` against the measured limit -- are
computed from the results document by :func:`initlab.studies.depth_findings.depth_facts`
(:attr:`DepthResult.findings`; ``results.json`` stores them under ``findings``).

The verb: ``initlab.depth(...)`` (:func:`depth`); the figure: :meth:`DepthResult.figure`
(:mod:`initlab.viz.depth`); the command: ``initlab depth`` (:mod:`initlab.cli._depth`); in the
reproduce report with ``initlab reproduce --deep``; results.json: docs/results-depth.md.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from .. import theory
from ..core import html
from ..core.device import resolve_device
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..core.seeds import check_seed, generator, weight_seeds
from ..data import Dataset, dataset_info, load_dataset
from ..ensemble import Ensemble, model_factory
from ..measure import probe_ensemble
from ..schemes import scheme
from ..tools import init_ as tools_init_
from ..train import TrainConfig, train
from .config import Progress, ShouldStop, check_labels, configure, dataset_for, figure_error, option
from .depth_findings import DepthFacts, accuracy_pct, depth_facts, plain, trains
from .display import card
from .progress import progress_bar

#: The ``"schema"`` of results.json (JSON Schema: initlab/studies/schemas/depth.schema.json).
SCHEMA_ID = "initlab.depth/1"
DEFAULT_DEPTHS: tuple[int, ...] = (2, 5, 10, 20, 30, 50)
DEFAULT_INITS: tuple[str, ...] = ("Xavier: lecun_normal", "He: he_normal")


def parse_depths(text: str) -> tuple[int, ...]:
    """``"2,10,50"`` -> ``(2, 10, 50)``; ``""`` -> ``()`` (which :meth:`DepthConfig.validate` refuses)."""
    if not text.strip():
        return ()
    if re.fullmatch(r"\s*\d+(\s*,\s*\d+)*\s*", text) is None:
        raise InitlabError(
            f"--depths {text!r} must be non-negative integers separated by commas, e.g. 2,10,50"
        )
    return tuple(int(t) for t in text.split(","))


@dataclass(frozen=True)
class DepthConfig:
    """Everything that defines a depth run. ``model`` holds ``{depth}``; small CPU defaults."""

    model: str = option(
        "mlp(layers={depth}, width=64)",
        "model family spec holding '{depth}', e.g. 'resnet(depth={depth}, norm=none)'",
        metavar="SPEC",
    )
    depths: tuple[int, ...] = option(
        DEFAULT_DEPTHS,
        "depths to train, separated by commas, e.g. 2,10,50",
        metavar="N,N,...",
        parse=parse_depths,
        default_text=",".join(str(d) for d in DEFAULT_DEPTHS),
    )
    inits: tuple[str, ...] = option(
        DEFAULT_INITS,
        "init spec, repeatable, optionally labelled 'label: spec'",
        flag="--init",
        repeatable=True,
        metavar="SPEC",
        default_text=", ".join(repr(s) for s in DEFAULT_INITS),
    )
    activation: str | None = option(
        None, "activation (of the families that have one)", default_text="the family's"
    )
    seeds: int = option(2, "seeds per (depth, init); figures show mean and band")
    seed: int = option(0, "first init seed: model seeds are seed, seed+1, ...; also seeds the batches")
    dataset: str = option("mnist", "mnist (bundled), fashion-mnist or kmnist")
    iterations: int = option(300, "SGD steps per depth")
    batch_size: int = option(128, "mini-batch size")
    lr: float = option(0.01, "learning rate")
    optimizer: str = option("sgd", "optimizer (as in compare)")
    eval_size: int | None = option(2000, "test images for the final accuracy (all: give the test set size)")
    threshold: float = option(0.5, "a depth 'trains' when its mean test accuracy is above this")
    probe_samples: int = option(64, "training images for the signal std at initialization")
    device: str = option("cpu", "cpu, cuda, cuda:N, mps or auto: where the ensembles train")

    def data_name(self) -> str:
        return self.dataset

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``config.json``)."""
        out: dict[str, Any] = to_jsonable(self)
        return out

    def validate(self) -> None:
        """Raise ``InitlabError`` naming the first bad setting."""
        if "{depth}" not in self.model:
            raise InitlabError(f"model {self.model!r} must hold '{{depth}}', e.g. 'mlp(layers={{depth}})'")
        if not self.depths:
            raise InitlabError("the depth list is empty: give at least one depth, e.g. --depths 2,10,50")
        if any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in self.depths):
            raise InitlabError(f"depths must be non-negative integers, got {list(self.depths)!r}")
        if len(set(self.depths)) != len(self.depths):
            raise InitlabError(f"each depth once, got {list(self.depths)!r}")
        if not self.inits:
            raise InitlabError("give at least one --init spec")
        check_labels([s for s in self.inits if s.strip() != "auto"], "--init")
        if self.seeds < 1:
            raise InitlabError(f"seeds must be >= 1, got {self.seeds}")
        if self.probe_samples < 1:
            raise InitlabError(f"probe_samples must be >= 1, got {self.probe_samples}")
        check_seed(self.seed, count=self.seeds)
        info = dataset_info(self.dataset)
        for depth in self.depths:  # a depth the family refuses fails now, not after the others trained
            model_factory(
                self.spec_at(depth),
                in_shape=(1, *info.image_shape),
                classes=len(info.classes),
                activation=self.activation,
            )
        if not 0.0 <= self.threshold <= 1.0:
            raise InitlabError(f"threshold={self.threshold} must be an accuracy in [0, 1]")
        self.train_config().validate()
        resolve_device(self.device)

    def spec_at(self, depth: int) -> str:
        """The model spec at ``depth``."""
        return self.model.replace("{depth}", str(depth))

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            iterations=self.iterations,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,
            eval_every=0,
            eval_size=self.eval_size,
        )


@dataclass(frozen=True)
class DepthRow:
    """One trained model: its depth, init (label, spec), replicate seed and what was measured."""

    depth: int
    label: str
    spec: str
    seed: int
    final_loss: float
    accuracy: float
    diverged_at: int | None
    init_signal_std: float


@dataclass(frozen=True)
class DepthResult:
    """Rows per (depth, spec, seed), the depth scales ``6 xi_c`` (mlp family) and the run's facts."""

    config: DepthConfig
    rows: tuple[DepthRow, ...]
    depth_scale: dict[str, float | None]
    partial: bool
    wall_seconds: float
    signal_from: dict[int, str] = field(default_factory=dict)

    def accuracy(self, label: str) -> dict[int, float]:
        """Mean test accuracy over seeds per depth for the spec ``label``."""
        out: dict[int, list[float]] = {}
        for r in self.rows:
            if r.label == label:
                out.setdefault(r.depth, []).append(r.accuracy)
        return {d: sum(v) / len(v) for d, v in out.items()}

    def deepest(self, label: str) -> int | None:
        """The deepest depth whose mean accuracy is above ``threshold`` (``None`` if none), decided as
        the findings decide: on the mean as a percentage with 1 decimal
        (:func:`~initlab.studies.depth_findings.trains`)."""
        by: dict[int, list[float]] = {}
        for r in self.rows:
            if r.label == label:
                by.setdefault(r.depth, []).append(r.accuracy)
        pct = round(100 * self.config.threshold, 1)
        ok = [d for d, accs in by.items() if trains(accuracy_pct(accs), pct)]
        return max(ok) if ok else None

    @property
    def findings(self) -> DepthFacts:
        """The typed findings with their sentences (:func:`~initlab.studies.depth_findings.depth_facts`)."""
        return depth_facts(self._measurements())

    def summary(self) -> list[dict[str, Any]]:
        """One row per (depth, init): mean test accuracy and final loss over seeds (finite ones),
        diverged seeds, mean signal std at initialization."""
        by: dict[tuple[int, str], list[DepthRow]] = {}
        for r in self.rows:
            by.setdefault((r.depth, r.label), []).append(r)
        out = []
        for (depth, label), rs in by.items():
            losses = [r.final_loss for r in rs if math.isfinite(r.final_loss)]
            out.append(
                {
                    "depth": depth,
                    "label": label,
                    "seeds": len(rs),
                    "accuracy": sum(r.accuracy for r in rs) / len(rs),
                    "final_loss": sum(losses) / len(losses) if losses else None,
                    "diverged": sum(r.diverged_at is not None for r in rs),
                    "init_signal_std": sum(r.init_signal_std for r in rs) / len(rs),
                }
            )
        return out

    def _repr_html_(self) -> str:
        """Jupyter's display: one row per (depth, init), the findings and the ``depth`` figure."""
        rows = [
            [
                s["depth"],
                s["label"],
                html.percent(s["accuracy"]),
                s["final_loss"],
                f"{s['diverged']}/{s['seeds']}",
                s["init_signal_std"],
            ]
            for s in self.summary()
        ]
        columns = [
            "depth",
            "init",
            "test accuracy (mean)",
            "final train loss",
            "diverged",
            "signal std at init",
        ]
        cfg = self.config
        facts = [
            f"{cfg.model} on {cfg.dataset}",
            f"depths {', '.join(str(d) for d in cfg.depths)}",
            f"{cfg.seeds} seed(s), {cfg.iterations} iterations"
            + (" (stopped early)" if self.partial else ""),
            f"{self.wall_seconds:.1f} s",
        ]
        figure = (self, "depth", "test accuracy and initial signal std against depth, one line per init")
        return card(
            "initlab depth",
            html.table(columns, rows),
            html.bullets(plain(s) for s in self.findings.statements),
            facts=facts,
            figure=figure if self.rows else None,
        )

    def figure(self, name: str = "depth") -> Any:
        """``depth``: accuracy and initial signal against depth (:mod:`initlab.viz.depth`)."""
        if name != "depth":
            raise figure_error("depth", name, ("depth",))
        from ..viz.depth import depth_figure

        return depth_figure(self)

    def figure_names(self) -> list[str]:
        """The names :meth:`figures` draws."""
        return ["depth"]

    def figures(self) -> dict[str, Any]:
        return {"depth": self.figure("depth")}

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` document (schema: docs/results-depth.md), with its ``findings``."""
        doc = self._measurements()
        doc["findings"] = depth_facts(doc).to_dict()
        return doc

    def _measurements(self) -> dict[str, Any]:
        """``to_dict()`` without the findings (what they are computed from)."""
        labels = list(dict.fromkeys(r.label for r in self.rows))
        return {
            "study": "depth",
            "schema": SCHEMA_ID,
            "config": to_jsonable(self.config),
            "partial": self.partial,
            "wall_seconds": self.wall_seconds,
            "depth_scale": {k: _scale_json(v) for k, v in self.depth_scale.items()},
            "signal_from": {str(d): w for d, w in self.signal_from.items()},
            "deepest": {label: self.deepest(label) for label in labels},
            "rows": [to_jsonable(r) for r in self.rows],
        }


Config = DepthConfig


def _scale_json(v: float | None) -> float | str | None:
    """A depth scale for JSON: a number, ``"inf"`` at criticality, ``None`` without a prediction."""
    if v is None or math.isnan(v):
        return None
    return "inf" if math.isinf(v) else float(v)


def _depth_scale(cfg: DepthConfig, label_spec: str) -> float | None:
    """``6 xi_c`` of the hidden layers of the mlp family for ``label_spec`` (``None`` elsewhere)."""
    fac = model_factory(cfg.spec_at(cfg.depths[0]), activation=cfg.activation)  # a depth the family takes
    if fac.family != "mlp" or fac.activation is None or label_spec.strip() == "auto":
        return None
    width = int(fac.params["width"])  # type: ignore[arg-type]
    lv = theory.layer_variances(label_spec, (width, width), bias=bool(fac.params.get("bias", True)))
    if lv is None:
        return None
    return 6.0 * theory.xi_c(fac.activation, lv.sigma_w2, lv.sigma_b2)


def _signal(ens: Ensemble, x: torch.Tensor, classes: int, seed: int) -> tuple[list[float], str]:
    """Per model: std at initialization of the last residual stream, else the last activation
    (the cotangent on the logits from the ``cotangents`` stream of ``seed``, drawn on the CPU)."""
    cot = generator(seed, "cotangents")
    g = torch.randn(x.shape[0], classes, generator=cot, dtype=x.dtype).to(ens.device)  # (B, C)
    x = x.to(ens.device)  # (B, D)
    res = probe_ensemble(ens, x, g)  # (M, R, ...)
    std = res.stat("std")  # (M, R)
    streams = [k for k, r in enumerate(res.records) if r.tap.role == "stream"]
    acts = [k for k, r in enumerate(res.records) if r.tap.kind == "activation"]
    k = streams[-1] if streams else (acts[-1] if acts else len(res.records) - 1)
    return [float(v) for v in std[:, k]], res.records[k].name


def run(
    config: DepthConfig | None = None,
    *,
    dataset: Dataset | None = None,
    progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
) -> DepthResult:
    """Train every (depth, spec, seed) of ``config`` (module doc); the depths finished so far if stopped."""
    cfg = config if config is not None else DepthConfig()
    cfg.validate()
    data = dataset if dataset is not None else load_dataset(cfg.dataset)
    labels = [scheme(s).label if s.strip() != "auto" else "auto" for s in cfg.inits]
    model_seeds = [cfg.seed + s for s in range(cfg.seeds)]
    specs = [s for s in cfg.inits for _ in model_seeds]
    x = data.train_x[: cfg.probe_samples]  # (B, D)
    start = time.perf_counter()
    rows: list[DepthRow] = []
    where: dict[int, str] = {}
    with progress_bar(progress, "depth") as tick:
        partial = _train_depths(cfg, data, labels, model_seeds, specs, x, rows, where, tick, should_stop)
    scales = {
        label: _depth_scale(cfg, s.split(":", 1)[-1]) for label, s in zip(labels, cfg.inits, strict=True)
    }
    return DepthResult(cfg, tuple(rows), scales, partial, time.perf_counter() - start, where)


def _train_depths(
    cfg: DepthConfig,
    data: Dataset,
    labels: list[str],
    model_seeds: list[int],
    specs: list[str],
    x: torch.Tensor,
    rows: list[DepthRow],
    where: dict[int, str],
    tick: Progress | None,
    should_stop: ShouldStop | None,
) -> bool:
    """Train depth after depth, appending to ``rows``/``where``; ``True`` if stopped early."""
    in_shape, classes = (1, *data.image_shape), data.n_classes
    for i, depth in enumerate(cfg.depths):
        if should_stop is not None and should_stop():
            return True
        factory = model_factory(
            cfg.spec_at(depth), in_shape=in_shape, classes=classes, activation=cfg.activation
        )
        ens = Ensemble.from_factory(
            factory,
            specs,
            weight_seeds(model_seeds * len(cfg.inits)),
            init=tools_init_,
            device=resolve_device(cfg.device),
        )
        signal, where[depth] = _signal(ens, x, classes, cfg.seed)
        res = train(
            ens, data, cfg.train_config(), generator=generator(cfg.seed, "batches"), should_stop=should_stop
        )
        if res.interrupted:
            return True
        tail = res.train_loss[-max(1, res.iterations // 10) :].double()  # (T', M)
        acc = res.final_accuracy
        for m, spec in enumerate(specs):
            ok = tail[:, m][torch.isfinite(tail[:, m])]
            loss = float(ok.mean()) if ok.numel() else math.nan
            rows.append(
                DepthRow(
                    depth,
                    labels[m // cfg.seeds],
                    spec,
                    model_seeds[m % cfg.seeds],
                    loss,
                    float(acc[m]),
                    res.diverged_at[m],
                    signal[m],
                )
            )
        if tick is not None:
            tick(i + 1, len(cfg.depths), depth=depth)
    return False


def depth(
    config: DepthConfig | None = None,
    /,
    *,
    dataset: Dataset | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | bool | None = None,
    download_progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
    **fields: Any,
) -> DepthResult:
    """Trainable depth, measured: ``depth(config)``, ``depth(**fields)`` or ``depth(config, **fields)``
    (``DepthConfig``'s fields replace the config's), then :func:`run`.

    ``dataset`` is a loaded :class:`~initlab.data.Dataset` or a dataset name (the ``dataset`` field);
    ``data_dir``/``download_progress`` load it from a folder, reporting a download.

    """
    if isinstance(dataset, str):
        fields, dataset = {**fields, "dataset": dataset}, None
    cfg = configure(DepthConfig, config, fields, "depth")
    cfg.validate()
    ds = dataset_for(cfg, dataset, data_dir, download_progress)
    return run(cfg, dataset=ds, progress=progress, should_stop=should_stop)


__all__ = [
    "DEFAULT_DEPTHS",
    "DEFAULT_INITS",
    "SCHEMA_ID",
    "Config",
    "DepthConfig",
    "DepthResult",
    "DepthRow",
    "depth",
    "parse_depths",
    "run",
]
