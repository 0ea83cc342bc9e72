"""The symmetry lab: why all-zero and constant initial weights fail, measured while training.

Cases (defaults): ``zeros``, ``constant(value=0.5)``, the classic study's ``uniform(a=-2, b=2)``, and
a well-scaled random scheme (``he_normal`` for the ReLU family, ``xavier_normal`` otherwise), all
trained as one stack on the same batches (the MNIST comparison's network and optimiser). Every
``log_every`` iterations, per hidden layer and case, it records

* the number of **distinct units** (:func:`initlab.measure.units.distinct_units`: incoming weights and bias
  equal within ``1e-4`` of the layer's largest weight count as the same unit),
* the **effective rank** of the layer's activations on a fixed batch of test images,
* the Frobenius norm and the largest absolute entry of the layer's **weight gradient**,

plus the training loss at every iteration and the test accuracy at every evaluation.

Seeds (:mod:`initlab.core.seeds`): every case is drawn from the ``weights`` stream of ``seed`` (so
``(spec, seed)`` gives the same initial weights as in ``probe`` and ``compare``), the batches from
the ``batches`` stream of ``seed``.

Models: the cases are one :class:`~initlab.ensemble.Ensemble` of the ``mlp`` family on ``device``
-- ``mlp(layers=LAYERS, width=WIDTH)``, or ``model`` (an ``mlp(...)`` spec; the measures are those
of dense layers, so other families are refused). The observer reads the weights and their gradients
(``.grad``, before the update) of the logged steps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..activations import activation as get_activation
from ..core import html
from ..core.device import resolve_device
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..core.seeds import check_seed, generator, weight_seeds
from ..data import Dataset, dataset_info, load_dataset
from ..ensemble import Ensemble, ModelFactory, Stack, model_factory
from ..measure import distinct_units, effective_rank
from ..schemes import scheme
from ..train import OPTIMIZERS, DenseMLP, TrainConfig, dense_mlp, train
from .config import Progress, ShouldStop, check_labels, configure, dataset_for, figure_error, option
from .display import card
from .progress import progress_bar
from .symmetry_findings import explain as explain_facts
from .symmetry_findings import symmetry_facts

#: The ``"schema"`` of results.json (JSON Schema: initlab/studies/schemas/symmetry.schema.json).
SCHEMA_ID = "initlab.symmetry/1"
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "softplus"})


def default_cases(activation: str) -> list[str]:
    """The four default cases for an activation (the random one matched to it)."""
    name = get_activation(activation).name
    random = "He: he_normal" if name in RELU_FAMILY else "Glorot: xavier_normal"
    return ["zeros", "constant(value=0.5)", "uniform(a=-2, b=2)", random]


@dataclass(frozen=True)
class SymmetryConfig:
    """Everything that defines a symmetry run (the ``initlab symmetry`` flags, one to one)."""

    activation: str = option("relu", "activation of every hidden layer")
    cases: tuple[str, ...] = option(
        (),
        "an init spec to compare (repeatable; replaces the four defaults), e.g. 'constant(value=0.1)'",
        flag="--case",
        repeatable=True,
        metavar="SPEC",
        default_text="zeros, constant(value=0.5), uniform(a=-2, b=2), and he_normal (ReLU family) "
        "or xavier_normal",
    )
    model: str | None = option(
        None,
        "the network, an mlp family spec such as 'mlp(layers=2, width=50)'",
        metavar="SPEC",
        default_text="mlp(layers=LAYERS, width=WIDTH)",
    )
    layers: int = option(4, "hidden layers of the default mlp (with --model: give them in the spec)")
    width: int = option(100, "units per hidden layer of the default mlp")
    iterations: int = option(2000, "SGD iterations")
    batch_size: int = option(128, "mini-batch size")
    lr: float = option(0.01, "learning rate")
    optimizer: str = option(
        "sgd", f"{', '.join(OPTIMIZERS)}, or a per-model torch.optim class with arguments"
    )
    log_every: int | None = option(None, "measure every N iterations", default_text="iterations/40")
    seed: int = option(0, "seed of the init and the batches")
    dataset: str = option("mnist", "dataset (mnist is shipped with initlab)")
    rank_batch: int = option(500, "test images the effective rank is measured on", flag=None)
    eval_every: int = option(200, "test-set evaluation period", flag=None)
    device: str = option("cpu", "cpu, cuda, cuda:N, mps or auto")

    def data_name(self) -> str:
        return self.dataset

    def specs(self) -> list[str]:
        """The cases to train: ``cases``, or the four defaults for the activation."""
        return list(self.cases) if self.cases else default_cases(get_activation(self.activation).spec)

    def every(self) -> int:
        return self.log_every if self.log_every is not None else max(1, self.iterations // 40)

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            iterations=self.iterations,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,
            eval_every=self.eval_every,
            log_every=self.every(),
        )

    def validate(self) -> None:
        """Raise ``InitlabError`` for the first bad setting (data files are not touched)."""
        for name in ("layers", "width", "rank_batch"):
            v = getattr(self, name)
            if v <= 0:
                raise InitlabError(f"{name} must be positive, got {v}")
        get_activation(self.activation)
        check_labels(self.specs(), "--case")
        if self.every() <= 0:
            raise InitlabError(f"log_every must be positive, got {self.every()}")
        check_seed(self.seed)
        self.train_config().validate()
        if self.model is not None and (self.layers, self.width) != (4, 100):
            raise InitlabError(
                "--layers and --width size the default mlp; with --model give the sizes in the spec, "
                f"e.g. 'mlp(layers={self.layers}, width={self.width})'"
            )
        info = dataset_info(self.dataset)
        factory = self.factory(info.image_shape, len(info.classes))
        if factory.family != "mlp":
            raise InitlabError(
                "symmetry measures the units of dense layers: --model must be an mlp(...) spec, "
                f"got {factory.spec!r}"
            )
        resolve_device(self.device)

    def model_spec(self) -> str:
        """The model as a spec: ``model``, or ``mlp(layers=LAYERS, width=WIDTH)``."""
        return self.model if self.model is not None else f"mlp(layers={self.layers}, width={self.width})"

    def factory(self, image_shape: tuple[int, ...], classes: int) -> ModelFactory:
        """The model factory for images of ``image_shape`` (one channel) and ``classes`` classes."""
        return model_factory(
            self.model_spec(), in_shape=(1, *image_shape), classes=classes, activation=self.activation
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``config.json``)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass
class SymmetryCase:
    """Measurements of one case. Per-layer lists are indexed ``[hidden layer][logged step]``.

    A case that diverged (``diverged_at`` not None) is frozen by the trainer: its measurements at
    logged steps after ``diverged_at`` would describe a dead model as if it were training, so they
    are ``None`` (``null`` in ``results.json``); ``train_loss`` is NaN there (the trainer's record).
    """

    label: str
    spec: str
    iterations: list[int]
    distinct_units: list[list[int | None]]
    effective_rank: list[list[float | None]]
    grad_norm: list[list[float | None]]
    grad_max: list[list[float | None]]
    output_grad_max: list[float | None]
    train_loss: list[float]
    eval_iterations: list[int]
    test_accuracy: list[float]
    diverged_at: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "spec": self.spec,
            "iterations": self.iterations,
            "distinct_units": self.distinct_units,
            "effective_rank": self.effective_rank,
            "grad_norm": self.grad_norm,
            "grad_max": self.grad_max,
            "output_grad_max": self.output_grad_max,
            "train_loss": self.train_loss,
            "eval_iterations": self.eval_iterations,
            "test_accuracy": self.test_accuracy,
            "final_test_accuracy": self.test_accuracy[-1] if self.test_accuracy else None,
            "diverged_at": self.diverged_at,
        }


@dataclass
class SymmetryResult:
    """What the symmetry lab measured, with the findings it draws from those numbers."""

    activation: str
    widths: list[int]
    dataset: str
    seed: int
    config: dict[str, Any]
    label_entropy: float
    cases: list[SymmetryCase]
    iterations_done: int
    interrupted: bool
    wall_seconds: float
    findings: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.widths[1]

    @property
    def partial(self) -> bool:
        return self.interrupted

    _FIGURES: ClassVar[tuple[str, ...]] = ("distinct_units", "training", "effective_rank")

    def figure_names(self) -> list[str]:
        """The names :meth:`figures` draws, in order."""
        return list(self._FIGURES)

    def figures(self) -> dict[str, Any]:
        """``distinct_units``, ``training`` and ``effective_rank`` (:mod:`initlab.viz.symmetry`)."""
        return {name: self.figure(name) for name in self.figure_names()}

    def figure(self, name: str) -> Any:
        """One of :meth:`figures`, by name (a matplotlib Figure)."""
        if name not in self._FIGURES:
            raise figure_error("symmetry", name, self._FIGURES)
        from ..viz import symmetry as viz

        draw = {
            "distinct_units": viz.distinct_units_figure,
            "training": viz.training_figure,
            "effective_rank": viz.effective_rank_figure,
        }[name]
        return draw(self)

    def _repr_html_(self) -> str:
        """Jupyter's display: one row per case (distinct units per layer at the last live step, final
        loss and accuracy, divergence), the findings and the ``distinct_units`` figure."""
        rows = []
        for c in self.cases:
            units = [next((v for v in reversed(layer) if v is not None), None) for layer in c.distinct_units]
            live = [v for v in c.train_loss if v == v]  # NaN after a divergence
            rows.append(
                [
                    c.label,
                    c.spec,
                    " / ".join(html.number(u) for u in units),
                    live[-1] if live else None,
                    html.percent(c.test_accuracy[-1]) if c.test_accuracy else "-",
                    c.diverged_at if c.diverged_at is not None else "-",
                ]
            )
        units_of = f"distinct units per layer (of {self.width})"
        columns = ["case", "spec", units_of, "last train loss", "test accuracy", "diverged at"]
        facts = [
            f"{self.activation}, {'-'.join(str(w) for w in self.widths)}, {self.dataset}",
            f"{self.iterations_done} iterations" + (" (stopped early)" if self.partial else ""),
            f"label entropy {self.label_entropy:.4g} nats",
            f"{self.wall_seconds:.1f} s",
        ]
        figure = None
        if self.cases and self.iterations_done > 0:
            figure = (self, "distinct_units", "distinct units per hidden layer over training, per case")
        return card(
            "initlab symmetry",
            html.table(columns, rows),
            html.bullets(self.findings),
            facts=facts,
            figure=figure,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` document, with the typed findings under ``facts``."""
        out: dict[str, Any] = {
            "study": "symmetry",
            "schema": SCHEMA_ID,
            "activation": self.activation,
            "widths": self.widths,
            "dataset": self.dataset,
            "seed": self.seed,
            "config": self.config,
            "label_entropy": self.label_entropy,
            "iterations_done": self.iterations_done,
            "partial": self.interrupted,
            "wall_seconds": self.wall_seconds,
            "findings": self.findings,
            "cases": [c.to_dict() for c in self.cases],
        }
        out["facts"] = symmetry_facts(out).to_dict()
        return out


