"""The phase study's check at initialization: ``q*`` and ``c*`` measured in a real network against the
mean-field maps (Poole et al. 2016, Fig. 2; Schoenholz et al. 2017, Fig. 2).

For each (sigma_w^2, sigma_b^2), one ``mlp(layers=depth, width=width)`` drawn from ``variance(w, b)``
(the ``weights`` stream of ``seed``) takes ``inputs`` N(0, 1) samples (the ``inputs`` stream); at the
last hidden layer's pre-activations ``z: (N, H)``:

* ``q`` measured = ``mean(z^2)`` over inputs and units, against ``q*`` (:func:`~initlab.theory.fixed_point`);
* ``c`` measured = the mean over input pairs ``(2k, 2k+1)`` of ``<z_a, z_b> / (|z_a| |z_b|)``, against
  ``c*`` (:func:`~initlab.theory.correlation_fixed_point`).

Both hold in the wide limit once ``depth`` exceeds the depth scales ``xi_q`` and ``xi_c``; near the
boundary (``xi_c`` large) ``c`` is still on its way, which is the point of the phase diagram.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ..core.seeds import generator, weight_seeds
from ..ensemble import model_factory
from ..schemes import init_
from ..theory import correlation_fixed_point, fixed_point


def _last_hidden(model: nn.Module, x: Tensor) -> Tensor:
    """(N, D) -> (N, H): the pre-activations of the last hidden layer (the input of the classifier's
    activation: the output of the second-to-last ``nn.Linear``)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    seen: list[Tensor] = []
    hook = linears[-2].register_forward_hook(lambda _m, _i, o: seen.append(o.detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        hook.remove()
    return seen[0]


def measure_fixed_points(
    act: str,
    depth: int,
    width: int,
    points: list[tuple[float, float]],
    *,
    in_features: int = 784,
    seed: int = 0,
    inputs: int = 256,
) -> list[dict[str, Any]]:
    """Per ``(w, b)`` of ``points``: measured and mean-field ``q`` and ``c`` (module docstring)."""
    factory = model_factory(
        f"mlp(layers={depth}, width={width})", in_shape=(in_features,), classes=10, activation=act
    )
    n = inputs - inputs % 2
    x = torch.randn(n, in_features, generator=generator(seed, "inputs"))  # (N, D)
    out = []
    for w, b in points:
        model = factory()
        init_(
            model,
            f"variance(w={w!r}, b={b!r})",
            generator=torch.Generator().manual_seed(weight_seeds([seed])[0]),
        )
        z = _last_hidden(model, x).double()  # (N, H)
        za, zb = z[0::2], z[1::2]  # (N/2, H) each
        norms = za.norm(dim=1) * zb.norm(dim=1)  # (N/2,)
        cos = (za * zb).sum(dim=1) / norms  # (N/2,)
        q_t = fixed_point(act, w, b)
        out.append(
            {
                "sigma_w2": w,
                "sigma_b2": b,
                "q_measured": float(z.pow(2).mean()),
                "q_theory": q_t,
                "c_measured": float(cos[norms > 0].mean()) if bool((norms > 0).any()) else math.nan,
                "c_theory": correlation_fixed_point(act, w, b) if math.isfinite(q_t) else math.nan,
            }
        )
    return out


__all__ = ["measure_fixed_points"]
