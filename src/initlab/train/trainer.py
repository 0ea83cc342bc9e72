"""The many-model trainer: M models of one architecture trained at once, on the same mini-batches.

``train(stack, dataset, config, generator=...)`` trains every model of a :class:`~initlab.ensemble.Stack`
with softmax cross-entropy, each on its own per-model mean loss, all from the **same mini-batch at
each step** (a fair comparison, as in the classic study). Batches are drawn with replacement
(``torch.randint``, the study's way) or as shuffled epochs, from ``generator`` only: the same
generator state gives bit-identical results on the CPU.

Recorded: the training loss of every model at every iteration (on that iteration's batch), and the
held-out loss and accuracy on the test split at iteration 0, every ``eval_every`` iterations and at
the end.

Divergence: a model whose loss is non-finite at iteration ``t`` (or whose weights are found
non-finite at an evaluation after iteration ``t``) is marked ``diverged_at = t`` and frozen -- its
parameters keep the values they had when it diverged, its later losses are recorded as NaN -- while
the other models continue unaffected (every model's arithmetic is its own; tested). Non-finite
weights always show up in the next loss, so checking the loss at every step catches them without a
pass over all weights. When every model has diverged, training stops early.

Stopping: ``should_stop()`` is polled before every step; returning True ends training cleanly
after a whole step, and the result so far is returned with ``interrupted=True``, evaluated at the
iteration reached. It is the one stopping mechanism: the trainer never catches
``KeyboardInterrupt`` (the CLI turns Ctrl-C into ``should_stop``).

Observers do not change the numbers: on a step that ``on_step`` observes, the gradients it sees
come from a backward pass of their own into separate buffers, and the update is the same fused
one as on every other step, so a run with and without an observer is bit-identical (tested for
SGD, momentum and Adam).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from ..core.errors import InitlabError, check_int
from ..core.io import to_jsonable
from ..data import Dataset
from ..ensemble import Stack
from ._engine import Engine
from .optim import OPTIMIZERS, check_hyper, make_optimizer

Sampling = Literal["replacement", "epochs"]
SAMPLINGS: tuple[Sampling, ...] = ("replacement", "epochs")

#: ``on_step(step, stack, loss)``: see :func:`train`.
OnStep = Callable[[int, Stack, Tensor], None]


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults are the classic study's: SGD, lr 0.01, batch 128 with replacement."""

    iterations: int = 2000
    batch_size: int = 128
    lr: float = 0.01
    optimizer: str = "sgd"  #: ``"sgd"``, ``"momentum"`` or ``"adam"``
    momentum: float = 0.9  #: for ``"momentum"``
    betas: tuple[float, float] = (0.9, 0.999)  #: for ``"adam"``
    eps: float = 1e-8  #: for ``"adam"``
    sampling: str = (
        "replacement"  #: ``"replacement"`` or ``"epochs"`` (shuffled; the last partial batch dropped)
    )
    eval_every: int = 200  #: held-out evaluation every this many iterations (0: only before and after)
    eval_size: int | None = None  #: evaluate on the first this many test examples (None: all)
    eval_batch: int = 2000  #: evaluation chunk size (memory only; results do not depend on it)
    log_every: int = 1  #: call ``on_step`` every this many iterations

    def validate(self) -> None:
        """Raise ``InitlabError`` naming the first bad setting."""
        for name in ("iterations", "batch_size", "eval_batch", "log_every"):
            check_int(getattr(self, name), name)
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise InitlabError(f"eval_every must be a non-negative integer, got {self.eval_every!r}")
        if self.eval_size is not None and self.eval_size <= 0:
            raise InitlabError(
                f"eval_size must be positive (or None for the whole test split), got {self.eval_size}"
            )
        if self.optimizer not in OPTIMIZERS:
            make_optimizer(self.optimizer, [], lr=1.0)  # raises with suggestions
        if self.sampling not in SAMPLINGS:
            raise InitlabError(f"unknown sampling {self.sampling!r}; use one of {', '.join(SAMPLINGS)}")
        check_hyper(lr=self.lr, momentum=self.momentum, betas=self.betas, eps=self.eps)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass
