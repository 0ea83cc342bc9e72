"""The stacked forward and backward pass of M classifiers, written out by hand for speed.

The arithmetic is exactly backpropagation through ``Stack`` with a per-model mean softmax
cross-entropy; what is written out is the memory layout, chosen so that every matmul is one call
for all M models and nothing but the matmuls, the activation and the softmax touches the data:

* **packed parameters**: while an :class:`Engine` is open, layer ``l``'s weights and biases live side
  by side in one ``(M, out, in + 1)`` tensor ``[W | b]`` (the stack's parameters are views into it,
  restored to their own storage on exit). Activations carry a row of ones, ``(M, in + 1, B)``, so
  each matmul adds the bias and each weight-gradient matmul yields the bias gradient: no separate
  bias pass, forward or backward.
* **feature-major activations** ``(M, H, B)``, batch contiguous -- the layout the matmuls produce,
  and in which the softmax reduces over a short strided axis.
* **a shared first layer**: ``z0 = [W0 | b0] @ [x | 1]^T`` is one ``(M*H, D+1) @ (D+1, B)`` matmul
  that reads the batch once for all models; its weight gradient is one ``(M*H, B) @ (B, D+1)``.
* **fused updates**: each parameter's gradient ``g`` is accumulated straight into a *target* tensor
  as ``target = beta * target + alpha * g`` by the matmul that computes it (BLAS's
  ``C = beta C + alpha A B``). Plain SGD passes the parameters themselves with ``(1, -lr)`` -- the
  update costs nothing beyond the gradient matmul; momentum passes its buffers with
  ``(momentum, 1)``; Adam passes gradient buffers with ``(0, 1)``. An observer that wants the
  gradients gets a second backward pass into buffers of its own with ``(0, 1)`` (:meth:`Engine.expose_grads`);
  it never replaces the fused update, so observing cannot change the numbers. A weight is updated
  only after the matmul that propagates the gradient through it has run. The mean's ``1/B`` is
  applied in those matmuls too (the gradient flowing back is that of the summed loss).

Measured on 2 cores against the straightforward batched version (batch-major activations, separate
bias passes): feature-major activations about 12% faster, packed biases about 9% on top.
"""

from __future__ import annotations

import functools
from types import TracebackType

import torch
from torch import Tensor

from ..core.errors import InitlabError
from ..ensemble import Stack
from ._actgrad import act_into, backward_fn

#: Where the backward pass accumulates the gradients: one tensor per layer shaped like the packed
#: parameters ``(M, out, in + 1)`` (``(M, out, in)`` without biases), and ``(beta, alpha)`` of
#: ``target = beta * target + alpha * grad``.
Targets = tuple[list[Tensor], float, float]


