"""Which registered activation a callable computes: by its values on a probe, never by its name.

:func:`match_activation` evaluates ``fn`` on the probe ``x = linspace(-8, 8, PROBE_POINTS)`` (float64,
one row) and compares it with every registered activation at its default parameters: the match is
the one with the smallest ``max |fn(x) - phi(x)|``, accepted if that error is at most
``TOL * (1 + max |phi(x)|)`` (``TOL = 1e-5``; GELU and its tanh approximation differ by 5e-4, SiLU
and QuickGELU by 2e-2, so the probe tells them apart). ``fn`` is *elementwise* when its value on each
half of the probe equals the matching half of its value on the whole (a softmax or a normalisation
fails this), its output has the input's shape and it is not the identity (``linear``).

A callable that is elementwise but matches nothing is an activation initlab does not know; its
numerical variance-preserving gain ``1 / sqrt(E[fn(z)^2])`` (:mod:`initlab.core.quadrature`) is
still computable, and :attr:`ActivationMatch.gain` gives it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..core.quadrature import gaussian_expectation
from . import ACTIVATIONS, Activation, activation

PROBE_POINTS = 1601  #: probe size: steps of 0.01 over [-8, 8] (beyond ReLU6's cap)
TOL = 1e-5  #: relative max error accepted as "the same function"


@dataclass(frozen=True)
class ActivationMatch:
    """``activation``: the registered one ``fn`` computes (``None`` if none); ``elementwise``; ``error``."""

    activation: Activation | None
    elementwise: bool
    error: float
    fn: Callable[[Tensor], Tensor]

    @property
    def unknown(self) -> bool:
        """An elementwise nonlinearity that no registered activation matches."""
        return self.elementwise and self.activation is None

    @property
    def gain(self) -> float:
        """The variance-preserving gain ``1 / sqrt(E[fn(z)^2])``, ``z ~ N(0, 1)`` (by quadrature)."""
        if self.activation is not None:
            return self.activation.gain()
        m = gaussian_expectation(lambda x: self.fn(x) ** 2)
        return 1.0 / math.sqrt(m) if m > 0 and math.isfinite(m) else math.nan


def _call(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor | None:
    try:
        with torch.no_grad():
            y = fn(x)
    except Exception:  # any user callable may reject the probe: then it is not an activation
        return None
    if not isinstance(y, Tensor) or y.shape != x.shape or not bool(torch.isfinite(y).all()):
        return None
    return y.detach().double()


def match_activation(fn: Callable[[Tensor], Tensor]) -> ActivationMatch | None:
    """Which registered activation ``fn`` computes (module docstring); ``None`` if ``fn`` is not elementwise.

    >>> import torch
    >>> match_activation(lambda x: x * torch.sigmoid(x)).activation.name
    'silu'
    >>> match_activation(lambda x: x.softmax(-1)) is None
    True
    """
    x = torch.linspace(-8.0, 8.0, PROBE_POINTS, dtype=torch.float64).unsqueeze(0)  # (1, P)
    y = _call(fn, x)
    if y is None:
        y = _call(fn, x.float())  # a module that insists on float32
        x = x.float()
        if y is None:
            return None
    half = PROBE_POINTS // 2
    parts = [_call(fn, x[:, :half].contiguous()), _call(fn, x[:, half:].contiguous())]
    if any(p is None for p in parts):
        return None
    whole = torch.cat([p for p in parts if p is not None], dim=1)  # (1, P)
    scale = 1.0 + float(y.abs().max())
    if float((whole - y).abs().max()) > TOL * scale:
        return None  # not elementwise (softmax, normalisation, ...)
    xd = x.double()
    best: tuple[float, Activation] | None = None
    for name in ACTIVATIONS.names():
        act = activation(name)
        ref = act(xd)
        err = float((y - ref).abs().max()) / (1.0 + float(ref.abs().max()))
        if best is None or err < best[0]:
            best = (err, act)
    assert best is not None  # the registry is never empty
    err, act = best
    if err > TOL:
        return ActivationMatch(None, True, err, fn)
    if act.name == "linear":
        return ActivationMatch(act, False, err, fn)  # the identity: passes its input through
    return ActivationMatch(act, True, err, fn)
