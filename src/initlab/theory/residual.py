"""The residual stream at initialization: its variance per block, predicted.

A residual block adds a branch to the stream, ``x_{l+1} = s(x_l) + f(x_l)`` (``s`` the shortcut). At
initialization the branch's output is uncorrelated with its input (zero-mean weights), so the
second moments add: ``q_{l+1} = k_l q_l + Var f(x_l)``, ``k_l`` the fraction of the stream the
shortcut keeps (1 for the identity; ``c_in / c_out`` where it zero-pads new channels).

* **No normalization** (a pre-activation branch ``W_m phi(... W_1 phi(x))`` with ReLU ``phi``): each
  layer of fan-in ``n`` and weight variance ``sigma^2`` multiplies the second moment by
  ``g = sigma^2 n`` and each ReLU halves it, so ``Var f = a^2 q_l`` with the branch scale
  ``a^2 = prod_i g_i / 2`` and ``q_{l+1} = (k_l + a^2) q_l``: ``(1 + a^2)`` per block. He branches
  (``g = 2``) have ``a = 1``: the variance **doubles** per block (Zhang et al. 2019; De & Smith 2020);
  GPT-2's ``1/sqrt(n)`` on the output layer gives ``a^2 = 1/n`` (Radford et al. 2019); Fixup and
  zero-residual give ``a = 0``: the stream is the same after every block.
* **Normalized branch** (a norm before the last layer, as in a pre-activation BatchNorm block): the
  branch's variance no longer depends on the stream, ``Var f = v = g_last / 2`` (1 for He), so the
  variance grows **linearly**, ``q_{l+1} = k_l q_l + v`` (De & Smith 2020, *Batch normalization
  biases residual blocks towards the identity function*).

**Backwards** the gradient w.r.t. the stream, ``g_l = s^T g_{l+1} + J_f^T g_{l+1}``, has the same
rule in its squared norm per sample ``N_l = E ||g_l||^2``: the shortcut keeps ``k_l`` of it (it drops
the zero-padded channels' gradient and scatters the rest to the kept pixels), and going back through
a layer multiplies ``N`` by ``sigma^2 fan_in`` (``E ||W^T g||^2 = sigma^2 n_in ||g||^2``; for a conv
the taps inside the input count, as forwards) and through a ReLU's derivative by 1/2 (the mask is
independent of the gradient at initialization: the gradient-independence assumption of Schoenholz
et al. 2017). So ``N_l = (k_l + a^2) N_{l+1}``: without normalization the gradient grows by the
forward factor per block going back (He branches: doubling; Yang & Schoenholz 2017, *Mean field
residual networks*; Hanin & Rolnick 2018), zero branches keep it flat (Zhang et al. 2019; De & Smith
2020), and GPT-2's ``a^2 = 1/n`` keeps it within ``e`` over ``n`` blocks.

>>> [round(q, 3) for q in stream_variances(1.0, [1.0] * 3)]
[1.0, 2.0, 4.0, 8.0]
>>> stream_variances(1.0, [1.0] * 3, normalized=True)
[1.0, 2.0, 3.0, 4.0]
>>> gradient_norms2(1.0, [1.0] * 3)  # backwards: the last block is given
[8.0, 4.0, 2.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..core.errors import InitlabError


def layer_gain(std: float, fan_in: int, mean: float = 0.0) -> float:
    """``g = (std^2 + mean^2) fan_in``: the factor by which a layer multiplies the second moment."""
    if fan_in <= 0:
        raise InitlabError(f"fan_in={fan_in} must be positive")
    return (std * std + mean * mean) * fan_in


def tap_fraction(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> float:
    """The share of a convolution's kernel taps that land inside the input along one axis of ``size``,
    averaged over the output positions: zero padding makes a conv's effective fan-in
    ``c_in prod_axes(kernel * tap_fraction)``, so its gain is ``g = sigma^2 fan_in prod tap_fraction``.

    >>> round(tap_fraction(7, 3, padding=1), 4)  # a 3x3 conv on 7x7 sees 19/21 of its taps per axis
    0.9048
    """
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out <= 0 or kernel <= 0:
        raise InitlabError(f"a kernel of {kernel} does not fit an input of {size} (padding {padding})")
    valid = sum(
        1 for o in range(out) for t in range(kernel) if 0 <= o * stride - padding + t * dilation < size
    )
    return valid / (out * kernel)


def branch_scale2(gains: Sequence[float], *, normalized: bool = False) -> float:
    """``a^2 = prod_i g_i / 2`` for a pre-activation ReLU branch of layers with gains ``g_i``; with a
    norm before the last layer (``normalized``) only the last layer counts: ``v = g_last / 2``.

    >>> branch_scale2([2.0, 2.0]), branch_scale2([2.0, 2.0 / 8]), branch_scale2([2.0, 0.0])
    (1.0, 0.125, 0.0)
    """
    if not gains:
        raise InitlabError("a residual branch needs at least one layer")
    if normalized:
        return gains[-1] / 2.0
    return math.prod(g / 2.0 for g in gains)


def stream_variances(
    q_first: float,
    scales2: Sequence[float],
    *,
    keep: Sequence[float] | None = None,
    normalized: bool = False,
) -> list[float]:
    """The stream's second moment after each of ``len(scales2) + 1`` blocks, the first given.

    ``scales2[l]`` is the branch scale ``a^2`` of block ``l + 1`` (or its variance ``v`` when
    ``normalized``); ``keep[l]`` the fraction of the stream its shortcut keeps (default 1):
    ``q_{l+1} = (keep_l + a^2) q_l``, or ``keep_l q_l + v`` when ``normalized`` (module doc).
    """
    if not math.isfinite(q_first) or q_first < 0:
        raise InitlabError(f"q_first={q_first} must be a finite second moment >= 0")
    ks = list(keep) if keep is not None else [1.0] * len(scales2)
    if len(ks) != len(scales2):
        raise InitlabError(f"{len(ks)} shortcut fractions for {len(scales2)} blocks")
    qs = [float(q_first)]
    for a2, k in zip(scales2, ks, strict=True):
        q = qs[-1]
        qs.append(k * q + a2 if normalized else (k + a2) * q)
    return qs


def gradient_norms2(
    n_last: float, scales2: Sequence[float], *, keep: Sequence[float] | None = None
) -> list[float]:
    """The squared gradient norm per sample w.r.t. the stream after each of ``len(scales2) + 1``
    blocks, the **last** given: ``N_l = (keep_l + a^2_{l+1}) N_{l+1}`` (module doc), with
    ``scales2``/``keep`` indexed as in :func:`stream_variances` (entry ``l`` belongs to block
    ``l + 2``, the block whose input is the stream after block ``l + 1``). Without normalization only:
    with a norm on the branch the backward factor depends on the stream's batch variance per channel.
    """
    if not math.isfinite(n_last) or n_last < 0:
        raise InitlabError(f"n_last={n_last} must be a finite squared norm >= 0")
    ks = list(keep) if keep is not None else [1.0] * len(scales2)
    if len(ks) != len(scales2):
        raise InitlabError(f"{len(ks)} shortcut fractions for {len(scales2)} blocks")
    ns = [float(n_last)]
    for a2, k in zip(reversed(list(scales2)), reversed(ks), strict=True):
        ns.append((k + a2) * ns[-1])
    return ns[::-1]
