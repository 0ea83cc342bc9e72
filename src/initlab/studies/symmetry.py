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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ..activations import activation as get_activation
from ..core.errors import InitlabError
from ..data import Dataset, load_dataset
from ..ensemble import Stack
from ..measure import distinct_units, effective_rank
from ..schemes import scheme
from ..train import TrainConfig, train
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


@dataclass
class SymmetryCase:
    """Measurements of one case. Per-layer lists are indexed ``[hidden layer][logged step]``."""

    label: str
    spec: str
    iterations: list[int]
    distinct_units: list[list[int]]
    effective_rank: list[list[float]]
    grad_norm: list[list[float]]
    grad_max: list[list[float]]
    output_grad_max: list[float]
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

    def figure_distinct_units(self) -> Any:
        from ..viz.symmetry import distinct_units_figure

        return distinct_units_figure(self)

    def figure_training(self) -> Any:
        from ..viz.symmetry import training_figure

        return training_figure(self)

    def figure_effective_rank(self) -> Any:
        from ..viz.symmetry import effective_rank_figure

        return effective_rank_figure(self)


def label_entropy(labels: Tensor, n_classes: int) -> float:
    """Entropy (nats) of the label distribution: the best loss a model that ignores its input can reach."""
    p = torch.bincount(labels, minlength=n_classes).double() / len(labels)  # (C,)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


class _Recorder:
    """The trainer's ``on_step`` observer: symmetry measures of every hidden layer."""

    def __init__(self, probe_x: Tensor, hidden: int) -> None:
        self.x = probe_x  # (P, D)
        self.hidden = hidden
        self.steps: list[int] = []
        self.distinct: list[list[Tensor]] = [[] for _ in range(hidden)]
        self.rank: list[list[Tensor]] = [[] for _ in range(hidden)]
        self.gnorm: list[list[Tensor]] = [[] for _ in range(hidden)]
        self.gmax: list[list[Tensor]] = [[] for _ in range(hidden)]
        self.out_gmax: list[Tensor] = []

    def __call__(self, step: int, stack: Stack, loss: Tensor) -> None:
        self.steps.append(step)
        h: Tensor = self.x  # (P, D)
        for layer in range(self.hidden):
            w = stack.weights[layer]  # (M, out, in)
            b = stack.biases[layer] if stack.biases is not None else None  # (M, out)
            self.distinct[layer].append(distinct_units(w, b))
            h = stack.act(stack.linear(layer, h))  # (M, P, H)
            self.rank[layer].append(effective_rank(h))
            g = w.grad if w.grad is not None else torch.zeros_like(w)  # (M, out, in)
            self.gnorm[layer].append(g.double().flatten(1).norm(dim=1))
            self.gmax[layer].append(g.double().abs().flatten(1).amax(dim=1))
        w_out = stack.weights[self.hidden]  # (M, C, H)
        g_out = w_out.grad if w_out.grad is not None else torch.zeros_like(w_out)
        self.out_gmax.append(g_out.double().abs().flatten(1).amax(dim=1))

    def series(self, table: list[list[Tensor]], m: int) -> list[list[float]]:
        return [[float(v[m]) for v in row] for row in table]


def symmetry(
    *,
    activation: str = "relu",
    cases: Sequence[str] | None = None,
    layers: int = 4,
    width: int = 100,
    iterations: int = 2000,
    batch_size: int = 128,
    lr: float = 0.01,
    optimizer: str = "sgd",
    seed: int = 0,
    log_every: int | None = None,
    rank_batch: int = 500,
    dataset: str | Dataset = "mnist",
    data_dir: str | None = None,
    eval_every: int = 200,
    progress: Callable[..., None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SymmetryResult:
    """Train one model per case on the same batches and measure how symmetric each stays.

    ``log_every`` defaults to ``iterations // 40`` (at least 1). Every case is drawn from
    ``torch.Generator().manual_seed(seed)``; batches from ``manual_seed(seed + 1)``.
    """
    for name, v in (("layers", layers), ("width", width), ("rank_batch", rank_batch)):
        if v <= 0:
            raise InitlabError(f"{name} must be positive, got {v}")
    act = get_activation(activation)
    specs = list(cases) if cases else default_cases(act.spec)
    parsed = [scheme(s) for s in specs]
    data = dataset if isinstance(dataset, Dataset) else load_dataset(dataset, data_dir=data_dir)
    every = log_every if log_every is not None else max(1, iterations // 40)
    if every <= 0:
        raise InitlabError(f"log_every must be positive, got {every}")
    cfg = TrainConfig(
        iterations=iterations,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        eval_every=eval_every,
        log_every=every,
    )
    cfg.validate()
    widths = [data.features, *([width] * layers), data.n_classes]
    stack = Stack.from_schemes(widths, act, parsed, [seed] * len(parsed))
    rec = _Recorder(data.test_x[:rank_batch], layers)
    res = train(
        stack,
        data,
        cfg,
        generator=torch.Generator().manual_seed(seed + 1),
        progress=progress,
        on_step=rec,
        should_stop=should_stop,
    )
    out = []
    for m, sch in enumerate(parsed):
        out.append(
            SymmetryCase(
                label=sch.label,
                spec=sch.spec,
                iterations=list(rec.steps),
                distinct_units=[[int(v) for v in row] for row in rec.series(rec.distinct, m)],
                effective_rank=rec.series(rec.rank, m),
                grad_norm=rec.series(rec.gnorm, m),
                grad_max=rec.series(rec.gmax, m),
                output_grad_max=[float(v[m]) for v in rec.out_gmax],
                train_loss=[float(v) for v in res.train_loss[:, m]],
                eval_iterations=list(res.eval_iterations),
                test_accuracy=[float(v) for v in res.eval_accuracy[:, m]],
                diverged_at=res.diverged_at[m],
            )
        )
    result = SymmetryResult(
        activation=act.spec,
        widths=widths,
        dataset=data.name,
        seed=seed,
        config={**cfg.to_dict(), "cases": specs, "rank_batch": rank_batch},
        label_entropy=label_entropy(data.train_y, data.n_classes),
        cases=out,
        iterations_done=res.iterations,
        interrupted=res.interrupted,
        wall_seconds=res.wall_seconds,
    )
    result.findings = explain(result)
    return result


def explain(result: SymmetryResult) -> list[str]:
    """One plain sentence per case, every number taken from ``result`` (through its typed findings,
    :func:`initlab.studies.symmetry_findings.symmetry_facts`, which the reproduce report quotes too).

    For a diverged case the distinct units are read at the last logged step before divergence
    (after it the frozen weights are dominated by the overflowing updates).
    """
    return explain_facts(symmetry_facts(result.to_dict()))
