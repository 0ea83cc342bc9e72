"""The trainer: many models trained at once on the same batches (see :mod:`initlab.train.trainer`)."""

from __future__ import annotations

from .optim import OPTIMIZERS, SGD, Adam, Momentum, Optimizer, make_optimizer
from .trainer import SAMPLINGS, OnStep, TrainConfig, TrainResult, evaluate, train

__all__ = [
    "OPTIMIZERS",
    "SAMPLINGS",
    "SGD",
    "Adam",
    "Momentum",
    "OnStep",
    "Optimizer",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "make_optimizer",
    "train",
]
