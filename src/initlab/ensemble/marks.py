"""Residual marks (defined in :mod:`initlab.schemes`, where depth-aware schemes read them).

Re-exported here, beside the families that set them: ``initlab_residual`` on the last weighted layer
of a residual branch, ``initlab_residual_norm`` on a norm after it, ``initlab_block`` on a residual
block; see :func:`initlab.schemes.residual_outputs`.
"""

from __future__ import annotations

from ..schemes import (
    BLOCK,
    GATE,
    RESIDUAL,
    RESIDUAL_NORM,
    mark_block,
    mark_gate,
    mark_residual,
    mark_residual_norm,
    residual_blocks,
    residual_norms,
    residual_outputs,
)

__all__ = [
    "BLOCK",
    "GATE",
    "RESIDUAL",
    "RESIDUAL_NORM",
    "mark_block",
    "mark_gate",
    "mark_residual",
    "mark_residual_norm",
    "residual_blocks",
    "residual_norms",
    "residual_outputs",
]
