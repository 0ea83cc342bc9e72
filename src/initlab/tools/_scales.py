"""Scales a model's own code relies on: weights whose scale stands out from what their position implies.

Some models fold a constant into one weight's init instead of writing it in the forward pass: T5
has no ``1/sqrt(d_kv)`` in its attention logits and draws its query weights with std
``(d_model d_kv)^-1/2`` instead of ``d_model^-1/2``; tied output heads share the embedding's scale.
Re-drawing such a weight from a fan-based scheme silently removes the constant (T5's logits then
grow by ``sqrt(d_kv)`` and its gradients explode).

The rule (:func:`deliberate`): for each weight ``w`` with a current std ``s_w > 0`` and the std
``t_w`` the scheme chosen for its position would give, ``r_w = s_w / t_w``. The model's own overall
scale is the median ``m`` of ``log r_w`` over those weights (a model drawn at std 0.01 everywhere
has all ``r_w`` alike, so nothing stands out and everything is re-drawn). A weight is *deliberate*
when ``|log r_w - m| > log(KEEP_FACTOR)`` -- its scale differs from its neighbours' by more than
``KEEP_FACTOR = 4`` (T5's queries: ``sqrt(d_kv) = 8``; PyTorch's default vs He: ``sqrt(6) = 2.4``,
not flagged) -- and at least ``MIN_WEIGHTS = 3`` weights are compared. Constant weights (std 0)
carry no scale and are never kept.
"""

from __future__ import annotations

import math
import statistics

from torch import Tensor

KEEP_FACTOR = 4.0  #: a weight whose scale differs from the model's by more than this is kept
MIN_WEIGHTS = 3  #: fewer measurable weights than this: no median to compare against, nothing kept


def current_std(t: Tensor) -> float:
    """The std of a weight's entries, NaN where it holds no values (meta device) or has fewer than 2."""
    if t.device.type == "meta" or t.numel() < 2:
        return math.nan
    return float(t.detach().double().std(unbiased=False))


def deliberate(current: dict[str, float], implied: dict[str, float]) -> dict[str, float]:
    """``name -> r_w / exp(m)`` for every weight the rule (module docstring) flags as deliberate.

    >>> implied = {"q": 0.1, "k": 0.1, "v": 0.1, "o": 0.1}
    >>> found = deliberate({"q": 0.01, "k": 0.1, "v": 0.1, "o": 0.1}, implied)
    >>> {n: round(f, 6) for n, f in found.items()}
    {'q': 0.1}
    """
    logs = {
        n: math.log(current[n] / implied[n])
        for n in current
        if n in implied and current[n] > 0 and implied[n] > 0 and math.isfinite(current[n])
    }
    if len(logs) < MIN_WEIGHTS:
        return {}
    m = statistics.median(logs.values())
    limit = math.log(KEEP_FACTOR)
    return {n: math.exp(v - m) for n, v in logs.items() if abs(v - m) > limit}
