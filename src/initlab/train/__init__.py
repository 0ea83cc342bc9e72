"""The trainer: many models trained at once on the same batches (see :mod:`initlab.train.trainer`)."""

from __future__ import annotations

from ._actgrad import BackwardFn, backward_fn
from .optim import OPTIMIZERS, SGD, Adam, Momentum, Optimizer, make_optimizer
from .trainer import SAMPLINGS, OnStep, Sampler, TrainConfig, TrainResult, evaluate, train

__all__ = [
    "OPTIMIZERS",
    "SAMPLINGS",
    "SGD",
    "Adam",
    "BackwardFn",
    "Momentum",
    "OnStep",
    "Optimizer",
    "Sampler",
    "TrainConfig",
    "TrainResult",
    "backward_fn",
    "evaluate",
    "make_optimizer",
    "train",
]
