"""The fast path: dense-MLP ensembles on the CPU trained by the hand-written engine (:mod:`._engine`).

Chosen automatically (``backend="auto"``) when the ensemble is a dense MLP
(:func:`initlab.train.dense.dense_mlp`), it lives on the CPU, the optimizer is a plain ``sgd``,
``momentum`` or ``adam`` (no further arguments) and neither ``clip`` nor ``compile`` is asked for.
It does the arithmetic of the default backend with the memory layout of the engine (packed
``[W | b]``, fused updates), is proven equal to it in float64 (tests/train), and measured faster on
the CPU (``benchmarks/train_speed.py``; README, "Speed").

The engine trains a private :class:`~initlab.ensemble.Stack` holding a copy of the ensemble's
parameters; they are copied back into the ensemble on observed steps (with the gradients in
``.grad``) and when training ends.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..ensemble import Ensemble
from ._engine import Engine
from ._fused import FUSED, fused_optimizer, state_tensors
from .backend import Observe, Saved, models_finite
from .dense import DenseMLP, dense_mlp


def fast_path_applies(ens: Ensemble, optimizer: str, clip: float | None, compile: bool) -> DenseMLP | None:
    """The ensemble's dense-MLP structure when the fast path can train it (see the module doc), else None."""
    if ens.device.type != "cpu" or clip is not None or compile or optimizer not in FUSED:
        return None
    if any(p.dtype not in (torch.float32, torch.float64) for p in ens.params.values()):
        return None
    return dense_mlp(ens)


class EngineBackend:
    """The engine behind the backend protocol (:class:`initlab.train.backend.Backend`)."""

    name = "engine"

    def __init__(
        self,
        ens: Ensemble,
        plan: DenseMLP,
        optimizer: str,
        *,
        lr: float,
        momentum: float,
        betas: tuple[float, float],
        eps: float,
    ) -> None:
        self.ens, self.plan, self.M, self.device = ens, plan, ens.M, ens.device
        self.dtype = next(iter(ens.params.values())).dtype
        self.stack = plan.stack(ens)
        self.engine = Engine(self.stack).__enter__()
        self.opt = fused_optimizer(
            optimizer, self.engine.packs, lr=lr, momentum=momentum, betas=betas, eps=eps
        )
        self.grads: list[Tensor] = []
        self._saved = Saved()

    def step(self, x: Tensor, y: Tensor, observe: Observe | None = None) -> Tensor:
        eng = self.engine
        with torch.no_grad():
            logits = eng.forward(x, keep=True)  # (M, C, B)
            loss, dlogits = eng.loss_and_grad(logits, y)  # (M,), (M, C, B)
            if observe is not None:
                # the observer's gradients come from a backward pass of their own; the update below
                # is the same fused one as without an observer, so the numbers are too
                if not self.grads:
                    self.grads = eng.expose_grads()
                eng.backward(dlogits, (self.grads, 0.0, 1.0))
                self._publish(with_grads=True)
        if observe is not None:
            observe(loss)
        with torch.no_grad():
            eng.backward(dlogits, self.opt.targets())
            self.opt.finish()
        return loss

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, batch: int) -> tuple[Tensor, Tensor]:
        eng = self.engine
        total = torch.zeros(self.M, dtype=torch.float64)  # (M,)
        correct = torch.zeros(self.M, dtype=torch.int64)  # (M,)
        for i in range(0, len(x), batch):
            loss_sum, ok = eng.loss_and_correct(eng.forward(x[i : i + batch]), y[i : i + batch])
            total += loss_sum
            correct += ok
        return total, correct

    def _state(self) -> list[Tensor]:
        return [*self.engine.packs, *state_tensors(self.opt)]

    def finite(self) -> Tensor:
        return models_finite(self.engine.packs, self.M)

    def snapshot(self, keep: Tensor) -> None:
        self._saved.take(self._state(), keep)

    def restore(self, keep: Tensor) -> None:
        self._saved.put(self._state(), keep)

    @torch.no_grad()
    def _publish(self, *, with_grads: bool) -> None:
        """Copy the engine's parameters (and gradients) into the ensemble's ``params``."""
        s, plan = self.stack, self.plan
        for layer, name in enumerate(plan.weights):
            pairs = [(self.ens.params[name], s.weights[layer])]
            if plan.biases is not None and s.biases is not None:
                pairs.append((self.ens.params[plan.biases[layer]], s.biases[layer]))
            for dst, src in pairs:
                dst.copy_(src)
                if with_grads and src.grad is not None:
                    dst.grad = src.grad.clone()

    def close(self) -> None:
        self._publish(with_grads=False)
        self.engine.__exit__(None, None, None)
        for p in self.ens.params.values():
            p.grad = None
