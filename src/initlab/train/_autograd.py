"""The default backend: autograd over the stacked parameters, ``torch.optim`` on the stacked tensors.

Model ``m``'s loss is its own mean cross-entropy ``L_m = mean_b CE(f_m(x_b), y_b)``; the backward
pass runs on ``sum_m L_m``, and since ``d(sum_m L_m)/d theta_m = dL_m/d theta_m`` (no parameter is
shared), every model gets exactly its own gradient. The optimizer (:mod:`initlab.train.optim`) is
elementwise, so one ``torch.optim`` step on the stacked tensors is M per-model steps.

Gradient clipping (``clip``) is per model, as ``torch.nn.utils.clip_grad_norm_`` on that model
alone: ``n_m = sqrt(sum over its parameters of |g|^2)`` over model ``m``'s slices, and its
gradients are scaled by ``min(1, clip / (n_m + 1e-6))``.

For dense MLPs the forward is written for dense layers (:meth:`initlab.train.dense.DenseMLP.forward`,
the first layer one ``(M*out, D) @ (D, B)`` matmul): under ``vmap`` the first layer's shared batch
is expanded to ``(M, B, D)`` and its weight gradient is a batched matmul followed by a transposed
copy, which made the whole step 1.5-2x slower on the CPU.

``compile=True`` wraps the forward and loss in ``torch.compile`` (CUDA only; untested here, on a
machine without a GPU).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.errors import InitlabError
from ..ensemble import Ensemble
from .backend import Observe, Saved, models_finite
from .dense import dense_mlp
from .optim import make_optimizer


def per_model_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy of every model: ``logits: (M, B, C)``, ``y: (B,)`` -> ``(M,)``."""
    M, B, _ = logits.shape
    ce = F.cross_entropy(logits.transpose(1, 2), y.expand(M, B), reduction="none")  # (M, B)
    return ce.mean(1)  # (M,)


@torch.no_grad()
def clip_per_model(params: list[Tensor], max_norm: float) -> None:
    """Scale each model's gradients so that their global norm (its own slices) is at most ``max_norm``."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    M = grads[0].shape[0]
    sq = torch.stack([g.reshape(M, -1).square().sum(1) for g in grads]).sum(0)  # (M,)
    scale = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)  # (M,)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))).to(g.dtype))


@torch.no_grad()
def evaluate_ensemble(ens: Ensemble, x: Tensor, y: Tensor, batch: int) -> tuple[Tensor, Tensor]:
    """Summed cross-entropy ``(M,)`` float64 and correct argmax predictions ``(M,)`` int64 of every
    model on ``x: (N, ...)``, ``y: (N,)``, in evaluation mode, ``batch`` examples at a time."""
    was = ens.training
    ens.eval()
    total = torch.zeros(ens.M, dtype=torch.float64, device=ens.device)  # (M,)
    correct = torch.zeros(ens.M, dtype=torch.int64, device=ens.device)  # (M,)
    try:
        for i in range(0, len(x), batch):
            logits = ens(x[i : i + batch])  # (M, b, C)
            yb = y[i : i + batch]  # (b,)
            ce = F.cross_entropy(
                logits.transpose(1, 2), yb.expand(ens.M, len(yb)), reduction="none"
            )  # (M, b)
            total += ce.double().sum(1)
            correct += (logits.argmax(-1) == yb).sum(1)
    finally:
        ens.train(was)
    return total, correct


class AutogradBackend:
    """Any ensemble on any device (module doc); ``optimizer`` is a spec of :mod:`initlab.train.optim`."""

    name = "autograd"

    def __init__(
        self,
        ens: Ensemble,
        optimizer: str,
        *,
        lr: float,
        momentum: float,
        betas: tuple[float, float],
        eps: float,
        clip: float | None = None,
        compile: bool = False,
    ) -> None:
        self.ens, self.M, self.device = ens, ens.M, ens.device
        self.dtype = next(iter(ens.params.values())).dtype
        self.params = list(ens.params.values())  # each (M, *shape)
        self.opt = make_optimizer(optimizer, self.params, lr=lr, momentum=momentum, betas=betas, eps=eps)
        self.clip = clip
        self.buffers = [b for b in ens.buffers.values() if b.dim() >= 1 and b.shape[0] == self.M]
        # dense MLPs: the same forward written for dense layers (the shared batch read once by the
        # first layer, whose weight gradient is then one matmul, not M); any other model: vmap
        self.dense = dense_mlp(ens)
        self._saved = Saved()
        self._loss = self._eager_loss
        if compile:
            if self.device.type != "cuda":
                raise InitlabError(f"compile is offered on CUDA devices only, not on {self.device}")
            self._loss = torch.compile(self._eager_loss)  # type: ignore[assignment]

    def _eager_loss(self, x: Tensor, y: Tensor) -> Tensor:
        logits = self.dense.forward(self.ens, x) if self.dense is not None else self.ens(x)  # (M, B, C)
        return per_model_loss(logits, y)  # (M,)

    def step(self, x: Tensor, y: Tensor, observe: Observe | None = None) -> Tensor:
        for p in self.params:
            p.grad = None
        loss = self._loss(x, y)  # (M,)
        loss.sum().backward()  # type: ignore[no-untyped-call]
        if self.clip is not None:
            clip_per_model(self.params, self.clip)
        if observe is not None:
            observe(loss.detach())
        self.opt.step()
        return loss.detach()

    def evaluate(self, x: Tensor, y: Tensor, batch: int) -> tuple[Tensor, Tensor]:
        return evaluate_ensemble(self.ens, x, y, batch)

    def _state(self) -> list[Tensor]:
        """Parameters, per-model buffers, then the optimizer's per-entry state (in a fixed order)."""
        out = [*self.params, *self.buffers]
        for p in self.params:
            st = self.opt.state.get(p, {})
            out += [st[k] for k in sorted(st) if isinstance(st[k], Tensor) and st[k].shape == p.shape]
        return out

    def finite(self) -> Tensor:
        return models_finite(self.params, self.M)

    def snapshot(self, keep: Tensor) -> None:
        self._saved.take(self._state(), keep)

    def restore(self, keep: Tensor) -> None:
        self._saved.put(self._state(), keep)

    def close(self) -> None:
        for p in self.params:
            p.grad = None