def label_entropy(labels: Tensor, n_classes: int) -> float:
    """Entropy (nats) of the label distribution: the best loss a model that ignores its input can reach."""
    p = torch.bincount(labels, minlength=n_classes).double() / len(labels)  # (C,)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


class SymmetryObserver:
    """The trainer's ``on_step`` observer: symmetry measures of every hidden layer."""

    def __init__(self, probe_x: Tensor, hidden: int) -> None:
        self.x = probe_x  # (P, D)
        self.hidden = hidden
        self.plan: DenseMLP | None = None
        self.steps: list[int] = []
        self.distinct: list[list[Tensor]] = [[] for _ in range(hidden)]
        self.rank: list[list[Tensor]] = [[] for _ in range(hidden)]
        self.gnorm: list[list[Tensor]] = [[] for _ in range(hidden)]
        self.gmax: list[list[Tensor]] = [[] for _ in range(hidden)]
        self.out_gmax: list[Tensor] = []

    @torch.no_grad()
    def __call__(self, step: int, ens: Ensemble, loss: Tensor) -> None:
        if self.plan is None:
            self.plan = dense_mlp(ens)
            if self.plan is None:
                raise InitlabError("the symmetry observer measures dense MLPs (Linear and one activation)")
            self.x = self.x.to(ens.device, ens.params[self.plan.weights[0]].dtype)
        plan = self.plan
        self.steps.append(step)
        h: Tensor = self.x  # (P, D)
        for layer in range(self.hidden):
            w = ens.params[plan.weights[layer]]  # (M, out, in)
            b = ens.params[plan.biases[layer]].detach() if plan.biases is not None else None  # (M, out)
            self.distinct[layer].append(distinct_units(w.detach(), b).cpu())
            h = plan.act(plan.linear(ens, layer, h))  # (M, P, H)
            self.rank[layer].append(effective_rank(h).cpu())
            g = w.grad if w.grad is not None else torch.zeros_like(w)  # (M, out, in)
            self.gnorm[layer].append(g.double().flatten(1).norm(dim=1).cpu())
            self.gmax[layer].append(g.double().abs().flatten(1).amax(dim=1).cpu())
        w_out = ens.params[plan.weights[self.hidden]]  # (M, C, H)
        g_out = w_out.grad if w_out.grad is not None else torch.zeros_like(w_out)
        self.out_gmax.append(g_out.double().abs().flatten(1).amax(dim=1).cpu())

    def series(self, table: list[list[Tensor]], m: int, diverged_at: int | None) -> list[list[float | None]]:
        """Model ``m``'s values per layer and logged step; ``None`` after ``diverged_at``."""
        return [self.row(row, m, diverged_at) for row in table]

    def row(self, values: list[Tensor], m: int, diverged_at: int | None) -> list[float | None]:
        return [
            float(v[m]) if diverged_at is None or step <= diverged_at else None
            for step, v in zip(self.steps, values, strict=True)
        ]


