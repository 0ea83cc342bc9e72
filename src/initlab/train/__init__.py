"""The trainer: many models trained at once on the same batches (see :mod:`initlab.train.trainer`)."""

from __future__ import annotations

from .backend import BACKENDS, Backend
from .dense import DenseMLP, activation_of_module, dense_mlp
from .optim import NOT_PER_MODEL, OPTIMIZERS, PER_MODEL, make_optimizer
from .trainer import SAMPLINGS, OnStep, Sampler, TrainConfig, TrainResult, evaluate, make_backend, train

__all__ = [
    "BACKENDS",
    "NOT_PER_MODEL",
    "OPTIMIZERS",
    "PER_MODEL",
    "SAMPLINGS",
    "Backend",
    "DenseMLP",
    "OnStep",
    "Sampler",
    "TrainConfig",
    "TrainResult",
    "activation_of_module",
    "dense_mlp",
    "evaluate",
    "make_backend",
    "make_optimizer",
    "train",
]
