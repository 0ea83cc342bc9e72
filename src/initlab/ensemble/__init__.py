"""Ensembles: M models of one architecture with a leading model axis ``M``, run as one computation."""

from __future__ import annotations

from ..schemes import (  # the residual marks, re-exported beside the families that set them
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
from .ensemble import Ensemble, InitFn
from .families import IO, Family, ModelFactory, families, family, model_factory, register_family
from .stack import Stack
from .strategy import STRATEGIES, Strategy, choose_strategy
from .target import load_factory, split_target

__all__ = [
    "BLOCK",
    "GATE",
    "IO",
    "RESIDUAL",
    "RESIDUAL_NORM",
    "STRATEGIES",
    "Ensemble",
    "Family",
    "InitFn",
    "ModelFactory",
    "Stack",
    "Strategy",
    "choose_strategy",
    "families",
    "family",
    "load_factory",
    "mark_block",
    "mark_gate",
    "mark_residual",
    "mark_residual_norm",
    "model_factory",
    "register_family",
    "residual_blocks",
    "residual_norms",
    "residual_outputs",
    "split_target",
]
