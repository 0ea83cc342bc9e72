"""Recognise a dense MLP inside an ensemble: ``Sequential(Linear, act, Linear, act, ..., Linear)``.

The fast path (:mod:`initlab.train._fastpath`) trains such ensembles with the hand-written engine,
and observers (the symmetry study's) read their hidden layers from the stacked parameters. Any
other module (convolutions, normalisation, dropout, residual connections, mixed activations) is
not a dense MLP, and :func:`dense_mlp` returns ``None`` for it.

The activation module may be :class:`initlab.activations.ActivationModule` (what the ``mlp`` family
and :meth:`Stack.to_sequential` build) or one of ``torch.nn``'s, mapped to the registered activation
with the same function (``nn.ReLU`` -> ``relu``, ``nn.LeakyReLU(0.2)`` ->
``leaky_relu(negative_slope=0.2)``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..activations import Activation, activation
from ..ensemble import Ensemble, Stack

_SIMPLE: dict[type[nn.Module], str] = {
    nn.Identity: "linear",
    nn.ReLU: "relu",
    nn.Tanh: "tanh",
    nn.Sigmoid: "sigmoid",
    nn.SiLU: "silu",
    nn.Mish: "mish",
    nn.SELU: "selu",
    nn.Softsign: "softsign",
}


def activation_of_module(mod: nn.Module) -> Activation | None:
    """The registered activation an elementwise module computes, or ``None`` if it is not one."""
    act = getattr(mod, "act", None)
    if isinstance(act, Activation):
        return act
    if type(mod) in _SIMPLE:
        return activation(_SIMPLE[type(mod)])
    if type(mod) is nn.GELU and mod.approximate == "none":
        return activation("gelu")
    if type(mod) is nn.LeakyReLU:
        return activation("leaky_relu", negative_slope=float(mod.negative_slope))
    if type(mod) is nn.ELU:
        return activation("elu", alpha=float(mod.alpha))
    if type(mod) is nn.Softplus and mod.threshold == 20:
        return activation("softplus", beta=float(mod.beta))
    return None


@dataclass(frozen=True)
class DenseMLP:
    """An ensemble's dense MLP: its widths, the parameter names of each Linear and the activation."""

    widths: list[int]  #: ``[in, hidden..., out]``
    weights: list[str]  #: per Linear layer: the name of its weight in ``Ensemble.params``
    biases: list[str] | None  #: per Linear layer: its bias, or ``None`` when the layers have none
    act: Activation

    @property
    def depth(self) -> int:
        """Number of Linear layers."""
        return len(self.weights)

    def linear(self, ens: Ensemble, layer: int, h: Tensor, *, grad: bool = False) -> Tensor:
        """Pre-activation of ``layer`` for ``h: (B, D)`` shared or ``(M, B, D)``: ``(M, B, out)``
        (the arithmetic of :meth:`initlab.ensemble.Stack.linear`, so the same bits as the ensemble's
        forward). The first layer is one matmul over the shared batch (read once for all models).
        ``grad``: keep the parameters in the autograd graph (else they are detached), and compute the
        first layer as ``(M*out, D) @ (D, B)`` (see the comment there)."""
        w = ens.params[self.weights[layer]]  # (M, out, in)
        b = ens.params[self.biases[layer]] if self.biases is not None else None  # (M, out)
        if not grad:
            w, b = w.detach(), (b.detach() if b is not None else None)
        M, out, inp = w.shape
        if h.dim() == 2 and not grad:
            B = h.shape[0]
            z: Tensor = (h @ w.reshape(M * out, inp).T).reshape(B, M, out).transpose(0, 1)  # (M, B, out)
            return z + b.unsqueeze(1) if b is not None else z  # (M, B, out)
        if h.dim() == 2:
            # the engine's layout: rows are (model, unit), so each model's rows are computed alike
            # wherever it sits in the ensemble (bit for bit, as alone); the weight gradient is
            # dz^T (M*out, B) @ h (B, in), one matmul, contiguous
            B = h.shape[0]
            zt = (w.reshape(M * out, inp) @ h.T).view(M, out, B)  # (M, out, B)
            z = zt.transpose(1, 2)  # (M, B, out)
            return z + b.unsqueeze(1) if b is not None else z  # (M, B, out)
        if b is not None:
            return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))  # (M, B, out)
        return torch.bmm(h, w.transpose(1, 2))  # (M, B, out)

    @torch.no_grad()
    def stack(self, ens: Ensemble) -> Stack:
        """The ensemble's models as a :class:`~initlab.ensemble.Stack` (a copy, on the ensemble's device)."""
        w0 = ens.params[self.weights[0]]
        st = Stack(
            self.widths,
            self.act,
            models=ens.M,
            bias=self.biases is not None,
            dtype=w0.dtype,
            device=w0.device,
        )
        for layer, name in enumerate(self.weights):
            st.weights[layer].copy_(ens.params[name])
            if self.biases is not None and st.biases is not None:
                st.biases[layer].copy_(ens.params[self.biases[layer]])
        return st

    def forward(self, ens: Ensemble, x: Tensor) -> Tensor:
        """Logits ``(M, B, C)`` of a shared batch ``x: (B, D)``, differentiable in ``ens.params``
        (the ensemble's own forward written for dense layers; equal to ``ens(x)`` up to rounding)."""
        h = x  # (B, D)
        for layer in range(self.depth):
            h = self.linear(ens, layer, h, grad=True)  # (M, B, H)
            if layer < self.depth - 1:
                h = self.act(h)  # (M, B, H)
        return h

    @torch.no_grad()
    def hidden(self, ens: Ensemble, x: Tensor) -> list[Tensor]:
        """Every hidden layer's activations for a shared input ``x: (B, D)``: ``(M, B, H)`` each."""
        out: list[Tensor] = []
        h = x  # (B, D)
        for layer in range(self.depth - 1):
            h = self.act(self.linear(ens, layer, h))  # (M, B, H)
            out.append(h)
        return out


def dense_mlp(ens: Ensemble) -> DenseMLP | None:
    """The dense-MLP structure of ``ens`` (see the module doc), or ``None`` if it is something else."""
    base = ens.base
    if not isinstance(base, nn.Sequential) or len(base) == 0 or ens.buffers:
        return None
    mods = list(base.named_children())
    acts = mods[1::2]
    if len(mods) % 2 == 0 or not all(type(m) is nn.Linear for _, m in mods[0::2]):
        return None
    linears: list[tuple[str, nn.Linear]] = [(n, m) for n, m in mods[0::2] if isinstance(m, nn.Linear)]
    found = [activation_of_module(m) for _, m in acts]
    if any(a is None for a in found) or len({a.spec for a in found if a is not None}) > 1:
        return None
    has_bias = {m.bias is not None for _, m in linears}
    if len(has_bias) != 1:
        return None
    widths = [linears[0][1].in_features] + [m.out_features for _, m in linears]
    if any(m.in_features != w for (_, m), w in zip(linears, widths, strict=False)):
        return None
    act = found[0] if found and found[0] is not None else activation("linear")
    bias = has_bias.pop()
    return DenseMLP(
        widths=widths,
        weights=[f"{n}.weight" for n, _ in linears],
        biases=[f"{n}.bias" for n, _ in linears] if bias else None,
        act=act,
    )