class Engine:
    """Forward/backward of a ``Stack`` of classifiers (``activate_last=False``), without autograd.

    Use as a context manager: ``with Engine(stack) as eng: ...`` packs the parameters on entry and
    gives the stack its own (updated) storage back on exit.
    """

    def __init__(self, stack: Stack) -> None:
        if stack.activate_last:
            raise InitlabError("the trainer needs logits: build the stack with activate_last=False")
        self.stack = stack
        self.M = stack.M
        self.depth = stack.depth
        self.widths = stack.widths
        self.bias = stack.biases is not None
        self.act = stack.act
        self.act_backward = backward_fn(stack.act)
        self.packs: list[Tensor] = []  # per layer (M, out, in + bias): [W | b]
        self.grads: list[Tensor] = []  # same shapes, when gradients are exposed to observers
        self._saved: list[tuple[Tensor, Tensor | None]] = []
        self._plans: dict[int, _Plan] = {}  # per batch size: buffers and their views
        self._kept: _Plan | None = None  # the plan of the last forward with keep=True
        self._w0 = torch.empty(0)  # packs[0] as (M*H, D+1)
        self._wT: list[Tensor] = []  # packs[l][:, :, :in]^T, (M, in, out) (used for l >= 1)
        self._flat: dict[int, Tensor] = {}  # layer-0 targets as (M*H, D+1), by data pointer

    # -- packing ----------------------------------------------------------------------------------

    def __enter__(self) -> Engine:
        if self._saved:
            raise RuntimeError("this Engine is already open")
        s = self.stack
        self.packs, self._plans, self._flat, self._kept = [], {}, {}, None
        for layer, w in enumerate(s.weights):
            M, out, inp = w.shape
            pack = torch.empty(M, out, inp + self.bias, dtype=w.dtype, device=w.device)  # (M, out, in+1)
            pack[:, :, :inp] = w.data
            b = s.biases[layer] if s.biases is not None else None
            if b is not None:
                pack[:, :, inp] = b.data
            self._saved.append((w.data, None if b is None else b.data))
            w.data = pack[:, :, :inp]  # (M, out, in) view
            if b is not None:
                b.data = pack[:, :, inp]  # (M, out) view
            self.packs.append(pack)
        # Views made once: the packed tensors are only ever updated in place.
        self._w0 = self.packs[0].view(self.M * self.widths[1], -1)  # (M*H, D+1)
        self._wT = [p[:, :, :w].transpose(1, 2) for p, w in zip(self.packs, self.widths, strict=False)]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        s = self.stack
        for layer, (w_old, b_old) in enumerate(self._saved):
            w = s.weights[layer]
            w_old.copy_(w.data)
            w.data = w_old
            if w.grad is not None:
                w.grad = w.grad.contiguous()
            if b_old is not None and s.biases is not None:
                b = s.biases[layer]
                b_old.copy_(b.data)
                b.data = b_old
                if b.grad is not None:
                    b.grad = b.grad.contiguous()
        self._saved = []

    def expose_grads(self) -> list[Tensor]:
        """Gradient buffers shaped like :attr:`packs`, set as the stack parameters' ``.grad`` (views)."""
        s = self.stack
        self.grads = [torch.zeros_like(p) for p in self.packs]
        for layer, g in enumerate(self.grads):
            inp = self.widths[layer]
            s.weights[layer].grad = g[:, :, :inp]
            if s.biases is not None:
                s.biases[layer].grad = g[:, :, inp]
        return self.grads

    # -- forward ----------------------------------------------------------------------------------

    def _plan(self, B: int) -> _Plan:
        if B not in self._plans:
            self._plans[B] = _Plan(self.M, self.widths, B, self.bias, self.packs[0])
        return self._plans[B]

    def batch(self, B: int) -> Tensor:
        """The ``(B, D)`` input buffer to fill (e.g. ``index_select(..., out=)``) before :meth:`forward`."""
        return self._plan(B).x

    def forward(self, x: Tensor, *, keep: bool = False) -> Tensor:
        """Logits ``(M, C, B)`` of a shared batch ``x: (B, D)`` (copied unless it is :meth:`batch`'s
        buffer). ``keep`` saves what :meth:`backward` needs. The result is a buffer that the next
        forward with the same batch size overwrites."""
        L = self.depth
        plan = self._plan(x.shape[0])
        if x.data_ptr() != plan.x.data_ptr():
            plan.x.copy_(x)
        # (M, H, B) pre-activations, bias included; layer 0 is one matmul over the shared input
        torch.mm(self._w0, plan.x1T, out=plan.z0)  # (M*H, D+1) @ (D+1, B)
        for layer in range(1, L):
            act_into(self.act, plan.z[layer - 1], plan.h_act[layer - 1])  # (M, H, B) into [h | 1]
            torch.bmm(self.packs[layer], plan.h[layer - 1], out=plan.z[layer])  # (M, H_out, B)
        self._kept = plan if keep else None
        return plan.z[L - 1]

    # -- loss ---------------------------------------------------------------------------------------

    @staticmethod
    def loss_and_grad(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Per-model mean cross-entropy ``(M,)`` of logits ``(M, C, B)``, and the gradient of the
        per-model *summed* loss w.r.t. the logits, ``softmax - onehot`` (``(M, C, B)``, in place).
        """
        M, _, B = logits.shape
        logp = torch.log_softmax(logits, dim=1)  # (M, C, B)
        target = y.view(1, 1, B).expand(M, 1, B)  # (M, 1, B)
        loss = logp.gather(1, target).mean(dim=(1, 2)).neg_()  # (M,)
        grad = logp.exp_()  # (M, C, B): softmax
        grad.scatter_add_(1, target, _minus_ones(M, B, grad.dtype))
        return loss, grad

    @staticmethod
    def loss_and_correct(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Summed cross-entropy ``(M,)`` (float64) and number of correct argmax predictions ``(M,)``."""
        M, _, B = logits.shape
        logp = torch.log_softmax(logits, dim=1)  # (M, C, B)
        picked = logp.gather(1, y.view(1, 1, B).expand(M, 1, B))  # (M, 1, B)
        correct = (logits.max(1).indices == y.view(1, B)).sum(1)  # (M,): argmax (first maximum), faster
        return picked.double().sum(dim=(1, 2)).neg_(), correct

    # -- backward -----------------------------------------------------------------------------------

    def backward(self, dlogits: Tensor, targets: Targets) -> None:
        """Accumulate every gradient of the per-model mean loss into its target, ``t = beta t + alpha g``.

        ``dlogits: (M, C, B)`` is the summed-loss gradient from :meth:`loss_and_grad`, after a
        :meth:`forward` with ``keep=True``; it is only read, so one forward can feed two backward passes
        (the observer's gradients, then the update)."""
        M, L = self.M, self.depth
        plan = self._kept
        if plan is None:
            raise RuntimeError("backward needs a forward(..., keep=True) first")
        tgt, beta, alpha = targets
        B = dlogits.shape[2]
        step = alpha / B  # the mean's 1/B, applied in the matmuls
        dz = dlogits  # (M, C, B)
        for layer in range(L - 1, 0, -1):
            dprev = plan.dprev[layer - 1]  # (M, H_in, B)
            torch.bmm(self._wT[layer], dz, out=dprev)  # before W moves
            _gemm(tgt[layer], dz, plan.h_T[layer - 1], beta, step)  # (M, H_out, H_in+1): [dW | db]
            dz = self.act_backward(dprev, plan.z[layer - 1], plan.h_act[layer - 1])  # (M, H_in, B)
        t0 = tgt[0]
        flat = self._flat.get(t0.data_ptr())
        if flat is None:
            flat = self._flat[t0.data_ptr()] = t0.view(M * self.widths[1], -1)  # (M*H, D+1)
        g0 = plan.dprev0 if dz.data_ptr() == plan.dprev0.data_ptr() else dz.reshape(M * self.widths[1], B)
        _gemm(flat, g0, plan.x1, beta, step)  # (M*H, B) @ (B, D+1)


class _Plan:
    """Buffers for one batch size ``B``, and views of them made once.

    ``x1 = [x | 1]`` ``(B, D+1)``; per layer ``l`` a pre-activation buffer ``z[l]`` ``(M, H, B)``
    (``z0`` is ``z[0]`` flat, ``(M*H, B)``); per hidden layer an activation buffer ``h`` ``(M, H+1, B)``
    whose last row stays 1, and a gradient buffer ``dprev`` ``(M, H, B)``.
    """

    def __init__(self, M: int, widths: list[int], B: int, bias: bool, like: Tensor) -> None:
        def ones(*shape: int) -> Tensor:
            return torch.ones(shape, dtype=like.dtype, device=like.device)

        def empty(*shape: int) -> Tensor:
            return torch.empty(shape, dtype=like.dtype, device=like.device)

        D, hidden = widths[0], widths[1:-1]
        self.x1 = ones(B, D + bias)  # (B, D+1): [x | 1]
        self.x = self.x1[:, :D]  # (B, D)
        self.x1T = self.x1.T  # (D+1, B)
        self.z0 = empty(M * widths[1], B)  # (M*H, B)
        self.z = [self.z0.view(M, widths[1], B)] + [empty(M, w, B) for w in widths[2:]]  # (M, H, B)
        self.h = [ones(M, w + bias, B) for w in hidden]  # (M, H+1, B): [h ; 1]
        self.h_act = [h[:, :w] for h, w in zip(self.h, hidden, strict=True)]  # (M, H, B) views
        self.h_T = [h.transpose(1, 2) for h in self.h]  # (M, B, H+1) views
        self.dprev = [empty(M, w, B) for w in hidden]  # (M, H, B)
        self.dprev0 = self.dprev[0].view(M * widths[1], B) if hidden else empty(0)  # (M*H, B)


@functools.lru_cache(maxsize=8)
def _minus_ones(M: int, B: int, dtype: torch.dtype) -> Tensor:
    return torch.full((M, 1, B), -1.0, dtype=dtype)  # (M, 1, B), never written to


def _gemm(target: Tensor, a: Tensor, b: Tensor, beta: float, alpha: float) -> None:
    """``target = beta * target + alpha * (a @ b)`` (batched if 3-D), in place; ``beta = 0`` ignores
    the old values (NaN-safe, as BLAS does)."""
    if target.dim() == 3:
        target.baddbmm_(a, b, beta=beta, alpha=alpha)
    else:
        target.addmm_(a, b, beta=beta, alpha=alpha)
