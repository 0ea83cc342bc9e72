"""Mean-field theory of signal propagation in wide random MLPs (Poole et al. 2016; Schoenholz et al. 2017).

* :mod:`.maps`: the variance and correlation maps, ``q*``, ``c*``, ``chi_1``, ``xi_q``, ``xi_c``,
  :func:`mean_field`;
* :mod:`.phase`: the chi_1 = 1 boundary, :func:`critical_sigma_w2`;
* :mod:`.predict`: from a scheme's law to per-layer variances and predictions for an MLP;
* :mod:`.moments`: the Gaussian expectations of an activation they share;
* :mod:`.residual`: the residual stream's variance per block (doubling, ``1 + a^2``, flat, linear)
  and its gradient norm per block backwards.

>>> mean_field("relu", 2.0).regime
'critical'
"""

from __future__ import annotations

from .maps import (
    MeanField,
    chi_1,
    correlation_fixed_point,
    correlation_map,
    fixed_point,
    mean_field,
    variance_map,
    xi_c,
    xi_q,
)
from .moments import activation_mean, derivative_moment, second_moment
from .phase import critical_sigma_w2
from .predict import APPROX_KINDS, EXACT_KINDS, LayerPrediction, LayerVariances, layer_variances, predict
from .residual import branch_scale2, gradient_norms2, layer_gain, stream_variances, tap_fraction

__all__ = [
    "APPROX_KINDS",
    "EXACT_KINDS",
    "LayerPrediction",
    "LayerVariances",
    "MeanField",
    "activation_mean",
    "branch_scale2",
    "chi_1",
    "correlation_fixed_point",
    "correlation_map",
    "critical_sigma_w2",
    "derivative_moment",
    "fixed_point",
    "gradient_norms2",
    "layer_gain",
    "layer_variances",
    "mean_field",
    "predict",
    "second_moment",
    "stream_variances",
    "tap_fraction",
    "variance_map",
    "xi_c",
    "xi_q",
]
