"""The stacked forward and backward pass of M classifiers, written out by hand for speed.

The arithmetic is exactly backpropagation through ``Stack`` with a per-model mean softmax
cross-entropy; what is written out is the memory layout, chosen so that every matmul is one call
for all M models and no activation is copied between layers:

* layer 0 reads the shared batch ``x: (B, D)`` once: ``z0 = x @ W0^T`` is one ``(B, D) @ (D, M*H)``
  matmul, and its weight gradient ``dz0^T @ x`` is one ``(M*H, B) @ (B, D)`` matmul;
* hidden layers are batched matmuls over the model axis on ``(M, B, H)``;
* the last layer produces the logits transposed, ``(M, C, B)``, so that the softmax reduces over a
  short strided axis with the batch contiguous.

The backward pass does not have to materialise gradients: each parameter's gradient ``g`` is
accumulated straight into a *target* tensor as ``target = beta * target + alpha * g`` by the matmul
that computes it (BLAS's ``C = beta C + alpha A B``). Plain SGD passes the parameters themselves with
``(beta, alpha) = (1, -lr)`` -- the update costs nothing beyond the gradient matmul; momentum
passes its buffers with ``(momentum, 1)``; Adam and observers pass gradient buffers with ``(0, 1)``.
A weight is updated only after the matmul that propagates the gradient through it has run.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._errors import InitlabError
from ..stack import Stack
from ._actgrad import backward_fn

#: Per-parameter targets, in ``Stack.parameters()`` order: ``[W0, b0, W1, b1, ...]`` (no biases if
#: the stack has none), plus the ``(beta, alpha)`` of ``target = beta * target + alpha * grad``.
Targets = tuple[list[Tensor], float, float]


class Engine:
    """Forward/backward of a ``Stack`` of classifiers (``activate_last=False``), no autograd."""

    def __init__(self, stack: Stack) -> None:
        if stack.activate_last:
            raise InitlabError("the trainer needs logits: build the stack with activate_last=False")
        self.stack = stack
        self.M = stack.M
        self.depth = stack.depth
        self.widths = stack.widths
        self.act = stack.act
        self.act_backward = backward_fn(stack.act)
        self._zs: list[Tensor] = []  # pre-activations of the hidden layers
        self._hs: list[Tensor] = []  # activations of the hidden layers

    def parameters(self) -> list[nn.Parameter]:
        """``[W0, b0, W1, b1, ...]`` (weights only for a bias-free stack): the order of targets."""
        s = self.stack
        if s.biases is None:
            return list(s.weights)
        return [p for pair in zip(s.weights, s.biases, strict=True) for p in pair]

    # -- forward ----------------------------------------------------------------------------------

    def forward(self, x: Tensor, *, keep: bool = False) -> Tensor:
        """Logits, transposed: ``x: (B, D)`` -> ``(M, C, B)``. ``keep`` saves what backward needs."""
        s, M, L = self.stack, self.M, self.depth
        W = [w.data for w in s.weights]
        b = None if s.biases is None else [v.data for v in s.biases]
        B = x.shape[0]
        d1 = self.widths[1]
        w0 = W[0].view(M * d1, -1)  # (M*H, D)
        z = torch.mm(x, w0.T) if b is None else torch.addmm(b[0].view(-1), x, w0.T)  # (B, M*H)
        zs, hs = [], []
        if L == 1:
            return z.view(B, M, d1).permute(1, 2, 0)  # (M, C, B)
        a = self.act(z)  # (B, M*H)
        zs.append(z)
        hs.append(a)
        h = a.view(B, M, d1).transpose(0, 1)  # (M, B, H), strided
        for layer in range(1, L - 1):
            wt = W[layer].transpose(1, 2)  # (M, H_in, H_out)
            z = torch.bmm(h, wt) if b is None else torch.baddbmm(b[layer].unsqueeze(1), h, wt)  # (M, B, H)
            h = self.act(z)  # (M, B, H)
            zs.append(z)
            hs.append(h)
        hT = h.transpose(1, 2)  # (M, H, B)
        wl = W[L - 1]  # (M, C, H)
        logits = torch.bmm(wl, hT) if b is None else torch.baddbmm(b[L - 1].unsqueeze(2), wl, hT)  # (M, C, B)
        if keep:
            self._zs, self._hs = zs, hs
        return logits

    # -- loss ---------------------------------------------------------------------------------------

    @staticmethod
    def loss_and_grad(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Per-model mean cross-entropy ``(M,)`` and its gradient w.r.t. the logits ``(M, C, B)``."""
        M, _, B = logits.shape
        mx = logits.amax(1, keepdim=True)  # (M, 1, B)
        e = (logits - mx).exp_()  # (M, C, B)
        s = e.sum(1, keepdim=True)  # (M, 1, B)
        picked = logits.gather(1, y.view(1, 1, B).expand(M, 1, B))  # (M, 1, B)
        nll = s.log().add_(mx).sub_(picked)  # (M, 1, B): logsumexp - z_y
        loss = nll.mean(dim=(1, 2))  # (M,)
        grad = e.div_(s)  # (M, C, B): softmax
        grad.scatter_add_(1, y.view(1, 1, B).expand(M, 1, B), torch.full((M, 1, B), -1.0, dtype=grad.dtype))
        return loss, grad.mul_(1.0 / B)

    @staticmethod
    def loss_and_correct(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Summed cross-entropy ``(M,)`` (float64) and number of correct argmax predictions ``(M,)``."""
        M, _, B = logits.shape
        lse = torch.logsumexp(logits, dim=1)  # (M, B)
        picked = logits.gather(1, y.view(1, 1, B).expand(M, 1, B)).squeeze(1)  # (M, B)
        correct = (logits.argmax(1) == y.view(1, B)).sum(1)  # (M,)
        return (lse - picked).double().sum(1), correct

    # -- backward -----------------------------------------------------------------------------------

    def backward(self, x: Tensor, dlogits: Tensor, targets: Targets) -> None:
        """Accumulate every gradient into its target: ``t = beta * t + alpha * grad``.

        ``x: (B, D)`` is the batch and ``dlogits: (M, C, B)`` the loss gradient from
        :meth:`loss_and_grad`, after a :meth:`forward` with ``keep=True``.
        """
        s, M, L = self.stack, self.M, self.depth
        W = [w.data for w in s.weights]
        tgt, beta, alpha = targets
        has_bias = s.biases is not None
        tw = tgt[0::2] if has_bias else tgt  # weight targets
        tb = tgt[1::2] if has_bias else []  # bias targets
        B = x.shape[0]
        d1 = self.widths[1]
        if L == 1:
            dz0T = dlogits  # (M, C, B)
        else:
            zs, hs = self._zs, self._hs
            hT = self._h_in(L - 1, B)  # (M, B, H) input of the last layer
            # Last layer: propagate first (it needs the weights before their update).
            if L == 2:
                dprev = torch.bmm(W[1].transpose(1, 2), dlogits)  # (M, H, B)
            else:
                dprev = torch.bmm(dlogits.transpose(1, 2), W[L - 1])  # (M, B, H)
            _gemm(tw[L - 1], dlogits, hT, beta, alpha)  # (M, C, H)
            if has_bias:
                _reduce(tb[L - 1], dlogits, 2, beta, alpha)  # (M, C)
            for layer in range(L - 2, 0, -1):
                dz = self.act_backward(dprev, zs[layer], hs[layer])  # (M, B, H)
                h_in = self._h_in(layer, B)  # (M, B, H_in)
                if layer == 1:
                    dprev = torch.bmm(W[1].transpose(1, 2), dz.transpose(1, 2))  # (M, H_in, B)
                else:
                    dprev = torch.bmm(dz, W[layer])  # (M, B, H_in)
                _gemm(tw[layer], dz.transpose(1, 2), h_in, beta, alpha)  # (M, H_out, H_in)
                if has_bias:
                    _reduce(tb[layer], dz, 1, beta, alpha)  # (M, H_out)
            # Layer 0's activation derivative, in the transposed (M, H, B) layout.
            z0T = zs[0].view(B, M, d1).permute(1, 2, 0)  # (M, H, B)
            a0T = hs[0].view(B, M, d1).permute(1, 2, 0)  # (M, H, B)
            dz0T = self.act_backward(dprev, z0T, a0T)  # (M, H, B)
        # Layer 0: one (M*H, B) @ (B, D) matmul for all models.
        g0 = dz0T.reshape(M * d1, B)  # (M*H, B)
        _gemm(tw[0].view(M * d1, -1), g0, x, beta, alpha)  # (M*H, D)
        if has_bias:
            _reduce(tb[0], dz0T, 2, beta, alpha)  # (M, H)

    def _h_in(self, layer: int, B: int) -> Tensor:
        """The input of ``layer`` (>= 1) as ``(M, B, H)``."""
        h = self._hs[layer - 1]
        if layer == 1:
            return h.view(B, self.M, self.widths[1]).transpose(0, 1)  # (M, B, H), strided
        return h


def _gemm(target: Tensor, a: Tensor, b: Tensor, beta: float, alpha: float) -> None:
    """``target = beta * target + alpha * (a @ b)`` (batched if 3-D), in place."""
    if target.dim() == 3:
        if beta == 0.0 and alpha == 1.0:
            torch.bmm(a, b, out=target)
        else:
            target.baddbmm_(a, b, beta=beta, alpha=alpha)
    elif beta == 0.0 and alpha == 1.0:
        torch.mm(a, b, out=target)
    else:
        target.addmm_(a, b, beta=beta, alpha=alpha)


def _reduce(target: Tensor, g: Tensor, dim: int, beta: float, alpha: float) -> None:
    """``target = beta * target + alpha * g.sum(dim)``, in place (the bias gradient)."""
    if beta == 0.0 and alpha == 1.0:
        torch.sum(g, dim, out=target)
        return
    if beta != 1.0:
        target.mul_(beta)
    target.add_(g.sum(dim), alpha=alpha)
