"""Every weight a scheme applies to, with its fans and its layout: the one enumeration the tools share.

:func:`weight_slots` walks ``named_modules`` and yields a :class:`Slot` per weight, in its
*oriented* form ``(out, in[/groups], *kernel)`` -- the layout :func:`initlab.schemes.fans` reads:

* ``nn.Linear`` -- weight ``(out, in)``: as stored. ``nn.ConvNd`` -- ``(out, in/groups, *kernel)``: as
  stored.
* ``nn.ConvTransposeNd`` -- stored ``(in, out/groups, *kernel)``; its fans are the ones
  ``torch.nn.init`` computes from that shape (``fan_in = (out/groups) * prod(kernel)``), the
  convention under which PyTorch (and every ``nn.init`` call on it) initialises it; kept as stored.
* Hugging Face's ``Conv1D`` (GPT-2's attention and MLP) -- recognised by structure, not by name: a
  leaf module with an ``nf`` attribute equal to the last dim of a 2-D ``weight`` ``(in, out)`` and a
  ``bias`` of shape ``(out,)``, computing ``x @ W + b``. The weight is stored transposed, so its
  oriented view is ``weight.T`` ``(out, in)``: ``fan_in = in``, ``fan_out = out``.
* ``nn.MultiheadAttention`` with a packed ``in_proj_weight`` ``(3E, E)`` -- three slots, the row blocks
  q ``[0:E]``, k ``[E:2E]``, v ``[2E:3E]``, each ``(E, E)`` with ``fan_in = fan_out = E`` (the bias
  rows of ``in_proj_bias`` with them); with separate ``q/k/v_proj_weight`` (kdim/vdim != E) one slot
  each. Its ``out_proj`` is an ``nn.Linear`` slot of its own.
* ``nn.Embedding`` -- ``(num_embeddings, dim)`` as stored, kind ``embedding``, with its
  ``padding_idx``: :meth:`Slot.values` leaves that row out (it is zero by design, not by the law).

:meth:`Slot.view` returns the oriented weight as a *view* of the parameter (writing into it writes
the parameter), so the tools draw a scheme for ``view.shape`` and copy it in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from ..schemes import fans
from ..schemes import is_conv1d as is_conv1d  # re-exported: the tools share one structural check

SlotKind = Literal["linear", "conv", "conv_transpose", "conv1d", "attention", "embedding"]
#: Slot kinds a layer-wise scheme (auto init, LSUV) re-initialises; embeddings are only audited.
LAYER_KINDS: frozenset[str] = frozenset({"linear", "conv", "conv_transpose", "conv1d", "attention"})


@dataclass(frozen=True)
class Slot:
    """One weight: ``name`` (the layer's name), the ``module`` that owns it, the ``param`` and ``rows``.

    ``layout`` describes the stored tensor; ``fan_in``/``fan_out`` are those of the oriented view;
    ``bias`` names the bias parameter (same ``rows``), if any.
    """

    name: str
    module: str
    kind: SlotKind
    param: str
    layout: str
    fan_in: int
    fan_out: int
    rows: tuple[int, int] | None = None
    transposed: bool = False
    bias: str | None = None
    bias_rows: tuple[int, int] | None = None
    padding_idx: int | None = None

    def view(self, model: nn.Module) -> Tensor:
        """The oriented weight ``(out, in[/groups], *kernel)``, a view of the parameter in ``model``."""
        w: Tensor = model.get_parameter(self.param)
        if self.rows is not None:
            w = w[self.rows[0] : self.rows[1]]
        return w.t() if self.transposed else w

    def values(self, model: nn.Module) -> Tensor:
        """The oriented weight without an embedding's padding row (a copy then): what its law drew."""
        w = self.view(model)
        if self.padding_idx is None or w.shape[0] < 2:
            return w
        i = self.padding_idx % w.shape[0]
        return torch.cat([w[:i], w[i + 1 :]])  # (num - 1, dim)

    def bias_view(self, model: nn.Module) -> Tensor | None:
        """The bias entries of this slot (``(out,)``), a view of the parameter, or ``None``."""
        if self.bias is None:
            return None
        b: Tensor = model.get_parameter(self.bias)
        return b if self.bias_rows is None else b[self.bias_rows[0] : self.bias_rows[1]]


def layer_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Modules owning a layer slot (Linear, ConvNd, Conv1D, MultiheadAttention), by name."""
    out: dict[str, nn.Module] = {}
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear | nn.modules.conv._ConvNd | nn.MultiheadAttention) or is_conv1d(mod):
            out[name] = mod
    return out


def _join(prefix: str, leaf: str) -> str:
    return f"{prefix}.{leaf}" if prefix else leaf


def weight_slots(model: nn.Module) -> list[Slot]:
    """Every weight of ``model`` a scheme applies to, in ``named_modules`` order (module docstring).

    >>> import torch
    >>> [(s.name, s.fan_in, s.fan_out) for s in weight_slots(torch.nn.MultiheadAttention(8, 2))][2:]
    [('in_proj_weight[v]', 8, 8), ('out_proj', 8, 8)]
    """
    return list(_slots(model))


def _slots(model: nn.Module) -> Iterator[Slot]:
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            yield _plain(name, mod, "linear", "(out, in)")
        elif isinstance(mod, nn.modules.conv._ConvTransposeNd):
            yield _plain(name, mod, "conv_transpose", "(in, out/groups, *kernel)")
        elif isinstance(mod, nn.modules.conv._ConvNd):
            yield _plain(name, mod, "conv", "(out, in/groups, *kernel)")
        elif is_conv1d(mod):
            w: Tensor = getattr(mod, "weight")  # noqa: B009 - checked by is_conv1d
            fi, fo = int(w.shape[0]), int(w.shape[1])
            bias = _join(name, "bias") if getattr(mod, "bias", None) is not None else None
            yield Slot(name, name, "conv1d", _join(name, "weight"), "(in, out)", fi, fo, None, True, bias)
        elif isinstance(mod, nn.MultiheadAttention):
            yield from _attention(name, mod)
        elif isinstance(mod, nn.Embedding):
            fi, fo = fans(tuple(mod.weight.shape))
            pad = None if mod.padding_idx is None else int(mod.padding_idx)
            yield Slot(name, name, "embedding", _join(name, "weight"), "(num, dim)", fi, fo, padding_idx=pad)


def _plain(name: str, mod: nn.Module, kind: SlotKind, layout: str) -> Slot:
    w: Tensor = getattr(mod, "weight")  # noqa: B009 - Linear/ConvNd always have one
    fi, fo = fans(tuple(w.shape))
    bias = _join(name, "bias") if getattr(mod, "bias", None) is not None else None
    return Slot(name, name, kind, _join(name, "weight"), layout, fi, fo, bias=bias)


def _attention(name: str, mod: nn.MultiheadAttention) -> Iterator[Slot]:
    e = int(mod.embed_dim)
    has_bias = mod.in_proj_bias is not None
    if mod.in_proj_weight is not None:
        param = _join(name, "in_proj_weight")
        for i, part in enumerate("qkv"):
            bias = _join(name, "in_proj_bias") if has_bias else None
            rows = (i * e, (i + 1) * e)
            yield Slot(f"{param}[{part}]", name, "attention", param, "(3E, E)", e, e, rows, False, bias, rows)
    else:
        for i, (part, dim) in enumerate((("q", e), ("k", int(mod.kdim)), ("v", int(mod.vdim)))):
            param = _join(name, f"{part}_proj_weight")
            bias = _join(name, "in_proj_bias") if has_bias else None
            rows = (i * e, (i + 1) * e)  # its rows of the packed bias
            yield Slot(param, name, "attention", param, "(E, dim)", dim, e, None, False, bias, rows)
