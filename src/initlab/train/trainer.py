"""The many-model trainer: M models of one architecture trained at once, on the same mini-batches.

``train(ensemble, dataset, config, generator=...)`` trains every model of an
:class:`~initlab.ensemble.Ensemble` (any architecture, on its device; a
:class:`~initlab.ensemble.Stack` of MLPs works too) with softmax cross-entropy, each on its own
per-model mean loss, all from the **same mini-batch at each step** (a fair comparison, as in the
classic study). Batches are drawn with replacement (``torch.randint``, the study's way) or as
shuffled epochs, from ``generator`` only (a CPU generator: the indices are drawn on the CPU and
moved; the data is moved to the ensemble's device once and indexed there): the same generator state
gives bit-identical results on the CPU.

The step itself is a backend's (:mod:`initlab.train.backend`): autograd with ``torch.optim`` by
default, the hand-written engine for dense MLPs on the CPU (``backend="auto"`` chooses it where it
applies); this loop -- sampling, evaluation schedule, divergence, stopping, results -- is written
once over the protocol.

Recorded: the training loss of every model at every iteration (on that iteration's batch), and the
held-out loss and accuracy on the test split at iteration 0, every ``eval_every`` iterations and at
the end. Losses stay on the device and are read every ``log_every`` iterations (and at evaluations
and progress reports): no host sync per step.

Divergence, without a host sync: every step, on the device, the live models are saved before the
step (``torch.where``: parameters, per-model buffers, optimizer state) and ``alive &= isfinite(loss)
& finite(parameters after the update)``. At the next loss read the models no longer alive are put
back to their saved state (until then they compute on their own garbage, which touches no other
model: every model's arithmetic is its own). So a model is frozen at its **last finite
parameters**, its later losses are NaN, and the others continue exactly as they would alone
(tested). ``diverged_at`` is the step whose
loss was non-finite, or -- when a step's update made the weights non-finite -- the next step (the
first that would have used them; its loss is recorded as NaN). When every model has diverged,
training stops early (noticed at the next loss read).

Stopping: ``should_stop()`` is polled before every step; returning True ends training cleanly
after a whole step, and the result so far is returned with ``interrupted=True``, evaluated at the
iteration reached. It is the one stopping mechanism: the trainer never catches
``KeyboardInterrupt`` (the CLI turns Ctrl-C into ``should_stop``).
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
from ..ensemble import Ensemble, Stack
from ._autograd import AutogradBackend, evaluate_ensemble
from ._fastpath import EngineBackend, fast_path_applies
from .backend import BACKENDS, Backend
from .optim import check_optimizer

Sampling = Literal["replacement", "epochs"]
SAMPLINGS: tuple[Sampling, ...] = ("replacement", "epochs")

#: ``on_step(step, ensemble, loss)``: see :func:`train`.
OnStep = Callable[[int, Ensemble, Tensor], None]


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults are the classic study's: SGD, lr 0.01, batch 128 with replacement."""

    iterations: int = 2000
    batch_size: int = 128
    lr: float = 0.01
    #: an optimizer spec (:mod:`initlab.train.optim`): ``"sgd"``, ``"momentum"``, ``"adam"``,
    #: ``"adamw"``, or any per-model ``torch.optim`` class with arguments, ``"adamw(weight_decay=0.05)"``
    optimizer: str = "sgd"
    momentum: float = 0.9  #: for ``"momentum"``
    betas: tuple[float, float] = (0.9, 0.999)  #: for ``"adam"`` and ``"adamw"``
    eps: float = 1e-8  #: for ``"adam"`` and ``"adamw"``
    clip: float | None = None  #: per-model gradient clipping: max global norm of each model's gradient
    sampling: str = (
        "replacement"  #: ``"replacement"`` or ``"epochs"`` (shuffled; the last partial batch dropped)
    )
    eval_every: int = 200  #: held-out evaluation every this many iterations (0: only before and after)
    eval_size: int | None = None  #: evaluate on the first this many test examples (None: all)
    eval_batch: int = 2000  #: evaluation chunk size (memory only; results do not depend on it)
    log_every: int = 1  #: read the losses (and call ``on_step``) every this many iterations
    backend: str = "auto"  #: ``"auto"``, ``"autograd"`` or ``"engine"`` (:mod:`initlab.train.backend`)
    compile: bool = False  #: ``torch.compile`` the forward and loss (CUDA only; autograd backend)

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
        if self.sampling not in SAMPLINGS:
            raise InitlabError(f"unknown sampling {self.sampling!r}; use one of {', '.join(SAMPLINGS)}")
        check_optimizer(self.optimizer, lr=self.lr, momentum=self.momentum, betas=self.betas, eps=self.eps)
        if self.clip is not None and not (0 < self.clip < math.inf):
            raise InitlabError(
                f"clip (max gradient norm per model) must be a positive number, got {self.clip}"
            )
        if self.backend not in BACKENDS:
            raise InitlabError(f"unknown backend {self.backend!r}; use one of {', '.join(BACKENDS)}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass
class TrainResult:
    """What :func:`train` measured. ``M`` models, ``T`` iterations done, ``E`` evaluations."""

    #: (T, M) float32 (float64 for float64 models): loss on each iteration's batch; NaN once frozen
    train_loss: Tensor
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
    backend: str = "autograd"  #: the backend that trained (``"autograd"`` or ``"engine"``)
    device: str = "cpu"  #: the device it trained on

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
            "backend": self.backend,
            "device": self.device,
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


def make_backend(ens: Ensemble, cfg: TrainConfig) -> Backend:
    """The backend ``cfg.backend`` names for ``ens``; ``"auto"``: the engine where the fast path
    applies (:func:`initlab.train._fastpath.fast_path_applies`), autograd otherwise."""
    hyper = {"lr": cfg.lr, "momentum": cfg.momentum, "betas": cfg.betas, "eps": cfg.eps}
    plan = fast_path_applies(ens, cfg.optimizer, cfg.clip, cfg.compile)
    if cfg.backend == "engine" and plan is None:
        raise InitlabError(
            "the engine backend trains dense MLPs (Linear and one activation) on the CPU with sgd, "
            f"momentum or adam, without clip or compile; use backend='autograd' for {cfg.optimizer!r} "
            f"on {ens.device}"
        )
    if plan is not None and cfg.backend in ("auto", "engine"):
        return EngineBackend(ens, plan, cfg.optimizer, **hyper)  # type: ignore[arg-type]
    return AutogradBackend(ens, cfg.optimizer, clip=cfg.clip, compile=cfg.compile, **hyper)  # type: ignore[arg-type]


def _as_ensemble(model: Ensemble | Stack) -> tuple[Ensemble, Callable[[], None]]:
    """The ensemble to train, and how to hand its parameters back (to a Stack given instead)."""
    if isinstance(model, Ensemble):
        return model, lambda: None
    if not isinstance(model, Stack):
        raise InitlabError(f"train() takes an Ensemble (or a Stack), got {type(model).__name__}")
    if model.activate_last:
        raise InitlabError("the trainer needs logits: build the stack with activate_last=False")
    ens = Ensemble([model.to_sequential(m) for m in range(model.M)])

    @torch.no_grad()
    def give_back() -> None:
        for layer, w in enumerate(model.weights):
            w.copy_(ens.params[f"{2 * layer}.weight"])
            if model.biases is not None:
                model.biases[layer].copy_(ens.params[f"{2 * layer}.bias"])

    return ens, give_back


def _check_fits(ens: Ensemble, dataset: Dataset, x: Tensor) -> None:
    was = ens.training
    try:
        with torch.no_grad():
            out = ens.eval()(x[:2])  # (M, 2, C)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise InitlabError(
            f"the model does not take {dataset.name}'s input ({dataset.features} features a sample): {first}"
        ) from None
    finally:
        ens.train(was)
    if out.dim() != 3 or out.shape[-1] != dataset.n_classes:
        raise InitlabError(
            f"the model's output {tuple(out.shape[1:])} does not fit {dataset.name}'s "
            f"{dataset.n_classes} classes: it must return (B, {dataset.n_classes}) logits"
        )


