"""The probe: per-layer activation and gradient statistics of an MLP at initialization.

Several init specs, each over several seeds, run as *one* stacked forward/backward pass
(:class:`initlab.ensemble.Stack`, ``M = specs x seeds`` models, model ``m = k * seeds + s`` for spec
``k`` and replicate ``s``), with the mean-field prediction (:mod:`initlab.theory`) beside the
measurements.

Randomness, all from explicit generators:

* replicate ``s`` of every spec draws its weights from ``Generator().manual_seed(seed + s)``, so
  every spec sees the same seeds, and ``(spec, seed)`` gives the same weights in any probe;
* the N(0, 1) input ``x: (samples, input_dim)`` and then the cotangent ``g: (samples, width)`` come
  from ``Generator().manual_seed(seed + 2**31)``, a stream no replicate's weights use (seeds are
  limited to ``seed + seeds <= 2**31`` because PyTorch's CPU generator reads only the low 32 bits of
  a seed: ``manual_seed(2**32)`` is ``manual_seed(0)``). Input and cotangent are shared by every
  model, so specs are compared on the same data.

The backward pass computes ``L = sum(g * a_L)`` for the last layer's activations ``a_L``: ``g`` is a
unit-variance Gaussian cotangent injected at the last layer. Recorded are the std of ``dL/dz_l``
(pre-activations) and of ``dL/dW_l``.

Statistics per layer and model are those of :mod:`initlab.measure.stats` (pooled over inputs and units;
non-finite values are counted, never propagated); a spec's summary is the mean over its seeds, with
the spread (population std), min and max over seeds.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .. import theory
from ..activations import Activation
from ..activations import activation as get_activation
from ..core.errors import InitlabError
from ..ensemble import Stack
from ..measure import stats
from ..measure.probe import auto_range, forward_backward, layer_stats
from ..schemes import Scheme, scheme

#: The ``"schema"`` of results.json (JSON Schema: initlab/studies/schemas/probe.schema.json).
SCHEMA_ID = "initlab.probe/1"

#: The classic study's four inits, labelled as the textbook labels them.
CLASSIC_INITS = (
    "std=1: normal(std=1)",
    "std=0.01: normal(std=0.01)",
    "Xavier: lecun_normal",
    "He: he_normal",
)
DATA_SEED_OFFSET = 2**31  #: the input/cotangent generator is seeded with ``seed + DATA_SEED_OFFSET``


# -- result objects ---------------------------------------------------------------------------------


def _summary(values: Sequence[float]) -> tuple[float, float, float, float]:
    """Mean, population std, min and max over the finite values (NaN if none)."""
    vals = [float(v) for v in values if math.isfinite(v)]
    if not vals:
        return math.nan, math.nan, math.nan, math.nan
    mean = math.fsum(vals) / len(vals)
    spread = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / len(vals))
    return mean, spread, min(vals), max(vals)


@dataclass(frozen=True)
class LayerProbe:
    """One hidden layer of one spec; every statistic is a tuple with one value per seed.

    ``histogram[s]`` is the share of the layer's entries (``samples x width``) in each bin of the
    spec's histogram range (finite entries only; values outside the range are counted in the end
    bins, and their shares are ``below_range`` and ``above_range``).
    """

    layer: int
    width: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    preact_std: tuple[float, ...]
    saturated_fraction: tuple[float, ...] | None
    zero_fraction: tuple[float, ...]
    dead_fraction: tuple[float, ...]
    nonfinite: tuple[int, ...]
    grad_std: tuple[float, ...]
    grad_nonfinite: tuple[int, ...]
    weight_grad_std: tuple[float, ...]
    histogram: tuple[tuple[float, ...], ...]
    below_range: tuple[float, ...]
    above_range: tuple[float, ...]
    theory: theory.LayerPrediction | None

    def summary(self, name: str) -> tuple[float, float, float, float]:
        """``(mean, spread, min, max)`` over seeds of a per-seed statistic, e.g. ``"std"``."""
        values = getattr(self, name)
        if values is None:
            return math.nan, math.nan, math.nan, math.nan
        return _summary(values)

    def histogram_mean(self) -> list[float]:
        """The histogram averaged over seeds (share of entries per bin)."""
        seeds = len(self.histogram)
        return [math.fsum(col) / seeds for col in zip(*self.histogram, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        mean, mean_spread, _, _ = self.summary("mean")
        std, std_spread, std_min, std_max = self.summary("std")
        g, g_spread, g_min, g_max = self.summary("grad_std")
        wg, wg_spread, _, _ = self.summary("weight_grad_std")
        hist_spread = [_summary(col)[1] for col in zip(*self.histogram, strict=True)]
        th = self.theory
        return {
            "layer": self.layer,
            "width": self.width,
            "mean": mean,
            "mean_spread": mean_spread,
            "std": std,
            "std_spread": std_spread,
            "std_min": std_min,
            "std_max": std_max,
            "preact_std": self.summary("preact_std")[0],
            "saturated_fraction": (
                None if self.saturated_fraction is None else self.summary("saturated_fraction")[0]
            ),
            "zero_fraction": self.summary("zero_fraction")[0],
            "dead_fraction": self.summary("dead_fraction")[0],
            "nonfinite": sum(self.nonfinite),
            "grad_std": g,
            "grad_std_spread": g_spread,
            "grad_std_min": g_min,
            "grad_std_max": g_max,
            "grad_nonfinite": sum(self.grad_nonfinite),
            "weight_grad_std": wg,
            "weight_grad_std_spread": wg_spread,
            "theory_q": None if th is None else th.q,
            "theory_mean": None if th is None else th.mean,
            "theory_std": None if th is None else th.std,
            "theory_preact_std": None if th is None else th.preact_std,
            "theory_grad_std": None if th is None else th.grad_std,
            "theory_weight_grad_std": None if th is None else th.weight_grad_std,
            "histogram": {
                "fractions": self.histogram_mean(),
                "fractions_spread": hist_spread,
                "below_range": self.summary("below_range")[0],
                "above_range": self.summary("above_range")[0],
            },
            "per_seed": {
                "mean": list(self.mean),
                "std": list(self.std),
                "preact_std": list(self.preact_std),
                "saturated_fraction": (
                    None if self.saturated_fraction is None else list(self.saturated_fraction)
                ),
                "zero_fraction": list(self.zero_fraction),
                "dead_fraction": list(self.dead_fraction),
                "nonfinite": list(self.nonfinite),
                "grad_std": list(self.grad_std),
                "grad_nonfinite": list(self.grad_nonfinite),
                "weight_grad_std": list(self.weight_grad_std),
            },
        }


@dataclass(frozen=True)
class SpecProbe:
    """One init spec: its label (as the user wrote it), its layers, and its mean-field state.

    ``mean_field`` describes the hidden-layer map ``(sigma_w^2, sigma_b^2)`` with ``q*`` reached from
    the first layer's variance; ``None`` (like every layer's ``theory``) where the theory does not
    apply. ``theory_exact`` is False for orthogonal weights (approximate in wide layers).
    """

    label: str
    spec: str
    text: str
    seeds: tuple[int, ...]
    hist_range: tuple[float, float]
    bins: int
    layers: tuple[LayerProbe, ...]
    mean_field: theory.MeanField | None
    theory_exact: bool | None

    @property
    def edges(self) -> list[float]:
        """The ``bins + 1`` histogram bin edges."""
        lo, hi = self.hist_range
        return [lo + (hi - lo) * i / self.bins for i in range(self.bins + 1)]

    def series(self, name: str) -> tuple[list[float], list[float], list[float]]:
        """Per layer: the seed mean, min and max of a statistic (for plotting)."""
        rows = [layer.summary(name) for layer in self.layers]
        return [r[0] for r in rows], [r[2] for r in rows], [r[3] for r in rows]

    def theory_series(self, name: str) -> list[float]:
        """Per layer: a field of the mean-field prediction (NaN where theory does not apply)."""
        return [math.nan if la.theory is None else float(getattr(la.theory, name)) for la in self.layers]

    def to_dict(self, activation: str) -> dict[str, Any]:
        mf = self.mean_field
        return {
            "label": self.label,
            "spec": self.spec,
            "input": self.text,
            "activation": activation,
            "seeds": list(self.seeds),
            "histogram_range": list(self.hist_range),
            "bins": self.bins,
            "edges": self.edges,
            "theory": None
            if mf is None
            else {
                "exact": self.theory_exact,
                "sigma_w2": mf.sigma_w2,
                "sigma_b2": mf.sigma_b2,
                "q_star": mf.q_star,
                "c_star": mf.c_star,
                "chi_1": mf.chi_1,
                "xi_q": mf.xi_q,
                "xi_c": mf.xi_c,
                "regime": mf.regime,
            },
            "layers": [layer.to_dict() for layer in self.layers],
        }


@dataclass(frozen=True)
class ProbeResult:
    """What :func:`probe` measured: the configuration and one :class:`SpecProbe` per init spec."""

    activation: str
    depth: int
    width: int
    input_dim: int
    samples: int
    seed: int
    seeds: tuple[int, ...]
    bias: bool
    bins: int
    input: str
    input_second_moment: float
    runs: tuple[SpecProbe, ...]

    def config(self) -> dict[str, Any]:
        """The resolved configuration (what a run folder's config.json records)."""
        return {
            "activation": self.activation,
            "inits": [r.text for r in self.runs],
            "layers": self.depth,
            "width": self.width,
            "input_dim": self.input_dim,
            "samples": self.samples,
            "seeds": len(self.seeds),
            "seed": self.seed,
            "model_seeds": list(self.seeds),
            "data_seed": self.seed + DATA_SEED_OFFSET,
            "bias": self.bias,
            "bins": self.bins,
            "input": self.input,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (non-finite floats are written as null by the run folder)."""
        return {
            "schema": SCHEMA_ID,
            "config": self.config(),
            "input_second_moment": self.input_second_moment,
            "runs": [r.to_dict(self.activation) for r in self.runs],
        }

    def histogram_figure(self, **kwargs: Any) -> Any:
        """The classic layout: one row per spec, one histogram per layer (see :mod:`initlab.viz.probe`)."""
        from ..viz.probe import histogram_figure

        return histogram_figure(self, **kwargs)

    def summary_figure(self, **kwargs: Any) -> Any:
        """Std per layer (activations, gradients) for every spec, theory dashed (log scale)."""
        from ..viz.probe import summary_figure

        return summary_figure(self, **kwargs)


# -- the probe -------------------------------------------------------------------------------------


def _count(name: str, value: object, minimum: int = 1) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InitlabError(f"{name} must be an integer, got {value!r}") from None
    if n < minimum:
        raise InitlabError(f"{name} must be >= {minimum}, got {n}")
    return n


def _range(hist_range: Sequence[float] | None) -> tuple[float, float] | None:
    if hist_range is None:
        return None
    if len(hist_range) != 2:
        raise InitlabError(f"a histogram range is two numbers (lo, hi), got {hist_range!r}")
    lo, hi = float(hist_range[0]), float(hist_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InitlabError(f"a histogram range needs finite lo < hi, got ({lo}, {hi})")
    return lo, hi


def probe(
    inits: str | Scheme | Sequence[str | Scheme] = CLASSIC_INITS,
    activation: str | Activation = "sigmoid",
    *,
    layers: int = 5,
    width: int = 100,
    samples: int | None = None,
    seeds: int = 1,
    seed: int = 0,
    bias: bool = False,
    inputs: Tensor | None = None,
    input_dim: int | None = None,
    bins: int = 30,
    hist_range: Sequence[float] | None = None,
    input_name: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> ProbeResult:
    """Probe an MLP of ``layers`` hidden layers x ``width`` units under each init spec.

    Defaults are the classic study's: 5 layers of 100 units, no bias, 1000 inputs from N(0, 1) of
    dimension ``width``, the four classic inits, one seed. ``inputs: (B, D)`` replaces the Gaussian
    input with real data (then ``samples``/``input_dim`` are taken from it). ``hist_range`` forces one
    histogram range for every spec (else :func:`auto_range` per spec). ``input_name`` names the input
    in the results (default ``"gaussian"``, or ``"tensor"`` for ``inputs``). Never raises on NaN/Inf
    in the network: non-finite values are counted per layer.

    >>> r = probe(["Xavier: lecun_normal"], "tanh", width=500, samples=200)
    >>> last = r.runs[0].layers[-1].to_dict()
    >>> round(last["std"], 3), round(last["theory_std"], 3)   # measured, mean-field
    (0.322, 0.322)
    """
    act = get_activation(activation)
    if isinstance(inits, str | Scheme):
        inits = [inits]
    specs = [scheme(s) for s in inits]
    if not specs:
        raise InitlabError("probe needs at least one init spec")
    depth = _count("layers", layers)
    width = _count("width", width)
    n_seeds = _count("seeds", seeds)
    seed = _count("seed", seed, minimum=0)
    bins = _count("bins", bins)
    forced = _range(hist_range)
    if seed + n_seeds > DATA_SEED_OFFSET:
        raise InitlabError(
            f"seed={seed} with seeds={n_seeds}: seed + seeds must be <= 2**31 (the input's own stream "
            "starts at 2**31, and PyTorch's CPU generator reads only 32 bits of a seed)"
        )

    gen = torch.Generator().manual_seed(seed + DATA_SEED_OFFSET)
    device: torch.device | None = None
    if inputs is None:
        b = 1000 if samples is None else _count("samples", samples)
        d = width if input_dim is None else _count("input_dim", input_dim)
        x = torch.randn(b, d, generator=gen, dtype=dtype)  # (B, D)
        source = input_name or "gaussian"
    else:
        if not isinstance(inputs, Tensor) or inputs.dim() != 2 or 0 in inputs.shape:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
            raise InitlabError(f"inputs must be a non-empty (samples, features) tensor, got {shape}")
        for name, given in (("samples", samples), ("input_dim", input_dim)):
            actual = inputs.shape[0 if name == "samples" else 1]
            if given is not None and given != actual:
                raise InitlabError(f"{name}={given} disagrees with inputs of shape {tuple(inputs.shape)}")
        x = inputs.detach().to(dtype)  # (B, D)
        device = x.device
        source = input_name or "tensor"
    b, d = x.shape
    g = torch.randn(b, width, generator=gen, dtype=dtype).to(x.device)  # (B, H)

    seed_list = tuple(seed + s for s in range(n_seeds))
    stack = Stack.from_schemes(
        [d] + [width] * depth,
        act,
        [sch for sch in specs for _ in seed_list],
        [s for _ in specs for s in seed_list],
        bias=bias,
        activate_last=True,
        dtype=dtype,
        device=device,
    )

    pre, post = forward_backward(stack, act, x, g)

    with torch.no_grad():
        xf = x.double()  # (B, D)
        ok = torch.isfinite(xf)
        x2 = float((torch.where(ok, xf, 0.0) ** 2).sum() / ok.sum()) if bool(ok.any()) else math.nan
        per_layer = [
            layer_stats(act, z, a, stack.weights[i].grad)
            for i, (z, a) in enumerate(zip(pre, post, strict=True))
        ]
        runs = []
        for k, sch in enumerate(specs):
            sl = slice(k * n_seeds, (k + 1) * n_seeds)
            rng = forced or auto_range(act.bounds, [a[sl] for a in post])
            preds, mf, exact = _theory(act, sch, d, width, depth, bias, x2, b)
            layer_results = []
            for i, a in enumerate(post):
                hist = stats.histograms(a[sl], bins, rng[0], rng[1]) / (b * width)  # (S, bins)
                outside = (
                    (a[sl] < rng[0]).flatten(1).double().mean(1),
                    (a[sl] > rng[1]).flatten(1).double().mean(1),
                )
                pred = None if preds is None else preds[i]
                layer_results.append(_layer_probe(i, width, per_layer[i], sl, hist, outside, pred))
            runs.append(
                SpecProbe(
                    sch.label, sch.spec, sch.text, seed_list, rng, bins, tuple(layer_results), mf, exact
                )
            )
    return ProbeResult(
        act.spec, depth, width, d, b, seed, seed_list, bool(bias), bins, source, x2, tuple(runs)
    )


def _floats(t: Tensor | None, sl: slice) -> tuple[float, ...]:
    assert t is not None  # only called for statistics that are always present
    return tuple(float(v) for v in t[sl])


def _layer_probe(
    i: int,
    width: int,
    st: dict[str, Tensor | None],
    sl: slice,
    hist: Tensor,
    outside: tuple[Tensor, Tensor],
    pred: theory.LayerPrediction | None,
) -> LayerProbe:
    sat = st["saturated_fraction"]
    nonfinite, grad_nonfinite = st["nonfinite"], st["grad_nonfinite"]
    assert nonfinite is not None and grad_nonfinite is not None
    return LayerProbe(
        layer=i + 1,
        width=width,
        mean=_floats(st["mean"], sl),
        std=_floats(st["std"], sl),
        preact_std=_floats(st["preact_std"], sl),
        saturated_fraction=None if sat is None else _floats(sat, sl),
        zero_fraction=_floats(st["zero_fraction"], sl),
        dead_fraction=_floats(st["dead_fraction"], sl),
        nonfinite=tuple(int(v) for v in nonfinite[sl]),
        grad_std=_floats(st["grad_std"], sl),
        grad_nonfinite=tuple(int(v) for v in grad_nonfinite[sl]),
        weight_grad_std=_floats(st["weight_grad_std"], sl),
        histogram=tuple(tuple(float(v) for v in row) for row in hist),
        below_range=tuple(float(v) for v in outside[0]),
        above_range=tuple(float(v) for v in outside[1]),
        theory=pred,
    )


def _theory(
    act: Activation, sch: Scheme, d: int, width: int, depth: int, bias: bool, x2: float, batch: int
) -> tuple[list[theory.LayerPrediction] | None, theory.MeanField | None, bool | None]:
    """Per-layer predictions and the hidden-layer mean-field state (``None`` where theory does not apply)."""
    shapes = [(width, d)] + [(width, width)] * (depth - 1)
    lvs = [theory.layer_variances(sch, shape, bias=bias) for shape in shapes]
    if not math.isfinite(x2) or any(lv is None for lv in lvs):
        return None, None, None
    known = [lv for lv in lvs if lv is not None]
    preds = theory.predict(act, known, input_second_moment=x2, batch=batch)
    q0 = preds[0].q if math.isfinite(preds[0].q) else 1.0
    mf = theory.mean_field(act, known[-1].sigma_w2, known[-1].sigma_b2, q0=q0)
    return preds, mf, all(lv.exact for lv in known)