class TrainResult:
    """What :func:`train` measured. ``M`` models, ``T`` iterations done, ``E`` evaluations."""

    train_loss: Tensor  #: (T, M) float32: loss on each iteration's batch; NaN once frozen
    eval_iterations: list[int]  #: (E,) iterations completed at each evaluation
    eval_loss: Tensor  #: (E, M) float64 mean cross-entropy on the evaluation set
    eval_accuracy: Tensor  #: (E, M) float64 share of correct argmax predictions
    diverged_at: list[int | None]  #: per model: the iteration it diverged at, or None
    iterations: int  #: iterations completed
    interrupted: bool  #: stopped by ``should_stop`` or Ctrl-C before ``config.iterations``
    stop_reason: str | None  #: ``"interrupted"``, ``"all models diverged"`` or None
    wall_seconds: float  #: the whole call, evaluations included
    eval_seconds: float  #: time spent in evaluations
    eval_examples: int  #: size of the evaluation set
    config: TrainConfig = field(default_factory=TrainConfig)

    @property
    def train_seconds(self) -> float:
        """Wall time minus evaluation time."""
        return self.wall_seconds - self.eval_seconds

    @property
    def final_accuracy(self) -> Tensor:
        """(M,) accuracy at the last evaluation."""
        return self.eval_accuracy[-1]

    @property
    def final_eval_loss(self) -> Tensor:
        """(M,) evaluation loss at the last evaluation."""
        return self.eval_loss[-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers (non-finite values stay float NaN; JSON writers map them to null)."""
        return {
            "iterations": self.iterations,
            "interrupted": self.interrupted,
            "stop_reason": self.stop_reason,
            "wall_seconds": self.wall_seconds,
            "eval_seconds": self.eval_seconds,
            "eval_examples": self.eval_examples,
            "eval_iterations": list(self.eval_iterations),
            "train_loss": self.train_loss.T.tolist(),
            "eval_loss": self.eval_loss.T.tolist(),
            "eval_accuracy": self.eval_accuracy.T.tolist(),
            "diverged_at": list(self.diverged_at),
            "config": self.config.to_dict(),
        }


class Sampler:
    """Batch indices from ``generator`` only: with replacement, or shuffled epochs."""

    def __init__(self, n: int, batch: int, sampling: str, generator: torch.Generator) -> None:
        if sampling == "epochs" and batch > n:
            raise InitlabError(f"batch size {batch} exceeds the {n} training examples (sampling=epochs)")
        self.n, self.batch, self.g, self.epochs = n, batch, generator, sampling == "epochs"
        self.perm = torch.empty(0, dtype=torch.int64)
        self.pos = 0

    def next(self) -> Tensor:
        if not self.epochs:
            return torch.randint(self.n, (self.batch,), generator=self.g)  # (B,)
        if self.pos + self.batch > len(self.perm):
            self.perm = torch.randperm(self.n, generator=self.g)  # (N,)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + self.batch]  # (B,)
        self.pos += self.batch
        return idx


def _evaluate(engine: Engine, x: Tensor, y: Tensor, batch: int) -> tuple[Tensor, Tensor]:
    total = torch.zeros(engine.M, dtype=torch.float64)  # (M,)
    correct = torch.zeros(engine.M, dtype=torch.int64)  # (M,)
    for i in range(0, len(x), batch):
        loss_sum, ok = engine.loss_and_correct(engine.forward(x[i : i + batch]), y[i : i + batch])
        total += loss_sum
        correct += ok
    n = max(len(x), 1)
    return total / n, correct.double() / n


def evaluate(stack: Stack, x: Tensor, y: Tensor, *, batch: int = 2000) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy and accuracy of every model on ``x: (N, D)``, ``y: (N,)``: two ``(M,)`` float64."""
    with torch.no_grad(), Engine(stack) as engine:
        return _evaluate(engine, x, y, batch)


class _Run:
    """The state of one training run: losses, evaluations, divergence and frozen models."""

    def __init__(self, engine: Engine, cfg: TrainConfig, ex: Tensor, ey: Tensor) -> None:
        self.engine, self.cfg, self.ex, self.ey = engine, cfg, ex, ey
        M = engine.M
        self.losses = torch.full((cfg.iterations, M), math.nan, dtype=torch.float32)  # (T, M)
        self.diverged: list[int | None] = [None] * M
        self.frozen: dict[int, list[Tensor]] = {}  # model -> its packed parameters when it diverged
        self.frozen_mask = torch.zeros(M, dtype=torch.bool)  # (M,)
        self.evals: list[tuple[int, Tensor, Tensor]] = []
        self.eval_time = 0.0
        self.done = 0

    def freeze(self, m: int, at: int) -> None:
        self.diverged[m] = at
        self.frozen[m] = [p[m].clone() for p in self.engine.packs]
        self.frozen_mask[m] = True

    def restore_frozen(self) -> None:
        for m, saved in self.frozen.items():
            for p, v in zip(self.engine.packs, saved, strict=True):
                p[m].copy_(v)

    def record(self, step: int, loss: Tensor) -> None:
        """Store this step's losses; a new non-finite loss marks (and freezes) its model."""
        self.losses[step] = loss
        if self.frozen:
            self.losses[step].masked_fill_(self.frozen_mask, math.nan)
        values = loss.tolist()  # one sync-free read, cheaper than a tensor reduction
        if not all(map(math.isfinite, values)):
            for m, v in enumerate(values):
                if not math.isfinite(v) and self.diverged[m] is None:
                    self.freeze(m, step)
                    self.losses[step, m] = v

    def evaluate(self) -> None:
        t = time.perf_counter()
        loss, acc = _evaluate(self.engine, self.ex, self.ey, self.cfg.eval_batch)
        finite = torch.stack([torch.isfinite(p).flatten(1).all(1) for p in self.engine.packs]).all(0)  # (M,)
        for m in torch.nonzero(~finite).flatten().tolist():
            if self.diverged[m] is None:
                self.freeze(m, max(self.done - 1, 0))
        self.evals.append((self.done, loss, acc))
        self.eval_time += time.perf_counter() - t

    def live_mean(self, step: int) -> float:
        live = self.losses[step][~self.frozen_mask]
        return float(live.mean()) if len(live) else math.nan


def train(
    stack: Stack,
    dataset: Dataset,
    config: TrainConfig | None = None,
    *,
    generator: torch.Generator,
    progress: Callable[..., None] | None = None,
    on_step: OnStep | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train every model of ``stack`` in place on ``dataset``; returns the measurements.

    ``progress(done, total, loss=...)`` is called about a hundred times. ``on_step(step, stack,
    loss)`` is called every ``config.log_every`` iterations (``step`` = 0, k, 2k, ...) **after the
    backward pass and before the update**: the stack's parameters hold the weights this step's
    forward used and their ``.grad`` the gradients (model ``m``'s gradient is that of its own mean
    loss); ``loss: (M,)`` is this step's per-model loss. It must not modify the stack. During
    training the parameters are views into the trainer's packed buffers (see
    :mod:`initlab.train._engine`); they get their own storage back, updated, when ``train`` returns.
    The observed gradients come from an extra backward pass on observed steps only; the update is
    the fused one either way, so observing never changes a bit of the result.
    """
    cfg = config if config is not None else TrainConfig()
    cfg.validate()
    start = time.perf_counter()
    if stack.widths[0] != dataset.features or stack.widths[-1] != dataset.n_classes:
        raise InitlabError(
            f"stack widths {stack.widths} do not fit {dataset.name}: input {dataset.features}, "
            f"{dataset.n_classes} classes"
        )
    x_all = dataset.train_x.contiguous()  # (N, D)
    y_all = dataset.train_y.contiguous()  # (N,)
    sampler = Sampler(len(x_all), cfg.batch_size, cfg.sampling, generator)
    n_eval = len(dataset.test_x) if cfg.eval_size is None else min(cfg.eval_size, len(dataset.test_x))
    T = cfg.iterations
    with torch.no_grad(), Engine(stack) as engine:
        run = _Run(engine, cfg, dataset.test_x[:n_eval], dataset.test_y[:n_eval])
        opt = make_optimizer(
            cfg.optimizer, engine.packs, lr=cfg.lr, momentum=cfg.momentum, betas=cfg.betas, eps=cfg.eps
        )
        grads = engine.expose_grads() if on_step is not None else []
        xb = engine.batch(cfg.batch_size)  # (B, D) view of the engine's input buffer
        yb = torch.empty(cfg.batch_size, dtype=y_all.dtype)  # (B,)
        tick = max(1, T // 100)
        interrupted = False
        reason: str | None = None
        if cfg.eval_every:
            run.evaluate()
        for step in range(T):
            if should_stop is not None and should_stop():
                interrupted, reason = True, "interrupted"
                break
            idx = sampler.next()  # (B,)
            torch.index_select(x_all, 0, idx, out=xb)  # (B, D)
            torch.index_select(y_all, 0, idx, out=yb)  # (B,)
            logits = engine.forward(xb, keep=True)  # (M, C, B)
            loss, dlogits = engine.loss_and_grad(logits, yb)  # (M,), (M, C, B)
            run.record(step, loss)
            if on_step is not None and step % cfg.log_every == 0:
                # the observer's gradients come from a backward pass of their own; the update
                # below is the same fused one as without an observer, so the numbers are too
                engine.backward(dlogits, (grads, 0.0, 1.0))
                on_step(step, stack, loss)
            engine.backward(dlogits, opt.targets())
            opt.finish()
            run.restore_frozen()
            run.done = step + 1
            if cfg.eval_every and run.done % cfg.eval_every == 0 and run.done < T:
                run.evaluate()
            if progress is not None and (run.done % tick == 0 or run.done == T):
                progress(run.done, T, loss=run.live_mean(step))
            if len(run.frozen) == stack.M:
                reason = "all models diverged"
                break
        if not run.evals or run.evals[-1][0] != run.done:
            run.evaluate()
    return TrainResult(
        train_loss=run.losses[: run.done].clone(),
        eval_iterations=[e[0] for e in run.evals],
        eval_loss=torch.stack([e[1] for e in run.evals]),
        eval_accuracy=torch.stack([e[2] for e in run.evals]),
        diverged_at=run.diverged,
        iterations=run.done,
        interrupted=interrupted,
        stop_reason=reason,
        wall_seconds=time.perf_counter() - start,
        eval_seconds=run.eval_time,
        eval_examples=n_eval,
        config=cfg,
    )