def initial_ensemble(config: SymmetryConfig, dataset: Dataset) -> Ensemble:
    """The untrained models of ``config``: one per case, all from the ``weights`` stream of ``seed``,
    on ``config.device``."""
    parsed = [scheme(s) for s in config.specs()]
    factory = config.factory(dataset.image_shape, dataset.n_classes)
    seeds = weight_seeds([config.seed] * len(parsed))
    return Ensemble.from_factory(factory, parsed, seeds, device=resolve_device(config.device))


def initial_stack(config: SymmetryConfig, dataset: Dataset) -> Stack:
    """:func:`initial_ensemble` as a :class:`~initlab.ensemble.Stack` (a copy)."""
    ens = initial_ensemble(config, dataset)
    plan = dense_mlp(ens)
    if plan is None:
        raise InitlabError(f"{config.model_spec()} is not a dense MLP")
    return plan.stack(ens)


def run(
    config: SymmetryConfig | None = None,
    *,
    dataset: Dataset | None = None,
    progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
) -> SymmetryResult:
    """Train one model per case on the same batches and measure how symmetric each stays
    (``progress=True``: a bar, :mod:`initlab.studies.progress`)."""
    cfg = config if config is not None else SymmetryConfig()
    cfg.validate()
    act = get_activation(cfg.activation)
    specs = cfg.specs()
    parsed = [scheme(s) for s in specs]
    data = dataset if dataset is not None else load_dataset(cfg.dataset)
    tcfg = cfg.train_config()
    ens = initial_ensemble(cfg, data)
    plan = dense_mlp(ens)
    if plan is None:
        raise InitlabError(f"symmetry measures dense MLPs; {cfg.model_spec()} is not one")
    rec = SymmetryObserver(data.test_x[: cfg.rank_batch], plan.depth - 1)
    with progress_bar(progress, "symmetry") as tick:
        res = train(
            ens,
            data,
            tcfg,
            generator=generator(cfg.seed, "batches"),
            progress=tick,
            on_step=rec,
            should_stop=should_stop,
        )
    out = []
    for m, sch in enumerate(parsed):
        dead = res.diverged_at[m]
        out.append(
            SymmetryCase(
                label=sch.label,
                spec=sch.spec,
                iterations=list(rec.steps),
                distinct_units=[
                    [None if v is None else int(v) for v in row] for row in rec.series(rec.distinct, m, dead)
                ],
                effective_rank=rec.series(rec.rank, m, dead),
                grad_norm=rec.series(rec.gnorm, m, dead),
                grad_max=rec.series(rec.gmax, m, dead),
                output_grad_max=rec.row(rec.out_gmax, m, dead),
                train_loss=[float(v) for v in res.train_loss[:, m]],
                eval_iterations=list(res.eval_iterations),
                test_accuracy=[float(v) for v in res.eval_accuracy[:, m]],
                diverged_at=res.diverged_at[m],
            )
        )
    result = SymmetryResult(
        activation=act.spec,
        widths=list(plan.widths),
        dataset=data.name,
        seed=cfg.seed,
        config={
            **tcfg.to_dict(),
            "cases": specs,
            "rank_batch": cfg.rank_batch,
            "model": cfg.factory(data.image_shape, data.n_classes).spec,
            "device": str(ens.device),
            "backend": res.backend,
        },
        label_entropy=label_entropy(data.train_y, data.n_classes),
        cases=out,
        iterations_done=res.iterations,
        interrupted=res.interrupted,
        wall_seconds=res.wall_seconds,
    )
    result.findings = explain(result)
    return result


