"""Activations for the hand-written passes of the trainer: derivatives, and writing into a buffer.

``backward_fn(act)`` returns ``fn(grad, z, a) -> dL/dz`` given ``grad = dL/da``, the pre-activation
``z`` and the activation ``a = act(z)``. It may write the result into ``grad`` (which the caller
owns). Each one calls the kernel PyTorch's autograd itself uses for that function (so the numbers
are autograd's, bit for bit); an activation without an entry here falls back to autograd on the
elementwise function, so every registered activation trains (tested over the registry).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..activations import Activation

BackwardFn = Callable[[Tensor, Tensor, Tensor], Tensor]
_aten = torch.ops.aten

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _relu(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return _aten.threshold_backward.grad_input(g, a, 0.0, grad_input=g)  # type: ignore[no-any-return]


def _tanh(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return _aten.tanh_backward.grad_input(g, a, grad_input=g)  # type: ignore[no-any-return]


def _sigmoid(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return _aten.sigmoid_backward.grad_input(g, a, grad_input=g)  # type: ignore[no-any-return]


def _linear(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return g


def _gelu(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return _aten.gelu_backward.grad_input(g, z, grad_input=g)  # type: ignore[no-any-return]


def _silu(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return _aten.silu_backward.grad_input(g, z, grad_input=g)  # type: ignore[no-any-return]


def _mish(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return _aten.mish_backward(g, z)  # type: ignore[no-any-return]


def _selu(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return _aten.elu_backward.grad_input(  # type: ignore[no-any-return]
        g, _SELU_ALPHA, _SELU_SCALE, 1.0, False, z, grad_input=g
    )


def _softsign(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return g.div_(z.abs().add_(1.0).square_())


def _with_params(act: Activation) -> BackwardFn | None:
    p = act.params
    if act.name == "leaky_relu":
        slope = float(p.get("negative_slope", 0.01))  # type: ignore[arg-type]
        return lambda g, z, a: _aten.leaky_relu_backward.grad_input(g, z, slope, False, grad_input=g)  # type: ignore[no-any-return]
    if act.name == "elu":
        alpha = float(p.get("alpha", 1.0))  # type: ignore[arg-type]
        return lambda g, z, a: _aten.elu_backward.grad_input(g, alpha, 1.0, 1.0, False, z, grad_input=g)  # type: ignore[no-any-return]
    if act.name == "softplus":
        beta = float(p.get("beta", 1.0))  # type: ignore[arg-type]
        # F.softplus's default threshold is 20 (linear above beta * x > 20).
        return lambda g, z, a: _aten.softplus_backward.grad_input(g, z, beta, 20.0, grad_input=g)  # type: ignore[no-any-return]
    return None


_TABLE: dict[str, BackwardFn] = {
    "relu": _relu,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "linear": _linear,
    "gelu": _gelu,
    "silu": _silu,
    "mish": _mish,
    "selu": _selu,
    "softsign": _softsign,
}


def _autograd(act: Activation) -> BackwardFn:
    def fn(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
        with torch.enable_grad():
            zz = z.detach().requires_grad_(True)
            (dz,) = torch.autograd.grad(act(zz), zz, g)
        return dz

    return fn


_INTO: dict[str, Callable[[Tensor, Tensor], object]] = {
    "relu": lambda z, out: torch.clamp_min(z, 0.0, out=out),
    "tanh": lambda z, out: torch.tanh(z, out=out),
    "sigmoid": lambda z, out: torch.sigmoid(z, out=out),
    "linear": lambda z, out: out.copy_(z),
}


def act_into(act: Activation, z: Tensor, out: Tensor) -> None:
    """``out[...] = act(z)`` (``out`` may be a strided view), without a temporary where PyTorch has
    an ``out=`` kernel for the function."""
    fn = None if act.params else _INTO.get(act.name)
    if fn is None:
        out.copy_(act(z))
    else:
        fn(z, out)


def backward_fn(act: Activation) -> BackwardFn:
    """``fn(grad, z, a) -> dL/dz`` for ``act`` (PyTorch's own backward kernel where there is one)."""
    fn = _with_params(act)
    if fn is not None:
        return fn
    return _TABLE.get(act.name) or _autograd(act)
