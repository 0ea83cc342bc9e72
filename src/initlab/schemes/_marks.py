"""Residual marks: which layers end a residual branch, which modules are residual blocks.

Depth-aware schemes (Fixup, zero-residual, GPT-2's depth scaling) and ``auto`` init need to know the
layers whose output is added onto a residual stream. Every model family marks them with plain
module attributes, and a user's own model can set the same attributes:

* ``module.initlab_residual = True`` -- the **last weighted layer** (Linear/ConvNd) of a residual
  branch: in ``x + f(x)`` the layer that produces ``f(x)`` (in a ResNet basic block the second conv;
  in a transformer block the attention output projection and the MLP's second Linear);
* ``module.initlab_residual_norm = True`` -- a normalization layer that comes after that last
  weighted layer inside the branch (the basic block's second BatchNorm): zero-residual init
  (Goyal et al. 2017) sets *its* gain to zero when there is one;
* ``module.initlab_block = True`` -- a residual block, whose output is the residual stream after it
  (the probe records the stream there, the branches at the marked layers);
* ``module.initlab_gate = True`` -- a module holding a learnable scalar branch gate ``alpha`` in
  ``x + alpha f(x)`` (SkipInit / ReZero), started at 0 by the family; schemes leave it alone.

:func:`branches` reads the structure the depth-aware schemes need from these marks. A model with
none of these attributes on any module (a torchvision, timm or Hugging Face model) gets the marks its
recognised blocks imply instead (:func:`infer_marks`, :mod:`initlab.schemes._infer`: ResNet basic and
bottleneck blocks, transformer blocks); explicit marks always win, and ``model.initlab_residual =
False`` on the root turns that off. The readers below (:func:`residual_outputs`, ...) all resolve
the marks this way.

>>> from torch import nn
>>> branch = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), mark_residual(nn.Linear(4, 4)))
>>> residual_outputs(nn.Sequential(branch))
['0.2']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from torch import nn

from ._infer import Recognised, infer_marks, is_weighted

RESIDUAL = "initlab_residual"  #: attribute on the last weighted layer of a residual branch
RESIDUAL_NORM = "initlab_residual_norm"  #: attribute on a norm after that layer in the branch
BLOCK = "initlab_block"  #: attribute on a residual block (its output is the residual stream)
GATE = "initlab_gate"  #: attribute on a module holding a SkipInit/ReZero branch gate

#: Modules whose ``weight`` is a fan-bearing (out, in[/groups], *kernel) matrix.
WEIGHTED = (nn.Linear, nn.modules.conv._ConvNd)

M = TypeVar("M", bound=nn.Module)


def mark_residual(module: M) -> M:
    """Mark ``module`` as the last weighted layer of a residual branch; returns it."""
    setattr(module, RESIDUAL, True)
    return module


def mark_residual_norm(module: M) -> M:
    """Mark ``module`` as the norm after a residual branch's last weighted layer; returns it."""
    setattr(module, RESIDUAL_NORM, True)
    return module


def mark_block(module: M) -> M:
    """Mark ``module`` as a residual block; returns it."""
    setattr(module, BLOCK, True)
    return module


def mark_gate(module: M) -> M:
    """Mark ``module`` as holding a residual branch gate (SkipInit / ReZero); returns it."""
    setattr(module, GATE, True)
    return module


_ATTRS = (RESIDUAL, RESIDUAL_NORM, BLOCK, GATE)


def has_marks(model: nn.Module) -> bool:
    """Whether any module of ``model`` carries a mark attribute (``True`` or ``False``): no inference then."""
    return any(hasattr(mod, attr) for mod in model.modules() for attr in _ATTRS)


def recognised(model: nn.Module) -> list[Recognised]:
    """The blocks whose marks :func:`branches` infers: :func:`infer_marks` on an unmarked model, else []."""
    return [] if has_marks(model) else infer_marks(model)


def _resolve(model: nn.Module) -> dict[str, list[str]]:
    """Per mark attribute, the names carrying it: the model's own marks, else the inferred ones."""
    if has_marks(model):
        mods = list(model.named_modules())
        return {a: [n for n, m in mods if getattr(m, a, False) is True] for a in _ATTRS}
    found = infer_marks(model)
    return {
        RESIDUAL: [o for r in found for o in r.outputs],
        RESIDUAL_NORM: [r.norm for r in found if r.norm is not None],
        BLOCK: [r.block for r in found],
        GATE: [],
    }


def _marked(model: nn.Module, attr: str) -> list[str]:
    return _resolve(model)[attr]


def residual_outputs(model: nn.Module) -> list[str]:
    """``named_modules`` names of the layers marked ``initlab_residual`` (branch outputs), in order.

    On a model without marks, the outputs of its recognised blocks (:func:`recognised`).
    """
    return _marked(model, RESIDUAL)


def residual_norms(model: nn.Module) -> list[str]:
    """Names of the norms marked ``initlab_residual_norm`` (the branch's last norm), in order."""
    return _marked(model, RESIDUAL_NORM)


def residual_blocks(model: nn.Module) -> list[str]:
    """Names of the modules marked ``initlab_block`` (residual blocks), in order."""
    return _marked(model, BLOCK)


def _inside(name: str, parent: str) -> bool:
    return parent == "" or name == parent or name.startswith(parent + ".")


@dataclass(frozen=True)
class Branch:
    """One residual branch as the marks describe it.

    ``output`` is the marked last weighted layer; ``block`` the innermost marked block holding it
    (``None`` if none); ``layers`` the weighted layers of the branch in order, ``output`` last: the
    block's weighted layers after the previous branch output in the block (all of them before
    ``output`` when the block holds one branch; just ``output`` outside a block); ``norm`` the marked
    residual norm of the same block paired in order (``None`` if none).
    """

    output: str
    block: str | None
    layers: tuple[str, ...]
    norm: str | None


def branches(model: nn.Module) -> list[Branch]:
    """The residual branches of ``model`` from its marks, in ``named_modules`` order of their outputs.

    The marks are the model's own, or, on a model without any, those its recognised blocks imply
    (:func:`recognised`). The branch's weighted layers are Linear, ConvNd and Hugging Face's ``Conv1D``.

    >>> from torch import nn
    >>> blk = mark_block(nn.Sequential(nn.Linear(3, 3), nn.ReLU(), mark_residual(nn.Linear(3, 3))))
    >>> branches(nn.Sequential(nn.Linear(2, 3), blk))
    [Branch(output='1.2', block='1', layers=('1.0', '1.2'), norm=None)]
    """
    marks = _resolve(model)
    outputs, blocks, norms = marks[RESIDUAL], marks[BLOCK], marks[RESIDUAL_NORM]
    weighted = [n for n, m in model.named_modules() if is_weighted(m)]
    found: list[Branch] = []
    for out in outputs:
        holders = [b for b in blocks if _inside(out, b) and b != out]
        block = max(holders, key=len) if holders else None
        if block is None:
            found.append(Branch(out, None, (out,), None))
            continue
        siblings = [o for o in outputs if _inside(o, block)]
        in_block = [n for n in weighted if _inside(n, block)]
        k = siblings.index(out)
        start = in_block.index(siblings[k - 1]) + 1 if k else 0
        layers = tuple(in_block[start : in_block.index(out) + 1])
        block_norms = [n for n in norms if _inside(n, block)]
        norm = block_norms[siblings.index(out)] if len(block_norms) == len(siblings) else None
        found.append(Branch(out, block, layers, norm))
    return found
