"""The fast path's optimizers: SGD, SGD with momentum and Adam fused into the engine's gradient matmuls.

The same arithmetic as ``torch.optim`` (the fast path is proven equal to the default backend, which
runs ``torch.optim``, in float64).

Each optimizer takes its step in two parts: :meth:`targets` says where the backward pass should
accumulate the gradient (``t = beta * t + alpha * g``, done inside the gradient matmul), then
:meth:`finish` completes the step. SGD: the parameters with ``(1, -lr)`` -- nothing left to do.
Momentum: the momentum buffers with ``(momentum, 1)``, then ``p -= lr * buf``. Adam: gradient
buffers with ``(0, 1)``, then the Adam update. There is one path only, so a trainer that also shows
the gradients to an observer (computed separately) updates to the same bits.

The updates follow ``torch.optim.SGD`` (``dampening=0``, ``nesterov=False``, the buffer starting at
the first gradient) and ``torch.optim.Adam`` (``amsgrad=False``, no weight decay) step for step; the
equality with ``torch.optim`` on ordinary ``nn.Sequential`` models is tested.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor

from ..core.errors import unknown

#: The optimizers the fast path fuses (with ``torch.optim``'s defaults otherwise).
FUSED: tuple[str, ...] = ("sgd", "momentum", "adam")


class Optimizer(Protocol):
    """What the trainer needs from an optimizer over a fixed list of parameter tensors."""

    def targets(self) -> tuple[list[Tensor], float, float]: ...

    def finish(self) -> None: ...


class SGD:
    """``p -= lr * g``."""

    def __init__(self, params: list[Tensor], *, lr: float) -> None:
        self.params, self.lr = params, lr

    def targets(self) -> tuple[list[Tensor], float, float]:
        return self.params, 1.0, -self.lr

    def finish(self) -> None:
        pass


class Momentum:
    """``buf = momentum * buf + g; p -= lr * buf`` (``buf`` starts at zero, so at the first ``g``)."""

    def __init__(self, params: list[Tensor], *, lr: float, momentum: float) -> None:
        self.params, self.lr, self.momentum = params, lr, momentum
        self.bufs = [torch.zeros_like(p) for p in params]

    def targets(self) -> tuple[list[Tensor], float, float]:
        return self.bufs, self.momentum, 1.0

    def finish(self) -> None:
        torch._foreach_add_(self.params, self.bufs, alpha=-self.lr)


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction, as ``torch.optim.Adam`` computes it."""

    def __init__(
        self, params: list[Tensor], *, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.grads = [torch.zeros_like(p) for p in params]
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.step = 0

    def targets(self) -> tuple[list[Tensor], float, float]:
        return self.grads, 0.0, 1.0

    def finish(self) -> None:
        grads = self.grads
        b1, b2 = self.betas
        self.step += 1
        torch._foreach_lerp_(self.exp_avg, grads, 1.0 - b1)
        torch._foreach_mul_(self.exp_avg_sq, b2)
        torch._foreach_addcmul_(self.exp_avg_sq, grads, grads, 1.0 - b2)
        bias_correction1 = 1.0 - b1**self.step
        bias_correction2 = 1.0 - b2**self.step
        step_size = self.lr / bias_correction1
        denom = torch._foreach_sqrt(self.exp_avg_sq)
        torch._foreach_div_(denom, bias_correction2**0.5)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.exp_avg, denom, -step_size)


def fused_optimizer(
    name: str, params: list[Tensor], *, lr: float, momentum: float, betas: tuple[float, float], eps: float
) -> SGD | Momentum | Adam:
    """``"sgd"``, ``"momentum"`` or ``"adam"`` over the engine's packed parameters (updated in place)."""
    if name == "sgd":
        return SGD(params, lr=lr)
    if name == "momentum":
        return Momentum(params, lr=lr, momentum=momentum)
    if name == "adam":
        return Adam(params, lr=lr, betas=betas, eps=eps)
    raise unknown("optimizer", name, FUSED)


def state_tensors(opt: SGD | Momentum | Adam) -> list[Tensor]:
    """The optimizer's per-entry state, shaped like the parameters (frozen with them on divergence)."""
    if isinstance(opt, Momentum):
        return list(opt.bufs)
    if isinstance(opt, Adam):
        return [*opt.exp_avg, *opt.exp_avg_sq]
    return []
