"""The phase study's depth view: test accuracy over (sigma_w^2, depth L) at one sigma_b^2.

Schoenholz et al. (2017), *Deep information propagation*, the accuracy of tanh MLPs on MNIST over
sigma_w^2 and L at sigma_b^2 = 0.05: signals (and gradients) keep the information of their inputs
over about ``xi_c`` layers, with

    1 / xi_c = -log chi_c,   chi_c = sigma_w^2 E[phi'(u_1) phi'(u_2)]  at the correlation fixed point c*

(``chi_c = chi_1`` in the ordered phase, where ``c* = 1``), so a network is trainable to a depth of
about ``6 xi_c``: a band around the critical ``sigma_w^2`` of ``chi_1 = 1``, where ``xi_c`` diverges,
narrowing with depth on both sides.

The grid is a :mod:`sweep` of ``mlp(layers=L, width=width)`` for each ``L`` of ``depths`` and
``variance(w, b)`` for each sigma_w^2 (``w``) at the one ``b``; each depth's sigma_w^2 values train
as one ensemble. The theory (:func:`depth_theory`): ``6 xi_c(sigma_w^2)`` on ``10 resolution``
values of sigma_w^2 across the grid (:func:`initlab.theory.xi_c`) and the critical sigma_w^2
(:func:`initlab.theory.critical_sigma_w2`). Measured against it (:class:`PhaseDepthResult`): per
sigma_w^2 the deepest ``L`` whose mean test accuracy reaches ``trainable``, and over the grid how
often "trained" and "``L <= 6 xi_c``" agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core import html
from ..theory import chi_1, critical_sigma_w2, xi_c
from .config import figure_error
from .display import card
from .sweep import SweepResult

if TYPE_CHECKING:  # pragma: no cover
    from .phase import PhaseConfig

#: The figure of the depth view.
FIGURE = "phase_depth"


def _none(v: float) -> float | None:
    return v if math.isfinite(v) else None


def six_xi_c(act: str, sigma_w2: float, sigma_b2: float) -> float:
    """``6 xi_c``: the depth to which the theory says a network is trainable (inf at ``chi_1 = 1``).

    >>> round(six_xi_c("tanh", 1.0, 0.05), 1)
    21.8
    """
    return 6.0 * xi_c(act, sigma_w2, sigma_b2)


def depth_theory(act: str, ws: list[float], sigma_b2: float, resolution: int) -> dict[str, Any]:
    """The curve ``L = 6 xi_c(sigma_w^2)`` at ``10 resolution`` values of sigma_w^2 evenly across
    ``ws`` (plus the critical one, where it is infinite), and the critical sigma_w^2 of ``chi_1 = 1``
    (NaN if none in ``[1e-3, max(20, 2 max(ws))]``)."""
    lo, hi, n = min(ws), max(ws), 10 * resolution
    fine = [lo + (hi - lo) * i / (n - 1) for i in range(n)] if hi > lo else [lo]
    crit = critical_sigma_w2(act, sigma_b2, high=max(20.0, 2 * hi), tol=1e-8)
    if math.isfinite(crit) and lo < crit < hi:
        fine = sorted([*fine, crit])
    return {
        "sigma_w2": fine,
        "six_xi_c": [six_xi_c(act, w, sigma_b2) for w in fine],
        "critical_sigma_w2": crit,
    }


@dataclass
class PhaseDepthResult:
    """The accuracy grid (rows: depths, columns: sigma_w^2; mean over seeds) and the theory."""

    config: PhaseConfig
    sigma_b2: float
    sigma_w2: list[float]
    depths: list[int]
    accuracy: list[list[float | None]]  #: (D, W) mean test accuracy, None where nothing is stored
    theory: dict[str, Any]  #: :func:`depth_theory`
    sweep: SweepResult
    _limits: list[float] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def partial(self) -> bool:
        return self.sweep.partial

    def six_xi_c(self) -> list[float]:
        """``6 xi_c`` at each sigma_w^2 of the grid (inf at ``chi_1 = 1``; computed once: each
        ``xi_c`` is a fixed-point search with quadratures)."""
        if self._limits is None:
            self._limits = [six_xi_c(self.config.activation, w, self.sigma_b2) for w in self.sigma_w2]
        return list(self._limits)

    def deepest_trained(self) -> list[int | None]:
        """Per sigma_w^2: the largest depth whose mean test accuracy reaches ``config.trainable``
        (None: none does)."""
        out: list[int | None] = []
        for j in range(len(self.sigma_w2)):
            ok = [d for d, row in zip(self.depths, self.accuracy, strict=True) if _trained(row[j], self)]
            out.append(max(ok) if ok else None)
        return out

    def agreement(self) -> dict[str, int]:
        """Over the stored grid points: ``points``, ``agree`` (trained exactly where ``L <= 6 xi_c``),
        ``trained_beyond`` (trained though ``L > 6 xi_c``) and ``failed_within`` (not trained though
        ``L <= 6 xi_c``); a point without a prediction (``xi_c`` NaN: ``q*`` infinite) is left out."""
        points = agree = beyond = within = 0
        limits = self.six_xi_c()
        for d, row in zip(self.depths, self.accuracy, strict=True):
            for acc, limit in zip(row, limits, strict=True):
                if acc is None or math.isnan(limit):
                    continue
                points += 1
                trained, predicted = _trained(acc, self), d <= limit
                agree += trained == predicted
                beyond += trained and not predicted
                within += predicted and not trained
        return {"points": points, "agree": agree, "trained_beyond": beyond, "failed_within": within}

    def _repr_html_(self) -> str:
        """Jupyter's display: the accuracy grid (rows: depths) with 6 xi_c and the deepest trained L."""
        rows: list[list[Any]] = [
            [d, *(html.percent(a) for a in accs)] for d, accs in zip(self.depths, self.accuracy, strict=True)
        ]
        rows.append(["6 xi_c", *(f"{v:.1f}" if math.isfinite(v) else "inf" for v in self.six_xi_c())])
        rows.append(["deepest trained", *("-" if v is None else v for v in self.deepest_trained())])
        columns = ["L \\ sigma_w^2", *(f"{w:g}" for w in self.sigma_w2)]
        cfg, sw, ag = self.config, self.sweep, self.agreement()
        facts = [
            f"{cfg.activation} mlp, width {cfg.width}, sigma_b^2 = {self.sigma_b2:g}, {cfg.iterations} steps",
            f"chi_1 = 1 at sigma_w^2 = {self.theory['critical_sigma_w2']:.3f}",
            f"trained (accuracy >= {cfg.trainable:.0%}) where L <= 6 xi_c: {ag['agree']} of {ag['points']}",
            f"{sw.trained} models trained, {sw.skipped} from the store"
            + (" (stopped early)" if self.partial else ""),
        ]
        figure = (self, FIGURE, "test accuracy over sigma_w^2 and depth with 6 xi_c and chi_1 = 1")
        return card("initlab phase --view depth", html.table(columns, rows), facts=facts, figure=figure)

    def to_dict(self) -> dict[str, Any]:
        from .phase import SCHEMA_ID

        th = self.theory
        sweep = self.sweep.to_dict()
        columns = [
            {
                "sigma_w2": w,
                "chi_1": _none(chi_1(self.config.activation, w, self.sigma_b2)),
                "six_xi_c": _none(limit),
                "deepest_trained": deepest,
            }
            for w, limit, deepest in zip(self.sigma_w2, self.six_xi_c(), self.deepest_trained(), strict=True)
        ]
        return {
            "study": "phase",
            "schema": SCHEMA_ID,
            "view": "depth",
            "partial": self.partial,
            "activation": self.config.activation,
            "width": self.config.width,
            "sigma_b2": self.sigma_b2,
            "sigma_w2": self.sigma_w2,
            "depths": self.depths,
            "test_accuracy": self.accuracy,
            "trainable": self.config.trainable,
            "columns": columns,
            "agreement": self.agreement(),
            "theory": {
                "sigma_w2": th["sigma_w2"],
                "six_xi_c": [_none(v) for v in th["six_xi_c"]],
                "critical_sigma_w2": _none(th["critical_sigma_w2"]),
            },
            "sweep": {
                k: sweep[k] for k in ("store", "cells", "trained", "skipped", "stored", "wall_seconds")
            },
            "rows": sweep["rows"],
        }

    def figure_names(self) -> list[str]:
        return [FIGURE]

    def figures(self) -> dict[str, Any]:
        return {n: self.figure(n) for n in self.figure_names()}

    def figure(self, name: str, **options: Any) -> Any:
        if name not in self.figure_names():
            raise figure_error("phase", name, self.figure_names())
        from ..viz.phase import depth_figure

        return depth_figure(self, **options)


