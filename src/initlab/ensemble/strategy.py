"""How an ensemble runs its M models: one ``vmap`` over the model axis, or a loop over the models.

Both strategies compute the same function of the same stacked tensors ``params[name]: (M, *shape)``
and ``buffers[name]: (M, *shape)`` (equal up to floating-point reassociation; a test checks outputs,
gradients and BatchNorm running statistics in float64 within 1e-12):

* ``"vmap"``: ``torch.func.vmap(functional_call)`` over the model axis -- a Linear layer becomes one
  batched matmul, a convolution one grouped convolution (``groups = M``). Dropout draws per-model
  randomness (``randomness="different"``).
* ``"loop"``: ``functional_call(base, (params[m], buffers[m]), x)`` for ``m = 0 .. M-1`` on views
  of the stacked tensors (``unbind(0)``: one view per model, whose backward is one ``stack``), the
  outputs stacked to ``(M, B, ...)``. Gradients flow into the stacked parameters, BatchNorm's
  in-place running-statistics updates land in the stacked buffers, so an optimizer still steps all
  models at once over ``(M, *shape)`` tensors. Dropout draws per model (M calls, M masks).
* ``"auto"``: :func:`choose_strategy` -- ``"loop"`` for a conv net (two or more convolutions) on
  the CPU, ``"vmap"`` otherwise (MLPs and transformers anywhere; every model on CUDA/MPS, where fewer,
  larger kernels are the point of an ensemble -- not measured here: this machine has no GPU).

Measured on this project's CPU (``python benchmarks/ensemble_strategy.py``: batch 128, 1 thread,
a 2-core machine shared with other jobs; forward + backward + ``torch.optim.SGD`` step; medians of
7 interleaved repeats). Ratio = time per model of the plain loop (M ``nn.Module`` s, each with its
own ``torch.optim.SGD``) / that of the strategy: above 1 is faster than the plain loop. CPU time
(``process_time``) is the work done; wall time on this loaded machine is mostly waiting:

=====================================  ==========  ==========  ==========  ==========
workload                               vmap (CPU)  loop (CPU)  vmap wall   loop wall
=====================================  ==========  ==========  ==========  ==========
``cnn(depth=6, channels=32)`` M=8      0.52x       0.97x       0.52x       0.85x
``resnet(depth=20)`` M=4               0.87x       1.00x       0.87x       1.00x
``mlp(layers=4, width=100)`` M=5       1.16x       1.14x       1.25x       1.32x
``mlp(layers=4, width=100)`` M=30      1.45x       1.32x       1.64x       1.29x
``vit(depth=4, dim=64, heads=4)`` M=8  1.06x       1.08x       0.97x       0.97x
=====================================  ==========  ==========  ==========  ==========

Why ``vmap`` loses on conv nets on a CPU: not the grouped convolution itself (with the page faults
below removed, the cnn step's CPU time is within 5% of the plain loop's), but memory. Its
activations are M times larger (cnn: ``(128, 8 x 32, 28, 28)`` float32 = 103 MB); glibc serves
blocks over 32 MB with ``mmap`` and unmaps them on free, so every step faults them in again: the cnn
step's extra time is system time. With ``GLIBC_TUNABLES=glibc.malloc.mmap_max=0`` (blocks stay in
the heap) ``vmap`` reaches 0.95x on the cnn and still 0.86x on the resnet. The loop runs each model
at the plain loop's sizes and steps the optimizer once over the stacked tensors: the same speed as
the plain loop for conv nets (1.00x), slightly faster for MLPs. No strategy reaches 1.5x lower time
per model than the plain loop for a conv net on one CPU thread: the convolutions are compute-bound
and each strategy does the same arithmetic. Tried and dropped: channels-last strides for the stacked
conv weights (the grouped convolution alone is faster in NHWC, but under ``vmap`` the layout does
not survive the elementwise backward: 0.79 s against 0.63 s CPU time per step at batch 64),
``torch.backends.mkldnn`` off (PyTorch's own kernels, slower for grouped and separate convolutions
alike). For MLPs ``vmap``'s batched matmuls win as M grows (1.45x against 1.32x at M = 30).
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from ..core.errors import InitlabError, closest

Strategy = Literal["vmap", "loop"]  #: how the models run (``"auto"`` resolves to one of these)
STRATEGIES: tuple[str, ...] = ("auto", *get_args(Strategy))

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def check_strategy(strategy: str) -> str:
    """``strategy`` if it is ``"auto"``, ``"vmap"`` or ``"loop"``; otherwise an ``InitlabError``."""
    if strategy not in STRATEGIES:
        raise InitlabError(
            f"unknown ensemble strategy {strategy!r}{closest(str(strategy), list(STRATEGIES))}; "
            f"strategies: {', '.join(STRATEGIES)}"
        )
    return strategy


def choose_strategy(model: nn.Module, device: torch.device) -> Strategy:
    """``"auto"``'s choice: ``"loop"`` on the CPU for a conv net, else ``"vmap"``.

    A conv net here is a model with at least two convolutions: under ``vmap`` a convolution on the
    shared input (a ViT's patch embedding, the first layer of a CNN) is one ordinary convolution
    with ``M x out`` channels; every later one is a grouped convolution, the slow case on a CPU.

    >>> conv = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Conv2d(4, 4, 3), nn.Flatten())
    >>> choose_strategy(conv, torch.device("cpu")), choose_strategy(conv, torch.device("cuda"))
    ('loop', 'vmap')
    >>> choose_strategy(nn.Sequential(nn.Conv2d(1, 4, 7, stride=7), nn.Flatten()), torch.device("cpu"))
    'vmap'
    """
    if device.type == "cpu" and sum(isinstance(m, _CONV) for m in model.modules()) >= 2:
        return "loop"
    return "vmap"


def resolve_strategy(strategy: str, model: nn.Module, device: torch.device) -> Strategy:
    """The strategy to run: ``strategy`` itself, or :func:`choose_strategy` for ``"auto"``."""
    check_strategy(strategy)
    if strategy == "vmap":
        return "vmap"
    if strategy == "loop":
        return "loop"
    return choose_strategy(model, device)


def run_vmap(base: nn.Module, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor) -> Tensor:
    """All models in one ``vmap(functional_call)``: ``x: (B, ...)`` -> ``(M, B, ...)``."""

    def call(p: dict[str, Tensor], b: dict[str, Tensor], inp: Tensor) -> Tensor:
        out: Tensor = functional_call(base, (p, b), (inp,))
        return out

    out: Tensor = vmap(call, in_dims=(0, 0, None), randomness="different")(params, buffers, x)
    return out


def run_loop(base: nn.Module, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor) -> Tensor:
    """One ``functional_call`` per model on views of the stacked tensors: ``x: (B, ...)`` -> ``(M, B, ...)``.

    ``unbind(0)`` gives each model's views of every stacked tensor at once (its backward is one
    ``stack`` into the ``(M, *shape)`` gradient); BatchNorm updates its running statistics in place,
    in the stacked buffers.
    """
    p_views = {k: v.unbind(0) for k, v in params.items()}  # name -> M views, each (*shape)
    b_views = {k: v.unbind(0) for k, v in buffers.items()}  # name -> M views, each (*shape)
    M = next(iter(params.values())).shape[0]
    outs = [
        functional_call(
            base, ({k: v[m] for k, v in p_views.items()}, {k: v[m] for k, v in b_views.items()}), (x,)
        )
        for m in range(M)
    ]  # M x (B, ...)
    return torch.stack(outs)  # (M, B, ...)
