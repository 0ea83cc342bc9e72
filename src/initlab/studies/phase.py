"""The ``phase`` study: trainability against mean-field theory, in two views.

Schoenholz et al. (2017), *Deep information propagation*: a deep ``tanh`` MLP is trainable near the
order-to-chaos boundary ``chi_1 = 1`` and, away from it, only to a depth of about ``6 xi_c``. This
study trains ``mlp(layers=L, width=width)`` from ``variance(w, b)`` at every point of a grid -- a
:mod:`sweep` (same store, same resume) -- and draws the test accuracy as a heatmap with the theory
over it, from :mod:`initlab.theory`.

* ``view="plane"`` (the default; their Fig. 1 and 5 in one): the (``w`` = sigma_w^2, ``b`` =
  sigma_b^2) plane at depth ``depth``, with the boundary ``chi_1 = 1``
  (:func:`~initlab.theory.critical_sigma_w2` at ``2 resolution`` values of ``b``) and the contour
  ``6 xi_c = depth`` (``xi_c`` on a ``resolution`` x ``resolution`` grid); and, at initialization,
  ``q*`` and ``c*`` measured in networks of width ``init_width`` against the maps
  (:mod:`.phase_init`, the ``fixed_points`` figure).
* ``view="depth"`` (their accuracy over sigma_w^2 and L on MNIST): the (sigma_w^2, ``L``) plane at
  one sigma_b^2 over ``depths``, with the curve ``L = 6 xi_c(sigma_w^2)`` and the line ``chi_1 = 1``
  (:mod:`.phase_depth`).
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from typing import Any

from ..activations import activation as get_activation
from ..core import html
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..data import Dataset, dataset_info
from ..theory import critical_sigma_w2, xi_c
from .config import Progress, ShouldStop, configure, dataset_for, figure_error, option
from .display import card
from .phase_depth import PhaseDepthResult, depth_view
from .phase_init import measure_fixed_points
from .sweep import SweepConfig, SweepResult
from .sweep import run as run_sweep
from .sweep_grid import parse_values

SCHEMA_ID = "initlab.phase/1"
#: The views: the (sigma_w^2, sigma_b^2) plane at one depth, or the (sigma_w^2, depth) plane at one sigma_b^2.
VIEWS = ("plane", "depth")
#: sigma_b^2 when ``sigma_b2`` is not given, per view (0.05: Schoenholz et al.'s depth figure).
DEFAULT_SIGMA_B2 = {"plane": "0:0.3:4", "depth": "0.05"}
#: The grid of ``--full`` (a GPU or a cluster): 36 x 16 points (plane) or 36 sigma_w^2 x 30 depths
#: up to 300 (depth), theory at 80 points per axis.
FULL_SIGMA_W2, FULL_SIGMA_B2, FULL_DEPTHS, FULL_RESOLUTION = "0.5:4:36", "0:0.3:16", "10:300:30", 80


@dataclass(frozen=True)
class PhaseConfig:
    """A phase diagram: the view, the network, the grid, training, theory resolution."""

    view: str = option(
        "plane",
        "plane: accuracy over (sigma_w^2, sigma_b^2) at --depth; "
        "depth: over (sigma_w^2, depth L) at one --sigma-b2, for --depths",
        choices=VIEWS,
    )
    activation: str = option("tanh", "activation of every hidden layer")
    depth: int = option(20, "hidden layers L (the plane view)")
    depths: str = option("10:90:5", "the depth view's depths L: START:STOP:NUM or L1,L2,... (integers)")
    width: int = option(100, "units per hidden layer")
    sigma_w2: str = option("0.5:4:8", "sigma_w^2 values: START:STOP:NUM or V1,V2,...")
    sigma_b2: str | None = option(
        None,
        "sigma_b^2 values: START:STOP:NUM or V1,V2,... (the depth view: one value)",
        default_text="0:0.3:4; 0.05 with --view depth",
    )
    full: bool = option(
        False,
        "the full-resolution grid for a GPU or a cluster (plane: 36 x 16 points; depth: 36 sigma_w^2 "
        "x 30 depths up to 300)",
    )
    trainable: float = option(
        0.5, "the depth view: test accuracy at or above which a model counts as trained"
    )
    iterations: int = option(300, "SGD steps")
    lr: float = option(0.01, "learning rate")
    optimizer: str = option("sgd", "optimizer spec")
    batch_size: int = option(128, "mini-batch size")
    seeds: int = option(1, "models per grid point")
    seed: int = option(0, "first model seed; also seeds the batches")
    eval_size: int | None = option(2000, "test examples evaluated (0: all)")
    resolution: int = option(24, "theory points per axis")
    init_width: int = option(500, "width of the networks whose q* and c* are measured at initialization")
    dataset: str = option("mnist", "mnist (bundled), fashion-mnist or kmnist")
    device: str = option("cpu", "cpu, cuda, cuda:N, mps or auto")
    chunk: int = option(64, "at most this many models per ensemble")
    store: str | None = option(
        None, "SQLite store (resumable, as sweep's)", metavar="FILE", default_text="none"
    )
    # the Ray settings of sweep (a phase diagram is a sweep underneath)
    ray: str | None = option(
        None,
        "train each ensemble as a Ray task: auto or HOST:PORT (as sweep's --ray)",
        metavar="auto|ADDRESS",
        default_text="in-process",
    )
    ray_cpus: float = option(1.0, "CPUs per Ray task (its torch threads)")
    ray_gpus: float | None = option(None, "GPUs per Ray task", default_text="1 with --device cuda, else 0")
    ray_retries: int = option(3, "times Ray reruns a task whose worker died")

    def data_name(self) -> str:
        return self.dataset

    def grid(self) -> tuple[str, str, int]:
        """(sigma_w^2 values, sigma_b^2 values, resolution): the view's default sigma_b^2 where none
        is given, and ``full`` applied (the depth view keeps its sigma_b^2)."""
        b = self.sigma_b2 if self.sigma_b2 is not None else DEFAULT_SIGMA_B2.get(self.view, "0")
        if self.full:
            return FULL_SIGMA_W2, FULL_SIGMA_B2 if self.view == "plane" else b, FULL_RESOLUTION
        return self.sigma_w2, b, self.resolution

    def depth_values(self) -> list[int]:
        """The depth view's depths L (``full``: :data:`FULL_DEPTHS`), positive integers."""
        text = FULL_DEPTHS if self.full else self.depths
        values = parse_values(f"layers={text}", "--depths")[1]
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v) or v < 1:
                raise InitlabError(f"--depths {text!r}: depths must be positive integers, got {v!r}")
            out.append(int(v))
        return sorted(out)

    def axes(self) -> tuple[list[float], list[float]]:
        w, b, _ = self.grid()
        ws = [float(v) for v in parse_values(f"w={w}", "--sigma-w2")[1]]  # type: ignore[arg-type]
        bs = [float(v) for v in parse_values(f"b={b}", "--sigma-b2")[1]]  # type: ignore[arg-type]
        if min(ws) <= 0 or min(bs) < 0:
            raise InitlabError(f"sigma_w^2 must be > 0 and sigma_b^2 >= 0, got {w!r} and {b!r}")
        return ws, bs

    def sweep_config(self) -> SweepConfig:
        """The sweep underneath: one model spec per depth (the depth view) or ``depth`` (the plane)."""
        w, b, _ = self.grid()
        depths = self.depth_values() if self.view == "depth" else [self.depth]
        return SweepConfig(
            dataset=(self.dataset,),
            model=tuple(f"mlp(layers={d}, width={self.width})" for d in depths),
            activation=(self.activation,),
            init=("variance",),
            init_param=(f"w={w}", f"b={b}"),
            optimizer=(self.optimizer,),
            lr=(self.lr,),
            iterations=(self.iterations,),
            seeds=self.seeds,
            seed=self.seed,
            batch_size=self.batch_size,
            eval_size=self.eval_size or None,
            chunk=self.chunk,
            device=self.device,
            store=self.store,
            ray=self.ray,
            ray_cpus=self.ray_cpus,
            ray_gpus=self.ray_gpus,
            ray_retries=self.ray_retries,
        )

    def validate(self) -> None:
        if self.view not in VIEWS:
            raise InitlabError(f"view must be one of {', '.join(VIEWS)}, got {self.view!r}")
        for name in ("depth", "width", "resolution", "init_width"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise InitlabError(f"{name} must be a positive integer, got {v!r}")
        if self.resolution < 2:
            raise InitlabError(f"resolution must be >= 2, got {self.resolution}")
        t = self.trainable
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 < t <= 1:
            raise InitlabError(f"trainable must be a test accuracy in (0, 1], got {t!r}")
        get_activation(self.activation)
        _, bs = self.axes()
        if self.view == "depth":
            if len(bs) != 1:
                raise InitlabError(
                    f"--view depth takes one --sigma-b2 value, got {len(bs)} from {self.grid()[1]!r}"
                )
            self.depth_values()
        self.sweep_config().validate()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_jsonable(self)
        return out


def _finite(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _span(values: list[float], n: int) -> list[float]:
    lo, hi = min(values), max(values)
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def theory_overlay(act: str, ws: list[float], bs: list[float], resolution: int) -> dict[str, Any]:
    """The boundary ``chi_1 = 1`` at ``2 resolution`` values of sigma_b^2 across ``bs`` (spaced
    quadratically) and ``xi_c`` on a ``resolution`` x ``resolution`` grid across ``ws`` x ``bs`` (rows:
    sigma_b^2)."""
    fine_w, fine_b = _span(ws, resolution), _span(bs, resolution)
    hi = max(20.0, 2 * max(ws))
    lo_b, hi_b, n = min(bs), max(bs), 2 * resolution
    # the boundary bends fastest at small sigma_b^2: points spaced quadratically, denser there
    along = [lo_b + (hi_b - lo_b) * (i / (n - 1)) ** 2 for i in range(n)]
    boundary = [[b, critical_sigma_w2(act, b, high=hi, tol=1e-8)] for b in along]
    xi = [[xi_c(act, w, b) for w in fine_w] for b in fine_b]  # (Rb, Rw)
    return {"sigma_w2": fine_w, "sigma_b2": fine_b, "xi_c": xi, "boundary": boundary}


@dataclass
class PhaseResult:
    """The accuracy grid (rows sigma_b^2, columns sigma_w^2; mean over seeds) and the theory."""

    config: PhaseConfig
    sigma_w2: list[float]
    sigma_b2: list[float]
    accuracy: list[list[float | None]]  #: (B, W) mean test accuracy, None where nothing is stored
    theory: dict[str, Any]
    sweep: SweepResult
    initial: list[dict[str, Any]]  #: per grid point: q and c measured at initialization and their theory

    @property
    def partial(self) -> bool:
        return self.sweep.partial

    def boundary_at(self, sigma_b2: float) -> float:
        """The drawn boundary's sigma_w^2 at ``sigma_b2``, interpolated linearly between its points."""
        pts = self.theory["boundary"]
        for (b0, w0), (b1, w1) in itertools.pairwise(pts):
            if b0 <= sigma_b2 <= b1:
                t = 0.0 if b1 == b0 else (sigma_b2 - b0) / (b1 - b0)
                return float(w0 + t * (w1 - w0))
        raise InitlabError(f"sigma_b^2 = {sigma_b2} is outside the drawn boundary's range")

    def _repr_html_(self) -> str:
        """Jupyter's display: the accuracy grid (rows sigma_b^2) with the critical sigma_w^2, and the
        ``phase`` figure."""
        rows = [
            [b, *(html.percent(a) for a in accs), self.boundary_at(b)]
            for b, accs in zip(self.sigma_b2, self.accuracy, strict=True)
        ]
        columns = ["sigma_b^2 \\ sigma_w^2", *(f"{w:g}" for w in self.sigma_w2), "chi_1 = 1 at sigma_w^2"]
        cfg, sw = self.config, self.sweep
        facts = [
            f"{cfg.activation} mlp, depth {cfg.depth}, width {cfg.width}, {cfg.iterations} steps",
            f"{sw.trained} models trained, {sw.skipped} from the store"
            + (" (stopped early)" if self.partial else ""),
            f"{sw.wall_seconds:.1f} s",
        ]
        figure = (self, "phase", "test accuracy over sigma_w^2 and sigma_b^2 with chi_1 = 1 and 6 xi_c = L")
        return card("initlab phase", html.table(columns, rows), facts=facts, figure=figure)

    def to_dict(self) -> dict[str, Any]:
        theory = {
            **self.theory,
            "xi_c": [[x if math.isfinite(x) else None for x in row] for row in self.theory["xi_c"]],
            "boundary": [[b, w if math.isfinite(w) else None] for b, w in self.theory["boundary"]],
        }
        sweep = self.sweep.to_dict()
        return {
            "study": "phase",
            "schema": SCHEMA_ID,
            "view": "plane",
            "partial": self.partial,
            "activation": self.config.activation,
            "depth": self.config.depth,
            "width": self.config.width,
            "sigma_w2": self.sigma_w2,
            "sigma_b2": self.sigma_b2,
            "test_accuracy": self.accuracy,
            "theory": theory,
            "initial": [{k: _finite(v) for k, v in p.items()} for p in self.initial],
            "sweep": {
                k: sweep[k] for k in ("store", "cells", "trained", "skipped", "stored", "wall_seconds")
            },
            "rows": sweep["rows"],
        }

    def figure_names(self) -> list[str]:
        return ["phase", "fixed_points"]

    def figures(self) -> dict[str, Any]:
        return {n: self.figure(n) for n in self.figure_names()}

    def figure(self, name: str, **options: Any) -> Any:
        if name not in self.figure_names():
            raise figure_error("phase", name, self.figure_names())
        from ..viz.phase import fixed_points_figure, phase_figure

        if name == "fixed_points":
            return fixed_points_figure(self, **options)
        return phase_figure(self, **options)


def run(
    config: PhaseConfig | None = None,
    *,
    dataset: Dataset | None = None,
    progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
) -> PhaseResult | PhaseDepthResult:
    """Train the grid (a sweep) and compute the theory overlay; returns a :class:`PhaseResult` (the
    plane view) or a :class:`~.phase_depth.PhaseDepthResult` (``view="depth"``)."""
    cfg = config if config is not None else PhaseConfig()
    cfg.validate()
    ws, bs = cfg.axes()
    res = run_sweep(cfg.sweep_config(), dataset=dataset, progress=progress, should_stop=should_stop)
    if cfg.view == "depth":
        return depth_view(cfg, res)
    acc: dict[tuple[float, float], list[float]] = {}
    for r in res.rows:
        p = r["init_params"]
        if r["test_accuracy"] is not None:
            acc.setdefault((round(float(p["w"]), 9), round(float(p["b"]), 9)), []).append(r["test_accuracy"])
    grid: list[list[float | None]] = []
    for b in bs:
        row: list[float | None] = []
        for w in ws:
            vals = acc.get((round(w, 9), round(b, 9)))
            row.append(sum(vals) / len(vals) if vals else None)
        grid.append(row)
    theory = theory_overlay(cfg.activation, ws, bs, cfg.grid()[2])
    features = math.prod(dataset_info(cfg.dataset).image_shape)
    points = [(w, b) for b in bs for w in ws]
    initial = measure_fixed_points(
        cfg.activation, cfg.depth, cfg.init_width, points, in_features=features, seed=cfg.seed
    )
    return PhaseResult(cfg, ws, bs, grid, theory, res, initial)


def phase(
    config: PhaseConfig | None = None,
    /,
    *,
    dataset: Dataset | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | bool | None = None,
    download_progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
    **fields: Any,
) -> PhaseResult | PhaseDepthResult:
    """A phase diagram: ``phase(config)``, ``phase(**fields)`` or ``phase(config, **fields)``;
    ``view="depth"`` for the (sigma_w^2, depth) view."""
    if isinstance(dataset, str):
        fields, dataset = {**fields, "dataset": dataset}, None
    cfg = configure(PhaseConfig, config, fields, "phase")
    cfg.validate()
    ds = dataset_for(cfg, dataset, data_dir, download_progress)
    return run(cfg, dataset=ds, progress=progress, should_stop=should_stop)


Config = PhaseConfig
__all__ = [
    "SCHEMA_ID",
    "VIEWS",
    "Config",
    "PhaseConfig",
    "PhaseDepthResult",
    "PhaseResult",
    "phase",
    "run",
    "theory_overlay",
]