def _trained(acc: float | None, result: PhaseDepthResult) -> bool:
    return acc is not None and acc >= result.config.trainable


def depth_view(cfg: PhaseConfig, res: SweepResult) -> PhaseDepthResult:
    """The depth view of a finished (or stopped) sweep ``res`` of ``cfg``: the mean test accuracy over
    seeds per (depth, sigma_w^2), and the theory."""
    ws, (b,) = cfg.axes()
    depths = cfg.depth_values()
    acc: dict[tuple[int, float], list[float]] = {}
    for r in res.rows:
        if r["test_accuracy"] is not None:
            key = (int(r["model_params"]["layers"]), round(float(r["init_params"]["w"]), 9))
            acc.setdefault(key, []).append(r["test_accuracy"])
    grid: list[list[float | None]] = []
    for d in depths:
        row: list[float | None] = []
        for w in ws:
            vals = acc.get((d, round(w, 9)))
            row.append(sum(vals) / len(vals) if vals else None)
        grid.append(row)
    theory = depth_theory(cfg.activation, ws, b, cfg.grid()[2])
    return PhaseDepthResult(cfg, b, ws, depths, grid, theory, res)


__all__ = ["FIGURE", "PhaseDepthResult", "depth_theory", "depth_view", "six_xi_c"]
