"""Example model factories for ``initlab diagnose`` and the docs (no-argument callables).

``initlab diagnose initlab.examples:mlp20_relu --input-shape 100 --out runs/mlp20`` diagnoses the
classic deep ReLU stack with PyTorch's default init; add ``--init auto`` to see it fixed. Weights are
PyTorch's defaults, drawn from the global RNG when the factory runs (the CLI seeds it first).
"""

from __future__ import annotations

from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "selu": nn.SELU,
    "gelu": nn.GELU,
}


def mlp(depth: int = 20, width: int = 100, act: str = "relu") -> nn.Sequential:
    """``depth`` x (``nn.Linear(width, width)`` + activation), PyTorch's default init.

    >>> len(mlp(depth=3, width=4))
    6
    """
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), _ACTIVATIONS[act]()]
    return nn.Sequential(*layers)


def mlp20_relu() -> nn.Sequential:
    """20 x (Linear(100, 100) + ReLU) with PyTorch's default init: input shape ``100``."""
    return mlp(20, 100, "relu")


def mlp20_tanh() -> nn.Sequential:
    """20 x (Linear(100, 100) + Tanh) with PyTorch's default init: input shape ``100``."""
    return mlp(20, 100, "tanh")


def small_cnn() -> nn.Sequential:
    """A small CNN for 1 x 28 x 28 images (MNIST-sized) with 10 outputs: input shape ``1,28,28``."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
