"""The stack: M MLPs of one architecture whose parameters carry a leading model axis ``M``.

This is the one place where vectorisation lives. Model ``m`` has weights ``weights[l][m]`` of shape
``(out, in)`` (PyTorch's Linear layout) and biases ``biases[l][m]`` of shape ``(out,)``. A forward
pass of all M models is one batched matmul per layer:

* layer 0 with a shared input ``x: (B, D)``: one ``(B, D) @ (D, M*H)`` matmul (the input is read once
  for all models), reshaped to ``(M, B, H)``;
* later layers: ``baddbmm(b, h, W^T)``: ``(M, B, H_in) @ (M, H_in, H_out) -> (M, B, H_out)``.

Every model is initialised from its own ``torch.Generator`` seeded with its seed, drawing layer by
layer (weight, then bias), so model ``m`` equals an ``nn.Sequential`` initialised the same way
(:meth:`Stack.to_sequential`), and the same (spec, seed) gives the same weights in any stack.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..activations import Activation, ActivationModule, activation
from ..core.errors import InitlabError
from ..schemes import Scheme, scheme


class Stack(nn.Module):
    """M MLPs ``widths[0] -> widths[1] -> ... -> widths[-1]`` with a leading model axis.

    ``activate_last=False`` leaves the last layer linear (logits for a classifier);
    ``activate_last=True`` applies the activation after every layer (the probe's hidden stack).
    """

    def __init__(
        self,
        widths: Sequence[int],
        act: str | Activation,
        *,
        models: int,
        bias: bool = True,
        activate_last: bool = False,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) < 2 or any(w <= 0 for w in widths):
            raise InitlabError(f"a stack needs at least 2 positive widths, got {widths}")
        if models <= 0:
            raise InitlabError(f"a stack needs at least one model, got M={models}")
        self.widths = widths
        self.M = models
        self.act = activation(act)
        self.activate_last = activate_last
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(models, o, i, dtype=dtype, device=device))  # (M, out, in)
            for i, o in itertools.pairwise(widths)
        )
        self.biases: nn.ParameterList | None = (
            nn.ParameterList(
                nn.Parameter(torch.zeros(models, o, dtype=dtype, device=device))  # (M, out)
                for o in widths[1:]
            )
            if bias
            else None
        )

    @property
    def depth(self) -> int:
        """Number of Linear layers."""
        return len(self.weights)

    @classmethod
    def from_schemes(
        cls,
        widths: Sequence[int],
        act: str | Activation,
        inits: Sequence[str | Scheme],
        seeds: Sequence[int],
        *,
        bias: bool = True,
        activate_last: bool = False,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> Stack:
        """One model per ``(inits[m], seeds[m])`` pair, each drawn from ``Generator().manual_seed(seed)``."""
        if len(inits) != len(seeds):
            raise InitlabError(f"{len(inits)} init specs but {len(seeds)} seeds; give one seed per model")
        stack = cls(
            widths, act, models=len(inits), bias=bias, activate_last=activate_last, dtype=dtype, device=device
        )
        for m, (spec, seed) in enumerate(zip(inits, seeds, strict=True)):
            stack.init_model_(m, scheme(spec), torch.Generator().manual_seed(int(seed)))
        return stack

    @torch.no_grad()
    def init_model_(self, m: int, sch: Scheme, generator: torch.Generator) -> None:
        """Draw model ``m``'s parameters from ``sch``, layer by layer (weight then bias)."""
        for layer, w in enumerate(self.weights):
            shape = tuple(w.shape[1:])  # (out, in)
            w[m] = sch.law(shape).sample(
                shape, generator=generator, dtype=w.dtype, device=w.device
            )  # (out, in)
            if self.biases is not None:
                b = self.biases[layer]
                blaw = sch.bias_law(shape)
                if blaw is None:
                    b[m] = 0.0
                else:
                    b[m] = blaw.sample(
                        (shape[0],), generator=generator, dtype=b.dtype, device=b.device
                    )  # (out,)

    def linear(self, layer: int, h: Tensor) -> Tensor:
        """Pre-activation of ``layer``: ``h: (B, D)`` shared or ``(M, B, D)`` -> ``(M, B, out)``."""
        w = self.weights[layer]  # (M, out, in)
        M, out, inp = w.shape
        if h.dim() == 2:
            B = h.shape[0]
            z: Tensor = (h @ w.reshape(M * out, inp).T).reshape(B, M, out).transpose(0, 1)  # (M, B, out)
            if self.biases is not None:
                z = z + self.biases[layer].unsqueeze(1)  # (M, B, out)
            return z
        if self.biases is not None:
            return torch.baddbmm(self.biases[layer].unsqueeze(1), h, w.transpose(1, 2))  # (M, B, out)
        return torch.bmm(h, w.transpose(1, 2))  # (M, B, out)

    def forward(self, x: Tensor) -> Tensor:
        """``x: (B, D)`` (the same batch for every model) or ``(M, B, D)`` -> ``(M, B, widths[-1])``."""
        h: Tensor = x
        for layer in range(self.depth):
            h = self.linear(layer, h)  # (M, B, H)
            if layer < self.depth - 1 or self.activate_last:
                h = self.act(h)  # (M, B, H)
        return h

    def to_sequential(self, m: int) -> nn.Sequential:
        """Model ``m`` as an ordinary ``nn.Sequential`` of ``nn.Linear`` and the activation (a copy)."""
        mods: list[nn.Module] = []
        for layer, w in enumerate(self.weights):
            lin = nn.Linear(
                w.shape[2], w.shape[1], bias=self.biases is not None, dtype=w.dtype, device=w.device
            )
            with torch.no_grad():
                lin.weight.copy_(w[m])
                if self.biases is not None:
                    lin.bias.copy_(self.biases[layer][m])
            mods.append(lin)
            if layer < self.depth - 1 or self.activate_last:
                mods.append(ActivationModule(self.act))
        return nn.Sequential(*mods)
