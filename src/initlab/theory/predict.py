"""Predictions from a scheme: per-layer variances of a scheme, and the mean-field maps run layer by
layer through a concrete MLP (Poole et al. 2016; Schoenholz et al. 2017).

:func:`layer_variances` reads ``sigma_w^2``, ``sigma_b^2`` off a scheme's law for a weight shape
(``sigma_w^2 = fan_in Var(W_ij)``, the variance being the law's own ``std`` squared, so the
prediction uses exactly the distribution that :func:`initlab.init_` samples), and :func:`predict`
runs the maps for a network: per-layer activation mean and std, and the std of gradients for a
unit-variance cotangent injected at the last layer.

>>> layer_variances("lecun_normal", (10, 10)).sigma_w2
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..activations import Activation
from ..schemes import Law, Normal, Orthogonal, Scheme, TruncatedNormal, Uniform, fans, scheme
from .maps import Q_MAX
from .moments import act_of, activation_mean, derivative_moment, second_moment

_EXACT = (Normal, Uniform, TruncatedNormal)
#: Law kinds whose entries are i.i.d. (the mean-field assumption holds exactly in the wide limit).
EXACT_KINDS = frozenset(t.kind for t in _EXACT)
#: Law kinds where the mean-field prediction holds approximately (wide layers).
APPROX_KINDS = frozenset({Orthogonal.kind})


def _iid(law: Law) -> bool:
    return isinstance(law, _EXACT)


@dataclass(frozen=True)
class LayerVariances:
    """One layer's weight and bias variances, as the mean-field maps use them.

    ``sigma_w2 = fan_in Var(W_ij)`` scales the forward map; ``backward = fan_out Var(W_ij)`` scales
    the mean squared gradient going back through the layer (equal for square layers). ``exact`` is
    False where the entries are not i.i.d. (orthogonal), so the prediction is only approximate.
    """

    sigma_w2: float
    sigma_b2: float
    backward: float
    exact: bool


def layer_variances(spec: str | Scheme, shape: Sequence[int], *, bias: bool = False) -> LayerVariances | None:
    """``sigma_w^2``, ``sigma_b^2`` of a scheme for a weight of ``shape`` ``(out, in)``, or ``None``.

    The theory applies to zero-mean laws with i.i.d. entries (``normal``, ``uniform``,
    ``trunc_normal``) and, approximately, to ``orthogonal`` in wide layers; not to constants,
    identity or sparse weights. Biases: ``sigma_b^2`` is the variance of the scheme's bias law
    (``torch_default``), 0 for schemes that zero biases or when ``bias`` is False.

    >>> layer_variances("he_normal", (100, 100))
    LayerVariances(sigma_w2=2.0, sigma_b2=0.0, backward=2.0, exact=True)
    """
    sch = scheme(spec)
    law = sch.law(shape)
    if not (_iid(law) or isinstance(law, Orthogonal)) or law.mean != 0.0:
        return None
    fan_in, fan_out = fans(shape)
    var = law.std**2
    sigma_b2 = 0.0
    if bias:
        blaw = sch.bias_law(shape)
        if blaw is not None:
            if not _iid(blaw) or blaw.mean != 0.0:
                return None
            sigma_b2 = blaw.std**2
    return LayerVariances(fan_in * var, sigma_b2, fan_out * var, _iid(law))


@dataclass(frozen=True)
class LayerPrediction:
    """Mean-field prediction for one layer (``z_l`` pre-activations, ``a_l = phi(z_l)``).

    ``q``: Var(z_l); ``mean``/``std``: of the activations ``a_l`` pooled over units and inputs;
    ``grad_std``: std of ``dL/dz_l``; ``weight_grad_std``: std of ``dL/dW_l`` entries, for
    ``L = sum(g * a_last)`` with ``g`` i.i.d. N(0, 1) over a batch of ``batch`` inputs.
    ``grad_norm``: the gradient's norm per sample (root-mean-square over the batch), predicted for
    the residual stream only (:mod:`initlab.studies.probe_residual`; NaN elsewhere).
    """

    q: float
    mean: float
    std: float
    grad_std: float
    weight_grad_std: float
    grad_norm: float = math.nan

    @property
    def preact_std(self) -> float:
        """Std of the pre-activations, ``sqrt(q)`` (they have mean 0)."""
        return math.sqrt(self.q)


def predict(
    act: str | Activation,
    layers: Sequence[LayerVariances],
    *,
    input_second_moment: float = 1.0,
    batch: int = 1,
) -> list[LayerPrediction]:
    """Per-layer predictions for an MLP whose layer ``l`` has ``layers[l]``'s variances.

    Forward: ``q_1 = sigma_w^2 E[x^2] + sigma_b^2`` (``E[x^2]`` = ``input_second_moment``, the mean
    square of the input entries; 1 for N(0, 1) data), then the variance map. Backward, for a
    unit-variance cotangent ``g`` on the last layer's activations: ``E[(dL/dz_L)^2] = E[phi'^2]`` at
    ``q_L`` and ``E[(dL/dz_l)^2] = E[phi'(sqrt(q_l) z)^2] * backward_{l+1} * E[(dL/dz_{l+1})^2]``;
    ``Var(dL/dW_l) = batch * E[(dL/dz_l)^2] * E[a_{l-1}^2]`` (``a_0 = x``).

    >>> [round(p.std, 4) for p in predict("linear", [layer_variances("lecun_normal", (10, 10))] * 2)]
    [1.0, 1.0]
    """
    phi = act_of(act)
    if not layers:
        return []
    qs: list[float] = []
    inputs_sq: list[float] = []  # E[a_{l-1}^2] feeding layer l
    m2 = float(input_second_moment)
    for lv in layers:
        inputs_sq.append(m2)
        q = lv.sigma_w2 * m2 + lv.sigma_b2 if math.isfinite(m2) else math.inf
        qs.append(q)
        m2 = second_moment(phi, q) if _finite(q) else math.inf
    dphi = [derivative_moment(phi, q) if _finite(q) else math.nan for q in qs]
    grad_sq = [math.nan] * len(layers)
    grad_sq[-1] = dphi[-1]
    for i in range(len(layers) - 2, -1, -1):
        grad_sq[i] = dphi[i] * layers[i + 1].backward * grad_sq[i + 1]
    out = []
    for i, q in enumerate(qs):
        if _finite(q):
            mean = activation_mean(phi, q)
            var = max(second_moment(phi, q) - mean * mean, 0.0)
        else:
            mean, var = math.nan, math.inf
        wg = batch * grad_sq[i] * inputs_sq[i]
        out.append(LayerPrediction(q, mean, math.sqrt(var), _sqrt(grad_sq[i]), _sqrt(wg)))
    return out


def _finite(q: float) -> bool:
    return math.isfinite(q) and q <= Q_MAX


def _sqrt(v: float) -> float:
    return math.sqrt(v) if v >= 0 else math.nan


__all__ = ["APPROX_KINDS", "EXACT_KINDS", "LayerPrediction", "LayerVariances", "layer_variances", "predict"]
