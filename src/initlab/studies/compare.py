"""The ``compare`` study: train the same network from several initializations and compare.

Defaults reproduce the classic comparison (the MNIST experiment of the well-known textbook study of
weight initialization): a 784-100-100-100-100-10 ReLU network (``mlp(layers=4, width=100)``; any
model family or ``MOD:FACTORY`` with ``model``), biases zero, trained from three
initializations -- ``normal(std=0.01)``, "Xavier" and He -- with plain SGD (lr 0.01) on mini-batches
of 128 drawn with replacement, for 2000 iterations. The study's "Xavier" is std ``1/sqrt(n)`` with
``n`` the fan-in, which is ``lecun_normal`` (Glorot & Bengio's own rule averages fan-in and fan-out:
``xavier_normal``); the default labels it ``"Xavier: lecun_normal"``.

Seeds (:mod:`initlab.core.seeds`): init spec ``i`` with replicate ``j`` (``j < seeds``) has model seed
``seed + j`` and draws its weights from that seed's ``weights`` stream -- the same seeds for every
spec, so specs of one family differ only by their scale at equal seeds, and ``(spec, seed)`` gives
the same initial weights as in ``probe`` and ``symmetry``. Batches come from the ``batches`` stream
of ``seed``, and every model sees the same batches: ``seeds`` varies the initial weights only.

Models: ``model`` is a family spec (:func:`initlab.ensemble.model_factory`) or ``MOD:FACTORY``;
without it the model is the classic MLP ``mlp(layers=LAYERS, width=WIDTH)``, sized by ``layers`` and
``width`` (the study's traditional settings, which describe that default only: with ``model`` they
must stay at their defaults). All models are one :class:`~initlab.ensemble.Ensemble` on ``device``,
trained by :func:`initlab.train.train` (on the CPU a dense MLP takes the engine's fast path,
bit-identical to the trainer before ensembles).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..activations import activation
from ..core import html
from ..core.device import resolve_device
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..core.seeds import check_seed, generator, weight_seeds
from ..data import Dataset, dataset_info, load_dataset
from ..ensemble import Ensemble, ModelFactory, Stack, model_factory
from ..measure.series import moving_average, sample_std
from ..schemes import Scheme, scheme
from ..train import OPTIMIZERS, SAMPLINGS, TrainConfig, TrainResult, dense_mlp, train
from .config import Progress, ShouldStop, check_labels, configure, dataset_for, figure_error, option
from .display import card
from .progress import progress_bar

#: The ``"schema"`` of results.json (JSON Schema: initlab/studies/schemas/compare.schema.json).
SCHEMA_ID = "initlab.compare/1"
DEFAULT_INITS: tuple[str, ...] = ("std=0.01: normal(std=0.01)", "Xavier: lecun_normal", "He: he_normal")
BIAS_MODES = ("zeros", "scheme", "none")
XAVIER_NOTE = (
    "'Xavier' here is lecun_normal: std 1/sqrt(fan_in), as in the classic study "
    "(Glorot & Bengio's own rule, std sqrt(2/(fan_in + fan_out)), is xavier_normal)."
)


@dataclass(frozen=True)
class CompareConfig:
    """Everything that defines a compare run (the ``initlab compare`` flags, one to one)."""

    dataset: str = option("mnist", "mnist (bundled), fashion-mnist or kmnist")
    model: str | None = option(
        None,
        "model family spec, e.g. 'cnn(depth=6, channels=32)', or PACKAGE.MODULE:FACTORY",
        metavar="SPEC",
        default_text="mlp(layers=LAYERS, width=WIDTH)",
    )
    layers: int = option(4, "hidden layers of the default mlp (with --model: give them in the spec)")
    width: int = option(100, "units per hidden layer of the default mlp")
    activation: str = option("relu", "activation (of the families that have one)")
    inits: tuple[str, ...] = option(
        DEFAULT_INITS,
        "init spec, repeatable, optionally labelled 'label: spec'",
        flag="--init",
        repeatable=True,
        metavar="SPEC",
        default_text=", ".join(repr(s) for s in DEFAULT_INITS),
    )
    bias: str = option(
        "zeros",
        "initial biases: zeros (all biases start at 0), scheme (the scheme's bias rule) or none",
        choices=BIAS_MODES,
    )
    seeds: int = option(1, "seeds per init; figures show mean and band")
    seed: int = option(0, "first init seed: model seeds are seed, seed+1, ...; also seeds the batches")
    iterations: int = option(2000, "SGD steps")
    batch_size: int = option(128, "mini-batch size")
    lr: float = option(0.01, "learning rate")
    optimizer: str = option(
        "sgd",
        f"{', '.join(OPTIMIZERS)}, or a per-model torch.optim class with arguments: 'RMSprop(alpha=0.9)'",
    )
    momentum: float = option(0.9, "momentum for --optimizer momentum")
    clip: float | None = option(None, "clip each model's gradient to this global norm", default_text="none")
    sampling: str = option("replacement", f"{' or '.join(SAMPLINGS)} (replacement is the study's)")
    eval_every: int = option(200, "test-set evaluation period")
    smooth: int = option(25, "moving-average window (iterations) for figures and the final training loss")
    device: str = option("cpu", "cpu, cuda, cuda:N, mps or auto")
    backend: str = option("auto", "training backend: auto, autograd or engine (dense MLPs on the CPU)")

    def data_name(self) -> str:
        return self.dataset

    def model_seeds(self) -> list[int]:
        """Per model, spec-major and seed-minor: its model seed."""
        return [self.seed + j for _ in self.inits for j in range(self.seeds)]

    def validate(self) -> None:
        """Raise ``InitlabError`` for the first bad setting (data files are not touched)."""
        if not self.inits:
            raise InitlabError("give at least one --init spec")
        for name in ("width", "seeds", "smooth"):
            v = getattr(self, name)
            if v <= 0:
                raise InitlabError(f"{name} must be positive, got {v}")
        check_seed(self.seed, count=self.seeds)
        if self.layers < 0:
            raise InitlabError(f"layers (hidden layers) must be >= 0, got {self.layers}")
        if self.bias not in BIAS_MODES:
            raise InitlabError(f"unknown bias mode {self.bias!r}; use one of {', '.join(BIAS_MODES)}")
        info = dataset_info(self.dataset)
        activation(self.activation)
        check_labels(self.inits, "--init")
        self.train_config().validate()
        if self.model is not None:
            if (self.layers, self.width) != (4, 100):
                raise InitlabError(
                    "--layers and --width size the default mlp; with --model give the sizes in the spec, "
                    f"e.g. 'mlp(layers={self.layers}, width={self.width})'"
                )
            if self.bias == "none":
                raise InitlabError("bias none is for the default mlp; with --model say it in the spec")
        self.factory(info.image_shape, len(info.classes))
        resolve_device(self.device)

    def model_spec(self) -> str:
        """The model as a spec: ``model``, or the classic ``mlp(layers=LAYERS, width=WIDTH)``."""
        if self.model is not None:
            return self.model
        bias = "" if self.bias != "none" else ", bias=false"
        return f"mlp(layers={self.layers}, width={self.width}{bias})"

    def sizes(self) -> tuple[int, int]:
        """Per model: parameters, and activation values per sample (all module outputs), counted on
        the ``meta`` device (no memory, no randomness) -- for the memory estimate before a run."""
        info = dataset_info(self.dataset)
        factory = self.factory(info.image_shape, len(info.classes))
        acts = [0]
        with torch.device("meta"):
            model = factory()
            hooks = [
                m.register_forward_hook(lambda _m, _i, out: acts.__setitem__(0, acts[0] + _numel(out)))
                for m in model.modules()
                if not list(m.children())
            ]
            model(torch.zeros(1, math.prod(info.image_shape)))
            for h in hooks:
                h.remove()
        return sum(p.numel() for p in model.parameters()), acts[0]

    def factory(self, image_shape: tuple[int, ...], classes: int) -> ModelFactory:
        """The model factory for images of ``image_shape`` (one channel) and ``classes`` classes."""
        return model_factory(
            self.model_spec(), in_shape=(1, *image_shape), classes=classes, activation=self.activation
        )

    def schemes(self) -> list[Scheme]:
        return [scheme(s) for s in self.inits]

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            iterations=self.iterations,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,
            momentum=self.momentum,
            clip=self.clip,
            sampling=self.sampling,
            eval_every=self.eval_every,
            backend=self.backend,
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``config.json``)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass
class CompareResult:
    """A finished (or interrupted) compare run: models in order spec-major, seed-minor."""

    config: CompareConfig
    widths: list[int] | None  #: the dense MLP's widths; None for other models
    labels: list[str]  #: per spec
    specs: list[str]  #: per spec, canonical
    model_spec: list[int]  #: per model: index into labels/specs
    model_seed: list[int]  #: per model: its init seed
    train: TrainResult
    dataset: dict[str, Any] = field(default_factory=dict)
    ensemble: Ensemble | None = None  #: the trained models (not part of ``to_dict``)
    model: str = ""  #: the model's canonical spec
    classes: int = 10

    @property
    def partial(self) -> bool:
        return self.train.interrupted

    @property
    def stack(self) -> Stack | None:
        """The trained models as a :class:`~initlab.ensemble.Stack` (a CPU copy), when they are dense MLPs."""
        ens = self.ensemble
        plan = dense_mlp(ens) if ens is not None else None
        return plan.stack(ens) if ens is not None and plan is not None else None

    _FIGURES: ClassVar[tuple[str, ...]] = ("compare",)

    def figure_names(self) -> list[str]:
        """The names :meth:`figures` draws, in order."""
        return list(self._FIGURES)

    def figures(self) -> dict[str, Any]:
        """``compare``: smoothed training loss and test accuracy per init (:mod:`initlab.viz.compare`)."""
        return {name: self.figure(name) for name in self.figure_names()}

    def figure(self, name: str) -> Any:
        """One of :meth:`figures`, by name (a matplotlib Figure)."""
        if name != "compare":
            raise figure_error("compare", name, self._FIGURES)
        from ..viz.compare import compare_figure

        return compare_figure(self)

    @property
    def notes(self) -> list[str]:
        lecun = any(scheme(s).name == "lecun_normal" for s in self.config.inits)
        return [XAVIER_NOTE] if lecun else []

    def smoothed_loss(self) -> Tensor:
        """(T, M) trailing moving average of the training loss (window ``config.smooth``)."""
        return smooth(self.train.train_loss, self.config.smooth)

    def summary(self) -> list[dict[str, Any]]:
        """One row per spec: final smoothed training loss and final test accuracy over its seeds."""
        tl = self.train.train_loss  # (T, M)
        tail = (
            smooth(tl, self.config.smooth)[-1] if len(tl) else torch.full((len(self.model_spec),), math.nan)
        )  # (M,)
        acc = self.train.final_accuracy  # (M,)
        rows = []
        for i, (label, spec) in enumerate(zip(self.labels, self.specs, strict=True)):
            ms = [m for m, s in enumerate(self.model_spec) if s == i]
            ok = [m for m in ms if self.train.diverged_at[m] is None]
            accs = acc[ok] if ok else torch.empty(0, dtype=torch.float64)
            rows.append(
                {
                    "label": label,
                    "spec": spec,
                    "seeds": len(ms),
                    "final_train_loss": _mean(tail[ok]) if ok else None,
                    "test_accuracy_mean": _mean(accs) if ok else None,
                    "test_accuracy_std": sample_std(accs) if ok else None,
                    "test_accuracy_min": float(accs.min()) if ok else None,
                    "test_accuracy_max": float(accs.max()) if ok else None,
                    "diverged": len(ms) - len(ok),
                }
            )
        return rows

    def _repr_html_(self) -> str:
        """Jupyter's display: :meth:`summary` as a table, the notes and the ``compare`` figure."""
        cfg, tr = self.config, self.train
        rows = [
            [
                r["label"],
                r["spec"],
                r["seeds"],
                r["final_train_loss"],
                html.percent(r["test_accuracy_mean"]),
                html.percent(r["test_accuracy_std"]),
                r["diverged"],
            ]
            for r in self.summary()
        ]
        columns = ["init", "spec", "seeds", f"train loss (last {cfg.smooth})", "test accuracy"]
        columns += ["± (seeds)", "diverged"]
        net = "-".join(str(w) for w in self.widths) if self.widths else self.model
        facts = [
            f"{self.dataset.get('name', cfg.dataset)}, {net} {cfg.activation}",
            f"{cfg.optimizer} lr {cfg.lr:g}, batch {cfg.batch_size}",
            f"{tr.iterations} of {cfg.iterations} iterations" + (" (stopped early)" if self.partial else ""),
            f"{tr.wall_seconds:.1f} s",
        ]
        figure = (self, "compare", "training loss and test accuracy per init") if tr.iterations else None
        table = html.table(columns, rows)
        return card("initlab compare", table, *self.notes, facts=facts, figure=figure)

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` document (schema: docs/results-compare.md)."""
        tr = self.train
        runs = []
        for m, (i, seed) in enumerate(zip(self.model_spec, self.model_seed, strict=True)):
            runs.append(
                {
                    "label": self.labels[i],
                    "spec": self.specs[i],
                    "seed": seed,
                    "train_loss": tr.train_loss[:, m].tolist(),
                    "test_accuracy": float(tr.eval_accuracy[-1, m]),
                    "test_loss": float(tr.eval_loss[-1, m]),
                    "eval_accuracy": tr.eval_accuracy[:, m].tolist(),
                    "eval_loss": tr.eval_loss[:, m].tolist(),
                    "diverged_at": tr.diverged_at[m],
                }
            )
        return {
            "study": "compare",
            "schema": SCHEMA_ID,
            "partial": self.partial,
            "stop_reason": tr.stop_reason,
            "iterations": self.config.iterations,
            "iterations_done": tr.iterations,
            "wall_seconds": tr.wall_seconds,
            "train_seconds": tr.train_seconds,
            "eval_seconds": tr.eval_seconds,
            "dataset": self.dataset,
            "model": self.model,
            "architecture": {
                "widths": self.widths,
                "activation": activation(self.config.activation).spec,
                "bias": self.config.bias,
            },
            "backend": tr.backend,
            "device": tr.device,
            "train": tr.config.to_dict(),
            "seed": self.config.seed,
            "seeds": self.config.seeds,
            "smooth": self.config.smooth,
            "eval_iterations": tr.eval_iterations,
            "eval_examples": tr.eval_examples,
            "notes": self.notes,
            "summary": self.summary(),
            "runs": runs,
        }


def _numel(out: Any) -> int:
    return (
        out.numel()
        if isinstance(out, Tensor)
        else sum(_numel(o) for o in out)
        if isinstance(out, tuple)
        else 0
    )


def _mean(t: Tensor) -> float:
    return float(t.double().mean())


def smooth(values: Tensor, window: int) -> Tensor:
    """(T, ...) -> (T, ...): the trailing moving average of :func:`initlab.measure.series.moving_average`
    (the mean of the last ``window`` values, fewer at the start; a NaN poisons only the windows that
    contain it) -- the one convention of the figures, the summary and the reproduce report."""
    return moving_average(values, max(window, 1))


def initial_ensemble(config: CompareConfig, dataset: Dataset) -> Ensemble:
    """The untrained models of ``config`` on ``dataset``: spec-major, seed-minor, biases per ``bias``
    (``zeros``: every bias parameter set to 0 after the scheme drew the weights), on ``config.device``."""
    specs = [sch for sch in config.schemes() for _ in range(config.seeds)]
    factory = config.factory(dataset.image_shape, dataset.n_classes)
    ens = Ensemble.from_factory(
        factory, specs, weight_seeds(config.model_seeds()), device=resolve_device(config.device)
    )
    if config.bias == "zeros":
        with torch.no_grad():
            for name, p in ens.params.items():
                if name.endswith("bias"):
                    p.zero_()
    return ens


def initial_stack(config: CompareConfig, dataset: Dataset) -> Stack:
    """:func:`initial_ensemble` as a :class:`~initlab.ensemble.Stack` (the default mlp models only)."""
    ens = initial_ensemble(config, dataset)
    plan = dense_mlp(ens)
    if plan is None:
        raise InitlabError(f"{config.model_spec()} is not a dense MLP: use initial_ensemble")
    return plan.stack(ens)


def run(
    config: CompareConfig | None = None,
    *,
    dataset: Dataset | None = None,
    progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
) -> CompareResult:
    """Run the compare study (see the module docstring); returns a :class:`CompareResult`.

    ``dataset`` skips loading (it must be ``config.dataset``'s data); ``progress`` and
    ``should_stop`` go to :func:`initlab.train.train` (``progress=True``: a bar,
    :mod:`initlab.studies.progress`).
    """
    cfg = config if config is not None else CompareConfig()
    cfg.validate()
    schemes = cfg.schemes()
    ds = dataset if dataset is not None else load_dataset(cfg.dataset)
    ens = initial_ensemble(cfg, ds)
    plan = dense_mlp(ens)
    with progress_bar(progress, "compare") as tick:
        result = train(
            ens,
            ds,
            cfg.train_config(),
            generator=generator(cfg.seed, "batches"),
            progress=tick,
            should_stop=should_stop,
        )
    return CompareResult(
        config=cfg,
        widths=plan.widths if plan is not None else None,
        labels=[s.label for s in schemes],
        specs=[s.spec for s in schemes],
        model_spec=[i for i in range(len(schemes)) for _ in range(cfg.seeds)],
        model_seed=cfg.model_seeds(),
        train=result,
        dataset={
            "name": ds.name,
            "train_examples": len(ds.train_x),
            "test_examples": len(ds.test_x),
            "files": ds.files,
        },
        ensemble=ens,
        model=cfg.factory(ds.image_shape, ds.n_classes).spec,
        classes=ds.n_classes,
    )


def compare(
    config: CompareConfig | None = None,
    /,
    *,
    dataset: Dataset | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | bool | None = None,
    download_progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
    **fields: Any,
) -> CompareResult:
    """Train and compare: ``compare(config)``, ``compare(**fields)`` or ``compare(config, **fields)``
    (``CompareConfig``'s fields replace the config's), then :func:`run`.

    ``dataset`` is a loaded :class:`~initlab.data.Dataset` (it must be ``config.dataset``'s data) or
    a dataset name; otherwise ``config.dataset`` is loaded from ``data_dir`` first
    (``download_progress`` reports a download). The config is validated before any data is touched.
    """
    if isinstance(dataset, str):
        fields, dataset = {**fields, "dataset": dataset}, None
    cfg = configure(CompareConfig, config, fields, "compare")
    cfg.validate()
    ds = dataset_for(cfg, dataset, data_dir, download_progress)
    return run(cfg, dataset=ds, progress=progress, should_stop=should_stop)


Config = CompareConfig