def evaluate(model: Ensemble | Stack, x: Tensor, y: Tensor, *, batch: int = 2000) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy and accuracy of every model on ``x: (N, ...)``, ``y: (N,)``: two ``(M,)``
    float64 (on the CPU), in evaluation mode."""
    ens, _ = _as_ensemble(model)
    w = next(iter(ens.params.values()))
    total, correct = evaluate_ensemble(ens, x.to(ens.device, w.dtype), y.to(ens.device), batch)
    n = max(len(x), 1)
    return (total / n).cpu(), (correct.double() / n).cpu()


class _Run:
    """The state of one training run: losses on the device and their host copy, divergence, evaluations."""

    def __init__(self, backend: Backend, cfg: TrainConfig, ex: Tensor, ey: Tensor) -> None:
        self.backend, self.cfg, self.ex, self.ey = backend, cfg, ex, ey
        M, T, dev = backend.M, cfg.iterations, backend.device
        dtype = torch.float64 if backend.dtype == torch.float64 else torch.float32
        self.dev_losses = torch.full((T, M), math.nan, dtype=dtype, device=dev)  # (T, M)
        self.losses = torch.full((T, M), math.nan, dtype=dtype)  # (T, M) host copy
        self.alive = torch.ones(M, dtype=torch.bool, device=dev)  # (M,)
        self.died = torch.full((M,), -1, dtype=torch.int64, device=dev)  # (M,) step it diverged at
        self.alive_host = torch.ones(M, dtype=torch.bool)  # (M,) as of the last read
        self.evals: list[tuple[int, Tensor, Tensor]] = []
        self.eval_time = 0.0
        self.done = 0
        self.read_upto = 0

    def step(self, step: int, x: Tensor, y: Tensor, observe: Callable[[Tensor], None] | None) -> None:
        """One backend step with the divergence guard (see the module doc), all on the device."""
        b, alive = self.backend, self.alive
        b.snapshot(alive)
        loss = b.step(x, y, observe)  # (M,)
        loss_ok = torch.isfinite(loss)  # (M,)
        keep = alive & loss_ok & b.finite()  # (M,)
        self.dev_losses[step] = torch.where(alive, loss, math.nan)
        at = torch.where(loss_ok, step + 1, step)  # (M,): the next step if only the weights broke
        self.died = torch.where(alive & ~keep, at, self.died)
        self.alive = keep
        self.done = step + 1

    def read(self) -> None:
        """Copy the losses recorded since the last read to the host (the one sync) and ``alive``; put
        the diverged models back to their saved state."""
        if self.read_upto < self.done:
            self.losses[self.read_upto : self.done] = self.dev_losses[self.read_upto : self.done].cpu()
            self.read_upto = self.done
        self.alive_host = self.alive.cpu()
        if not bool(self.alive_host.all()):
            self.backend.restore(self.alive)

    def diverged_at(self) -> list[int | None]:
        return [None if d < 0 else int(d) for d in self.died.cpu().tolist()]

    def evaluate(self) -> None:
        t = time.perf_counter()
        total, correct = self.backend.evaluate(self.ex, self.ey, self.cfg.eval_batch)
        n = max(len(self.ex), 1)
        self.evals.append((self.done, (total / n).cpu(), (correct.double() / n).cpu()))
        self.eval_time += time.perf_counter() - t

    def live_mean(self) -> float:
        live = self.losses[self.done - 1][self.alive_host] if self.done else torch.empty(0)
        return float(live.mean()) if len(live) else math.nan


def train(
    model: Ensemble | Stack,
    dataset: Dataset,
    config: TrainConfig | None = None,
    *,
    generator: torch.Generator,
    progress: Callable[..., None] | None = None,
    on_step: OnStep | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train every model of ``model`` in place on ``dataset``; returns the measurements.

    ``model`` is an :class:`~initlab.ensemble.Ensemble` (or a :class:`~initlab.ensemble.Stack`,
    trained as the ensemble of its models and updated in place). ``progress(done, total, loss=...)``
    is called about a hundred times. ``on_step(step, ensemble, loss)`` is called every
    ``config.log_every`` iterations (``step`` = 0, k, 2k, ...) **after the backward pass and before
    the update**: ``ensemble.params`` hold the weights this step's forward used and their ``.grad``
    the gradients (model ``m``'s gradient is that of its own mean loss); ``loss: (M,)`` is this
    step's per-model loss. It must not modify the ensemble. Observing never changes a number.
    """
    cfg = config if config is not None else TrainConfig()
    cfg.validate()
    start = time.perf_counter()
    ens, give_back = _as_ensemble(model)
    dev = ens.device
    dtype = next(iter(ens.params.values())).dtype
    x_all = dataset.train_x.to(dev, dtype).contiguous()  # (N, D) moved once
    y_all = dataset.train_y.to(dev).contiguous()  # (N,)
    _check_fits(ens, dataset, x_all)
    sampler = Sampler(len(x_all), cfg.batch_size, cfg.sampling, generator)
    n_eval = len(dataset.test_x) if cfg.eval_size is None else min(cfg.eval_size, len(dataset.test_x))
    ex = dataset.test_x[:n_eval].to(dev, dtype)  # (E, D)
    ey = dataset.test_y[:n_eval].to(dev)  # (E,)
    T = cfg.iterations
    was = ens.training
    ens.train()
    backend = make_backend(ens, cfg)
    run = _Run(backend, cfg, ex, ey)
    tick = max(1, T // 100)
    interrupted = False
    reason: str | None = None
    try:
        if cfg.eval_every:
            run.evaluate()
        for step in range(T):
            if should_stop is not None and should_stop():
                interrupted, reason = True, "interrupted"
                break
            idx = sampler.next().to(dev, non_blocking=True)  # (B,)
            xb = x_all.index_select(0, idx)  # (B, D)
            yb = y_all.index_select(0, idx)  # (B,)
            observe = None
            if on_step is not None and step % cfg.log_every == 0:
                observe = _observer(on_step, step, ens)
            run.step(step, xb, yb, observe)
            done = run.done
            evaluating = bool(cfg.eval_every) and done % cfg.eval_every == 0 and done < T
            reporting = progress is not None and (done % tick == 0 or done == T)
            if done % cfg.log_every == 0 or done == T or evaluating or reporting:
                run.read()
                if not bool(run.alive_host.any()):
                    reason = "all models diverged"
            if evaluating:
                run.evaluate()
            if reporting and progress is not None:
                progress(done, T, loss=run.live_mean())
            if reason is not None:
                break
        run.read()
        if not run.evals or run.evals[-1][0] != run.done:
            run.evaluate()
    finally:
        backend.close()
        ens.train(was)
        give_back()
    return TrainResult(
        train_loss=run.losses[: run.done].clone(),
        eval_iterations=[e[0] for e in run.evals],
        eval_loss=torch.stack([e[1] for e in run.evals]),
        eval_accuracy=torch.stack([e[2] for e in run.evals]),
        diverged_at=run.diverged_at(),
        iterations=run.done,
        interrupted=interrupted,
        stop_reason=reason,
        wall_seconds=time.perf_counter() - start,
        eval_seconds=run.eval_time,
        eval_examples=n_eval,
        config=cfg,
        backend=backend.name,
        device=str(dev),
    )


def _observer(on_step: OnStep, step: int, ens: Ensemble) -> Callable[[Tensor], None]:
    return lambda loss: on_step(step, ens, loss)