def symmetry(
    config: SymmetryConfig | None = None,
    /,
    *,
    dataset: Dataset | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | bool | None = None,
    download_progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
    **fields: Any,
) -> SymmetryResult:
    """The symmetry lab: ``symmetry(config)``, ``symmetry(**fields)`` or ``symmetry(config, **fields)``
    (``SymmetryConfig``'s fields replace the config's), then :func:`run`.

    ``dataset`` is a name (loaded from ``data_dir`` first) or a loaded
    :class:`~initlab.data.Dataset` (whose name is then the config's ``dataset``). ``log_every``
    defaults to ``iterations // 40`` (at least 1).
    """
    if isinstance(dataset, str):
        fields, dataset = {**fields, "dataset": dataset}, None
    elif dataset is not None:
        fields = {**fields, "dataset": dataset.name}
    if "cases" in fields and not fields["cases"]:
        fields = {**fields, "cases": ()}  # None or empty: the four defaults
    cfg = configure(SymmetryConfig, config, fields, "symmetry")
    cfg.validate()
    data = dataset_for(cfg, dataset, data_dir, download_progress)
    return run(cfg, dataset=data, progress=progress, should_stop=should_stop)


Config = SymmetryConfig


def explain(result: SymmetryResult) -> list[str]:
    """One plain sentence per case, every number taken from ``result`` (through its typed findings,
    :func:`initlab.studies.symmetry_findings.symmetry_facts`, which the reproduce report quotes too).

    For a diverged case the distinct units are read at the last logged step before divergence
    (after it the frozen weights are dominated by the overflowing updates).
    """
    return explain_facts(symmetry_facts(result.to_dict()))
