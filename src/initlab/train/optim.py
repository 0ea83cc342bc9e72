"""Optimizers for the stacked parameters: ``torch.optim``, by name, restricted to per-model ones.

An ensemble's parameters are tensors ``(M, *shape)`` with the model axis leading. An optimizer whose
update is **elementwise** -- each entry's new value depends only on that entry's gradient, its own
state and scalars shared by all entries (the step count, the learning rate) -- does on such a tensor
exactly what M separate optimizers would do on the M models: SGD (with momentum, Nesterov, weight
decay), Adam, AdamW, Adamax, NAdam, RAdam, Adagrad, Adadelta, RMSprop, Rprop, ASGD. Those are the
ones :func:`make_optimizer` builds (:data:`PER_MODEL`). The others would mix the models and are
refused with the reason (:data:`NOT_PER_MODEL`): LBFGS (one line search and step length for all
parameters at once), Adafactor (second moments factored over the tensor's last two axes and an
update clipped by the RMS of the whole tensor), Muon (orthogonalises the whole matrix), SparseAdam
(sparse gradients only).

Spec strings name the optimizer and its keyword arguments: ``sgd``, ``momentum`` (SGD with
``momentum=`` the trainer's setting), ``adam``, ``adamw`` (with the trainer's ``betas`` and ``eps``),
or any class of :data:`PER_MODEL` by its name in any case with keyword arguments,
``"adamw(weight_decay=0.05)"``, ``"RMSprop(alpha=0.9, centered=true)"``, ``"sgd(nesterov=true,
momentum=0.9)"``. An unknown optimizer or argument is an :class:`~initlab.core.errors.InitlabError`
naming the closest valid ones; so is a value ``torch.optim`` rejects.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..core.errors import InitlabError, closest, unknown
from ..core.spec import Value, parse_spec

#: The short names (the classic study's three and AdamW).
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam", "adamw")
#: ``torch.optim`` classes whose update is elementwise, so per-model on stacked tensors.
PER_MODEL: tuple[str, ...] = (
    "SGD",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Rprop",
    "ASGD",
)
#: ``torch.optim`` classes that are not per-model on stacked tensors, and why.
NOT_PER_MODEL: dict[str, str] = {
    "LBFGS": "its line search takes one step length for all parameters, so all models at once",
    "Adafactor": "it factors second moments over a tensor's last two axes and clips the update by the RMS "
    "of the whole tensor, mixing the models",
    "Muon": "it orthogonalises each whole (stacked) matrix, mixing the models",
    "SparseAdam": "it needs sparse gradients",
}
_SHORT = {"sgd": "SGD", "momentum": "SGD", "adam": "Adam", "adamw": "AdamW"}


def optimizer_class(spec: str) -> tuple[type[torch.optim.Optimizer], dict[str, Value]]:
    """The ``torch.optim`` class and the keyword arguments a spec string names (checked)."""
    parsed = parse_spec(spec)
    if parsed.label is not None:
        raise InitlabError(f"an optimizer spec takes no label: {spec!r}")
    if parsed.args:
        raise InitlabError(f"give optimizer arguments by name, e.g. 'adamw(weight_decay=0.01)': {spec!r}")
    name = parsed.name
    by_lower = {n.lower(): n for n in (*PER_MODEL, *NOT_PER_MODEL)}
    cls_name = _SHORT.get(name) or by_lower.get(name.lower())
    if cls_name is None:
        raise unknown("optimizer", name, (*OPTIMIZERS, *PER_MODEL))
    if cls_name in NOT_PER_MODEL:
        raise InitlabError(
            f"optimizer {name!r} is not per-model on stacked parameters: {NOT_PER_MODEL[cls_name]}; "
            f"use one of {', '.join(OPTIMIZERS + PER_MODEL[3:])}"
        )
    cls: type[torch.optim.Optimizer] = getattr(torch.optim, cls_name)
    kwargs = dict(parsed.kwargs)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "params")]
    for key in kwargs:
        if key not in accepted:
            raise InitlabError(
                f"optimizer {cls_name} has no argument {key!r} in {spec!r}{closest(key, accepted)}; "
                f"it takes: {', '.join(accepted)}"
            )
    return cls, kwargs


def optimizer_kwargs(
    spec: str, *, lr: float, momentum: float, betas: tuple[float, float], eps: float
) -> tuple[type[torch.optim.Optimizer], dict[str, Any]]:
    """Class and full keyword arguments: the trainer's ``lr`` (and ``momentum`` for ``"momentum"``,
    ``betas``/``eps`` for ``"adam"``/``"adamw"``), then the spec's own arguments over them."""
    cls, given = optimizer_class(spec)
    name = parse_spec(spec).name
    kwargs: dict[str, Any] = {"lr": lr}
    if name == "momentum":
        kwargs["momentum"] = momentum
    if name in ("adam", "adamw"):
        kwargs.update(betas=tuple(betas), eps=eps)
    kwargs.update(given)
    return cls, kwargs


def make_optimizer(
    spec: str,
    params: Sequence[Tensor],
    *,
    lr: float,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> torch.optim.Optimizer:
    """A ``torch.optim`` optimizer over ``params`` (see the module doc); ``InitlabError`` for bad input."""
    cls, kwargs = optimizer_kwargs(spec, lr=lr, momentum=momentum, betas=betas, eps=eps)
    try:
        return cls(list(params), **kwargs)
    except (ValueError, TypeError) as err:
        raise InitlabError(f"optimizer {spec!r}: {err}") from None


#: Arguments that must be non-negative numbers where an optimizer takes them.
_NON_NEGATIVE = frozenset(
    {
        "lr",
        "momentum",
        "dampening",
        "weight_decay",
        "eps",
        "alpha",
        "lr_decay",
        "rho",
        "lambd",
        "t0",
        "initial_accumulator_value",
        "momentum_decay",
    }
)


def check_optimizer(spec: str, *, lr: float, momentum: float, betas: tuple[float, float], eps: float) -> None:
    """Validate a spec and the settings it uses without building the optimizer (building the first
    ``torch.optim`` optimizer of a process imports ``torch._dynamo``, seconds, which a run on the
    fast path never needs): the name, the argument names, and the common arguments' values. Values
    only ``torch.optim`` knows about are checked when the trainer builds it."""
    check_hyper(lr=lr, momentum=momentum, betas=betas, eps=eps)
    _, kwargs = optimizer_kwargs(spec, lr=lr, momentum=momentum, betas=betas, eps=eps)
    for key, val in kwargs.items():
        if key in _NON_NEGATIVE and (
            isinstance(val, bool) or not isinstance(val, int | float) or not 0 <= val < math.inf
        ):
            raise InitlabError(f"optimizer {spec!r}: {key} must be a non-negative number, got {val!r}")


def check_hyper(*, lr: float, momentum: float, betas: tuple[float, float], eps: float) -> None:
    """Validate optimizer settings (``InitlabError`` naming the bad value)."""
    if not lr > 0 or lr != lr or lr == float("inf"):
        raise InitlabError(f"learning rate must be a positive number, got lr={lr}")
    if not 0.0 <= momentum < 1.0:
        raise InitlabError(f"momentum must be in [0, 1), got {momentum}")
    if not all(0.0 <= b < 1.0 for b in betas):
        raise InitlabError(f"Adam betas must be in [0, 1), got {betas}")
    if not eps > 0:
        raise InitlabError(f"Adam eps must be positive, got {eps}")
