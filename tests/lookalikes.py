"""Pure-PyTorch look-alikes of the structures real libraries use (no transformers / timm needed).

Each class copies the computation (not the name) of its original: Hugging Face's ``Conv1D`` (GPT-2),
its activation modules, timm's ``Swish``, a T5-style feed-forward block whose forward defines ``wi``,
``wo`` then ``act`` and branches on data, and a T5-style attention that folds ``1/sqrt(d_kv)`` into
the query weights' init.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Conv1D(nn.Module):
    """Hugging Face's ``Conv1D``: weight ``(nx, nf)`` = (in, out), ``y = x @ W + b``."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        size_out = (*x.size()[:-1], self.nf)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GELUActivation(nn.Module):
    """HF's ``GELUActivation``: holds ``F.gelu`` as an attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.act = F.gelu

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x)


class NewGELUActivation(nn.Module):
    """HF's ``NewGELUActivation`` (GPT-2): the tanh approximation written out."""

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class SiLUActivation(nn.Module):
    """HF's old ``SiLUActivation``: ``x * sigmoid(x)`` written out."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(x)


class Swish(nn.Module):
    """timm's ``Swish`` (= SiLU), whose class name older code took for sigmoid."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mul(x.sigmoid())


class QuadAct(nn.Module):
    """An elementwise nonlinearity no registry knows: ``x + x^2 / 4``."""

    def forward(self, x: Tensor) -> Tensor:
        return x + x * x / 4


class GPT2MLP(nn.Module):
    """GPT-2's MLP: Conv1D -> NewGELU -> Conv1D."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.c_fc = Conv1D(4 * d, d)
        self.c_proj = Conv1D(d, 4 * d)
        self.act = NewGELUActivation()

    def forward(self, x: Tensor) -> Tensor:
        return self.c_proj(self.act(self.c_fc(x)))


class FeedForward(nn.Module):
    """T5's ``DenseReluDense`` order of definition (``wi``, ``wo``, then ``act``) and a data ``if``."""

    def __init__(self, d: int = 16, act: nn.Module | None = None) -> None:
        super().__init__()
        self.wi = nn.Linear(d, 4 * d, bias=False)
        self.wo = nn.Linear(4 * d, d, bias=False)
        self.act = nn.ReLU() if act is None else act

    def forward(self, x: Tensor) -> Tensor:
        h = self.act(self.wi(x))
        if h.abs().max() > 1e6:  # data-dependent: torch.fx cannot trace this
            h = h.clamp(-1e6, 1e6)
        return self.wo(h)


class FunctionalFeedForward(nn.Module):
    """``wi``, ``wo`` and a *functional* activation (``F.gelu``) behind a data ``if``."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.wi = nn.Linear(d, 4 * d)
        self.wo = nn.Linear(4 * d, d)

    def forward(self, x: Tensor) -> Tensor:
        h = self.wi(x)
        if h.sum() > -1e9:
            h = F.gelu(h)
        return self.wo(torch.tanh(h))


class T5Attention(nn.Module):
    """T5's attention: no ``1/sqrt(d_kv)`` in the logits; it is folded into q's init instead.

    Init as T5's ``_init_weights``: ``q ~ N(0, (d_model d_kv)^-1)``, ``k, v ~ N(0, 1/d_model)``,
    ``o ~ N(0, 1/(heads d_kv))``.
    """

    def __init__(self, d_model: int = 64, heads: int = 2, d_kv: int = 32) -> None:
        super().__init__()
        inner = heads * d_kv
        self.heads, self.d_kv = heads, d_kv
        self.q = nn.Linear(d_model, inner, bias=False)
        self.k = nn.Linear(d_model, inner, bias=False)
        self.v = nn.Linear(d_model, inner, bias=False)
        self.o = nn.Linear(inner, d_model, bias=False)
        nn.init.normal_(self.q.weight, std=(d_model * d_kv) ** -0.5)
        nn.init.normal_(self.k.weight, std=d_model**-0.5)
        nn.init.normal_(self.v.weight, std=d_model**-0.5)
        nn.init.normal_(self.o.weight, std=inner**-0.5)

    def forward(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape

        def split(y: Tensor) -> Tensor:
            return y.view(b, t, self.heads, self.d_kv).transpose(1, 2)  # (B, H, T, D)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2)  # (B, H, T, T), unscaled as in T5
        if scores.isnan().any():
            raise ValueError("nan")
        att = scores.softmax(-1) @ v  # (B, H, T, D)
        return self.o(att.transpose(1, 2).reshape(b, t, -1))


class T5Block(nn.Module):
    """Pre-norm residual block: attention then the feed-forward."""

    def __init__(self, d_model: int = 64, heads: int = 2, d_kv: int = 32) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = T5Attention(d_model, heads, d_kv)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model)
        nn.init.normal_(self.ff.wi.weight, std=d_model**-0.5)
        nn.init.normal_(self.ff.wo.weight, std=(4 * d_model) ** -0.5)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.ff(self.ln2(x))
