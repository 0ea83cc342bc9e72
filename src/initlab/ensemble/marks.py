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
  (the probe records the stream there, the branches at the marked layers).

>>> from torch import nn
>>> branch = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), mark_residual(nn.Linear(4, 4)))
>>> residual_outputs(nn.Sequential(branch))
['0.2']
"""

from __future__ import annotations

from typing import TypeVar

from torch import nn

RESIDUAL = "initlab_residual"  #: attribute on the last weighted layer of a residual branch
RESIDUAL_NORM = "initlab_residual_norm"  #: attribute on a norm after that layer in the branch
BLOCK = "initlab_block"  #: attribute on a residual block (its output is the residual stream)

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


def _marked(model: nn.Module, attr: str) -> list[str]:
    return [name for name, mod in model.named_modules() if getattr(mod, attr, False) is True]


def residual_outputs(model: nn.Module) -> list[str]:
    """``named_modules`` names of the layers marked ``initlab_residual`` (branch outputs), in order."""
    return _marked(model, RESIDUAL)


def residual_norms(model: nn.Module) -> list[str]:
    """Names of the norms marked ``initlab_residual_norm`` (the branch's last norm), in order."""
    return _marked(model, RESIDUAL_NORM)


def residual_blocks(model: nn.Module) -> list[str]:
    """Names of the modules marked ``initlab_block`` (residual blocks), in order."""
    return _marked(model, BLOCK)
