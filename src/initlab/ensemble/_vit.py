"""A small Vision Transformer (Dosovitskiy et al. 2021) written with plain modules, vmap-friendly.

Pre-norm encoder blocks (Xiong et al. 2020)::

    x = x + attn(LN(x))          attn: softmax(q k^T / sqrt(d_head)) v, heads concatenated, out proj
    x = x + mlp(LN(x))           mlp: Linear(dim, 4 dim) -> activation (GELU by default) -> Linear

Patch embedding is a ``Conv2d(C, dim, patch, stride=patch)`` (a ConvNd, so schemes apply with conv
fans ``C patch^2``); tokens ``(B, T, dim)`` with ``T = (H / patch)(W / patch)``, plus a class token
(``pool="cls"``) or not (``pool="mean"``: the mean over tokens), plus a learned position embedding.
q, k, v and the output projection are separate ``nn.Linear`` layers (no packed
``nn.MultiheadAttention`` weight), and attention is written with matmuls, which
``torch.func.vmap`` batches over the model axis and which run in float64 as well.

Initial values no scheme touches: the position embedding ``~ TruncNormal(0, 0.02^2)`` on
``[-0.04, 0.04]`` from the global RNG (as timm / BERT), the class token zero, LayerNorm gains 1.
Marks (:func:`initlab.schemes.branches`): each block ``initlab_block``; the attention output projection
and the MLP's second Linear ``initlab_residual`` (GPT-2's ``c_proj`` layers).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from ..schemes import mark_block, mark_residual

Pooling = Literal["cls", "mean"]


class Attention(nn.Module):
    """Multi-head self-attention with separate q, k, v, out ``nn.Linear`` layers."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.out = mark_residual(nn.Linear(dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        B, T, D = x.shape
        H = self.heads
        q = self.q(x).view(B, T, H, D // H).transpose(1, 2)  # (B, H, T, d)
        k = self.k(x).view(B, T, H, D // H).transpose(1, 2)  # (B, H, T, d)
        v = self.v(x).view(B, T, H, D // H).transpose(1, 2)  # (B, H, T, d)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // H))  # (B, H, T, T)
        y = att.softmax(dim=-1) @ v  # (B, H, T, d)
        out: Tensor = self.out(y.transpose(1, 2).reshape(B, T, D))  # (B, T, D)
        return out


class MLP(nn.Module):
    """``fc2(act(fc1(x)))`` with hidden width ``4 dim``; ``fc2`` ends the residual branch."""

    def __init__(self, dim: int, act: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.act = act()
        self.fc2 = mark_residual(nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.fc2(self.act(self.fc1(x)))  # (B, T, D)
        return out


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: ``x + attn(LN(x))``, then ``x + mlp(LN(x))``."""

    def __init__(self, dim: int, heads: int, act: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, act)
        mark_block(self)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))  # (B, T, D)
        out: Tensor = x + self.mlp(self.norm2(x))  # (B, T, D)
        return out


class ViT(nn.Module):
    """Patch embedding, class token / mean pooling, position embedding, ``depth`` blocks, LN, head.

    ``(B, C*H*W) -> (B, C, H, W) -> (B, T, dim) -> (B, T [+1], dim) -> (B, dim) -> (B, classes)``
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        classes: int,
        act: Callable[[], nn.Module],
        *,
        depth: int,
        dim: int,
        heads: int,
        patch: int,
        pool: Pooling,
    ) -> None:
        super().__init__()
        c, h, w = in_shape
        tokens = (h // patch) * (w // patch) + (1 if pool == "cls" else 0)
        self.pool = pool
        self.unflatten = nn.Unflatten(1, in_shape)
        self.patch = nn.Conv2d(c, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if pool == "cls" else None
        self.pos_embed = nn.Parameter(torch.empty(1, tokens, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02, a=-0.04, b=0.04)  # global RNG (see module doc)
        self.blocks = nn.Sequential(*(EncoderBlock(dim, heads, act) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: Tensor) -> Tensor:
        p = self.patch(self.unflatten(x))  # (B, dim, H/p, W/p)
        t = p.flatten(2).transpose(1, 2)  # (B, T, dim)
        if self.cls_token is not None:
            t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1)  # (B, T+1, dim)
        t = self.norm(self.blocks(t + self.pos_embed))  # (B, T', dim)
        pooled = t[:, 0] if self.cls_token is not None else t.mean(dim=1)  # (B, dim)
        out: Tensor = self.head(pooled)  # (B, classes)
        return out
