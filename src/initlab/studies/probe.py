"""The probe: per-layer activation and gradient statistics of an MLP at initialization.

With ``model`` set (``--model cnn(...)``, ``resnet(...)``, ``vit(...)``, ``mlp(...)`` or
``PACKAGE.MODULE:FACTORY``) the probe runs that network instead, as one ensemble
(:mod:`initlab.studies.probe_models`); without it, the classic hidden stack below, unchanged.
``device`` (``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``auto``) says where either runs; weights and
input are drawn on the CPU and moved.

Several init specs, each over several seeds, run as *one* stacked forward/backward pass
(:class:`initlab.ensemble.Stack`, ``M = specs x seeds`` models, model ``m = k * seeds + s`` for spec
``k`` and replicate ``s``), with the mean-field prediction (:mod:`initlab.theory`) beside the
measurements.

Randomness, all from the seed streams of :mod:`initlab.core.seeds`:

* replicate ``s`` of every spec has model seed ``seed + s`` and draws its weights from that seed's
  ``weights`` stream, so every spec sees the same seeds, and ``(spec, seed)`` gives the same
  weights in any probe -- and in ``compare`` and ``symmetry``;
* the N(0, 1) input ``x: (samples, input_dim)`` comes from the ``inputs`` stream of ``seed``, the
  cotangent ``g: (samples, width)`` from its ``cotangents`` stream. Input and cotangent are shared
  by every model, so specs are compared on the same data; the cotangent is the same whether the
  input is Gaussian or a dataset.

The backward pass computes ``L = sum(g * a_L)`` for the last layer's activations ``a_L``: ``g`` is a
unit-variance Gaussian cotangent injected at the last layer. Recorded are the std of ``dL/dz_l``
(pre-activations) and of ``dL/dW_l``.

Statistics per layer and model are those of :mod:`initlab.measure.stats` (pooled over inputs and units;
non-finite values are counted, never propagated); a spec's summary is the mean over its seeds, with
the spread (population std), min and max over seeds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from .. import theory
from ..activations import Activation
from ..activations import activation as get_activation
from ..core import html
from ..core import seeds as seed_streams
from ..core.device import resolve_device
from ..core.errors import InitlabError, check_int
from ..core.io import to_jsonable
from ..data import Dataset, load_dataset
from ..ensemble import ModelFactory, Stack, model_factory
from ..measure import stats
from ..measure.probe import auto_range, forward_backward, layer_stats
from ..schemes import Scheme, scheme
from .config import Progress, ShouldStop, check_labels, configure, dataset_for, figure_error, option
from .display import card
from .progress import progress_bar

#: The ``"schema"`` of results.json (JSON Schema: initlab/studies/schemas/probe.schema.json).
SCHEMA_ID = "initlab.probe/2"
#: One sample's shape for ``--model`` with Gaussian input: an MNIST image (given flat, as families take it)
MNIST_SHAPE = (1, 28, 28)

#: The classic study's four inits, labelled as the textbook labels them.
CLASSIC_INITS = (
    "std=1: normal(std=1)",
    "std=0.01: normal(std=0.01)",
    "Xavier: lecun_normal",
    "He: he_normal",
)


@dataclass(frozen=True)
class ProbeConfig:
    """Everything that defines a probe run (the ``initlab probe`` flags, one to one)."""

    activation: str | None = option(
        None,
        "a registered activation (with --model: for the families that have one)",
        default_text="sigmoid for the classic stack; with --model the family's own (ReLU; GELU for vit)",
    )
    inits: tuple[str, ...] = option(
        CLASSIC_INITS,
        "an init spec, optionally labelled ('Xavier: lecun_normal'); repeat to compare",
        flag="--init",
        repeatable=True,
        metavar="SPEC",
        default_text="the classic four: " + "; ".join(CLASSIC_INITS),
    )
    layers: int = option(5, "hidden layers")
    width: int = option(100, "units per hidden layer")
    samples: int = option(1000, "inputs in the batch (1000 as in the classic book)")
    seeds: int = option(1, "seeds per spec: SEED, SEED+1, ...")
    seed: int = option(0, "first seed")
    bias: bool = option(False, "biases", default_text="off", negatable=True)
    bins: int = option(30, "histogram bins")
    hist_range: tuple[float, float] | None = option(
        None,
        "force one histogram range for every spec, e.g. the book's --range 0 1",
        flag="--range",
        metavar=("LO", "HI"),
        default_text="fitted to the activation: (0, 1) sigmoid, (-1, 1) tanh, from 0 up for ReLU",
    )
    input: str = option(
        "gaussian",
        "'gaussian' (N(0, 1) inputs of dimension WIDTH) or a dataset such as 'mnist' "
        "(the first SAMPLES training images, pixels in [0, 1])",
        metavar="NAME",
    )
    input_dim: int | None = option(None, "Gaussian input features (default: width)", flag=None)
    model: str | None = option(
        None,
        "a model family spec -- mlp(layers, width, bias), cnn(depth, channels, ...), resnet(depth, width, "
        "...), vit(depth, dim, heads, patch) -- or PACKAGE.MODULE:FACTORY: probe that network instead, "
        "with a Gaussian cotangent on its logits (LAYERS, WIDTH and --bias describe the classic stack only)",
        metavar="SPEC",
        default_text="the classic hidden stack: LAYERS x WIDTH, the activation after every layer, "
        "the cotangent at the last hidden layer",
    )
    device: str = option("cpu", "where the pass runs: cpu, cuda, cuda:N, mps or auto", metavar="DEVICE")

    def activation_name(self) -> str:
        """The activation that runs: ``activation``, else sigmoid (classic stack) or the family's."""
        if self.activation is not None:
            return get_activation(self.activation).spec
        if self.model is None:
            return "sigmoid"
        return self.model_factory().activation or "none"

    def model_factory(self, in_shape: tuple[int, ...] = MNIST_SHAPE, classes: int = 10) -> ModelFactory:
        """The factory of ``model`` (an ``InitlabError`` for an unknown family or parameter)."""
        if self.model is None:
            raise InitlabError("this probe runs the classic hidden stack: no model spec")
        return model_factory(self.model, in_shape=in_shape, classes=classes, activation=self.activation)

    def data_name(self) -> str | None:
        """The dataset whose first ``samples`` training examples are the input (``None``: Gaussian)."""
        return None if self.input == "gaussian" else self.input

    def model_seeds(self) -> list[int]:
        return [self.seed + s for s in range(self.seeds)]

    def validate(self) -> None:
        """Raise ``InitlabError`` for the first bad setting (data files are not touched)."""
        if self.activation is not None:
            get_activation(self.activation)
        if self.model is not None:
            self.model_factory()
        resolve_device(self.device)
        if not self.inits:
            raise InitlabError("probe needs at least one init spec")
        check_labels(self.inits, "--init")
        for name in ("layers", "width", "samples", "seeds", "bins"):
            check_int(getattr(self, name), name)
        seed_streams.check_seed(self.seed, count=self.seeds)
        if self.input_dim is not None:
            check_int(self.input_dim, "input_dim")
        _range(self.hist_range)

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration (``config.json``): the fields, the model seeds and data seeds."""
        d: dict[str, Any] = to_jsonable(self)
        d["activation"] = self.activation_name()
        d["model_seeds"] = self.model_seeds()
        d["data_seed"] = seed_streams.derive(self.seed, "inputs")
        d["cotangent_seed"] = seed_streams.derive(self.seed, "cotangents")
        return d


Config = ProbeConfig


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
    #: the probe of any model (``--model``): the tap's module name (``block.conv#2`` for a second
    #: call), kind, residual role, module type, one model's output shape, its own histogram range
    name: str = ""
    kind: str = "hidden"
    role: str | None = None
    type: str | None = None
    shape: tuple[int, ...] = ()
    signal_std: tuple[float, ...] | None = None
    grad_norm: tuple[float, ...] | None = None
    hist_range: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        """How figures and tables name the layer: ``"3-layer"`` (classic stack) or the module name."""
        return f"{self.layer}-layer" if self.kind == "hidden" else self.name

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
            "name": self.name or str(self.layer),
            "kind": self.kind,
            "role": self.role,
            "type": self.type,
            "shape": list(self.shape),
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
            "signal_std": None if self.signal_std is None else self.summary("signal_std")[0],
            "grad_norm": None if self.grad_norm is None else self.summary("grad_norm")[0],
            "theory_q": None if th is None else th.q,
            "theory_mean": None if th is None else th.mean,
            "theory_std": None if th is None else th.std,
            "theory_preact_std": None if th is None else th.preact_std,
            "theory_grad_std": None if th is None else th.grad_std,
            "theory_weight_grad_std": None if th is None else th.weight_grad_std,
            "theory_grad_norm": None if th is None else th.grad_norm,
            "histogram": {
                "range": None if self.hist_range is None else list(self.hist_range),
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
                "signal_std": None if self.signal_std is None else list(self.signal_std),
                "grad_norm": None if self.grad_norm is None else list(self.grad_norm),
            },
        }


@dataclass(frozen=True)
class SpecProbe:
    """One init spec: its label (as the user wrote it), its layers, and its mean-field state.

    ``mean_field`` describes the hidden-layer map ``(sigma_w^2, sigma_b^2)`` with ``q*`` reached from
    the first layer's variance; ``None`` (like every layer's ``theory``) where the theory does not
    apply, and ``theory_note`` then says why. ``theory_exact`` is False for orthogonal weights
    (approximate in wide layers). ``hist_range`` is ``None`` when every layer has its own
    (``--model``: :attr:`LayerProbe.hist_range`).
    """

    label: str
    spec: str
    text: str
    seeds: tuple[int, ...]
    hist_range: tuple[float, float] | None
    bins: int
    layers: tuple[LayerProbe, ...]
    mean_field: theory.MeanField | None
    theory_exact: bool | None
    theory_note: str | None = None

    @property
    def edges(self) -> list[float] | None:
        """The ``bins + 1`` histogram bin edges (``None`` when every layer has its own range)."""
        if self.hist_range is None:
            return None
        return edges(self.hist_range, self.bins)

    def layer_range(self, i: int) -> tuple[float, float]:
        """The histogram range of layer ``i`` (0-based)."""
        own = self.layers[i].hist_range
        rng = own if own is not None else self.hist_range
        assert rng is not None  # one of the two is always set
        return rng

    def series(self, name: str, where: str | None = None) -> tuple[list[float], list[float], list[float]]:
        """Per layer: the seed mean, min and max of a statistic (for plotting); ``where`` keeps the
        layers of one kind or role (``--model``): ``series("std", "stream")`` is the residual
        stream's std per block, ``series("grad_norm", "stream")`` its gradient norm per block."""
        rows = [
            layer.summary(name) for layer in self.layers if where is None or where in (layer.kind, layer.role)
        ]
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
            "histogram_range": None if self.hist_range is None else list(self.hist_range),
            "bins": self.bins,
            "edges": self.edges,
            "theory_note": self.theory_note,
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
    #: ``--model``: ``{"spec", "family", "activation", "in_shape", "classes", "output_shape",
    #: "residual_blocks"}``; ``None`` for the classic hidden stack
    model: dict[str, Any] | None = None
    device: str = "cpu"

    def config(self) -> dict[str, Any]:
        """The resolved configuration (what a run folder's config.json records)."""
        if self.model is not None:
            return {
                **self._config(),
                "layers": None,
                "width": None,
                "bias": None,
                "model": self.model["spec"],
                "device": self.device,
            }
        return {**self._config(), "model": None, "device": self.device}

    def _config(self) -> dict[str, Any]:
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
            "data_seed": seed_streams.derive(self.seed, "inputs"),
            "bias": self.bias,
            "bins": self.bins,
            "input": self.input,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (non-finite floats are written as null by the run folder)."""
        return {
            "schema": SCHEMA_ID,
            "config": self.config(),
            "model": self.model,
            "device": self.device,
            "input_second_moment": self.input_second_moment,
            "runs": [r.to_dict(self.activation) for r in self.runs],
        }

    @property
    def partial(self) -> bool:
        """Always False: a probe is one forward and backward pass, never stopped half-way."""
        return False

    _FIGURES: ClassVar[tuple[str, ...]] = ("histograms", "summary")

    def figure_names(self) -> list[str]:
        """The names :meth:`figures` draws, in order."""
        return list(self._FIGURES)

    def figures(self) -> dict[str, Any]:
        """``histograms`` and ``summary`` (matplotlib Figures; :mod:`initlab.viz.probe`)."""
        return {name: self.figure(name) for name in self.figure_names()}

    def figure(self, name: str, **options: Any) -> Any:
        """One of :meth:`figures`, by name, with the drawing function's ``options``:

        * ``histograms`` -- the classic layout, one row per spec, one histogram per layer
          (:func:`initlab.viz.probe.histogram_figure`; e.g. ``layers=[1, 5]``);
        * ``summary`` -- std per layer (activations, gradients) for every spec, theory dashed, log
          scale (:func:`initlab.viz.probe.summary_figure`).
        """
        if name not in self._FIGURES:
            raise figure_error("probe", name, self._FIGURES)
        from ..viz import probe as viz

        draw = viz.histogram_figure if name == "histograms" else viz.summary_figure
        return draw(self, **options)

    def table(self) -> list[dict[str, Any]]:
        """One row per spec: the std of the first and last layer's activations (mean over seeds) with
        the theory's last-layer std, the first layer's gradient std (after the backward pass through
        every layer), the largest saturated and dead share over layers, NaN/Inf entries and the
        mean-field regime. What the notebook display shows."""
        rows = []
        for run in self.runs:
            first, last = run.layers[0], run.layers[-1]
            sat = [la.summary("saturated_fraction")[0] for la in run.layers]
            mf = run.mean_field
            rows.append(
                {
                    "label": run.label,
                    "spec": run.spec,
                    "std_first": first.summary("std")[0],
                    "std_last": last.summary("std")[0],
                    "theory_std_last": None if last.theory is None else last.theory.std,
                    "grad_std_first": first.summary("grad_std")[0],
                    "saturated_max": None if first.saturated_fraction is None else max(sat),
                    "dead_max": max(la.summary("dead_fraction")[0] for la in run.layers),
                    "nonfinite": sum(sum(la.nonfinite) + sum(la.grad_nonfinite) for la in run.layers),
                    "regime": None if mf is None else f"{mf.regime} (chi_1 {mf.chi_1:.3g})",
                }
            )
        return rows

    def _repr_html_(self) -> str:
        """Jupyter's display: :meth:`table` and the ``histograms`` figure."""
        last = f"layer {self.depth}"
        columns = ["init", "spec", "std layer 1", f"std {last}", f"theory {last}", "grad std layer 1"]
        columns += ["saturated (max)", "dead (max)", "NaN/Inf", "mean field"]
        rows = [
            [
                r["label"],
                r["spec"],
                r["std_first"],
                r["std_last"],
                r["theory_std_last"],
                r["grad_std_first"],
                html.percent(r["saturated_max"]),
                html.percent(r["dead_max"]),
                r["nonfinite"],
                r["regime"] or "-",
            ]
            for r in self.table()
        ]
        facts = [
            f"{self.activation}, {self.depth} layers x {self.width} units" + (", bias" if self.bias else ""),
            f"{self.samples} inputs ({self.input})",
            f"seeds {', '.join(str(s) for s in self.seeds)}",
        ]
        return card(
            "initlab probe",
            html.table(columns, rows),
            facts=facts,
            figure=(self, "histograms", f"activation histograms per layer, {self.activation}"),
        )


# -- the probe -------------------------------------------------------------------------------------


def edges(hist_range: tuple[float, float], bins: int) -> list[float]:
    """The ``bins + 1`` equal-width bin edges of ``hist_range``."""
    lo, hi = hist_range
    return [lo + (hi - lo) * i / bins for i in range(bins + 1)]


def _range(hist_range: Sequence[float] | None) -> tuple[float, float] | None:
    if hist_range is None:
        return None
    if len(hist_range) != 2:
        raise InitlabError(f"a histogram range is two numbers (lo, hi), got {hist_range!r}")
    lo, hi = float(hist_range[0]), float(hist_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InitlabError(f"a histogram range needs finite lo < hi, got ({lo}, {hi})")
    return lo, hi


def run(
    config: ProbeConfig | None = None,
    *,
    dataset: Dataset | None = None,
    progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
    inputs: Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> ProbeResult:
    """Run the probe of ``config`` (see the module docstring); returns a :class:`ProbeResult`.

    The input is, in this order: ``inputs: (B, D)`` (any tensor; ``config.samples`` is then taken
    from it), the first ``config.samples`` training examples of ``dataset`` or of the dataset
    ``config.input`` names, or ``config.samples`` N(0, 1) vectors of dimension ``config.input_dim``
    (default ``width``). ``should_stop`` is not polled (one pass); ``progress`` gets ``(1, 1)``
    (``progress=True``: a bar, :mod:`initlab.studies.progress`).
    Never raises on NaN/Inf in the network: non-finite values are counted per layer.
    """
    cfg = config if config is not None else ProbeConfig()
    cfg.validate()
    device = resolve_device(cfg.device)
    with progress_bar(progress, "probe") as tick:
        if cfg.model is not None:
            from .probe_models import run_model

            result: ProbeResult = run_model(
                cfg, dataset=dataset, inputs=inputs, dtype=dtype, device=device, progress=tick
            )
        else:
            result = _measure(cfg, dataset, inputs, dtype, device)
            if tick is not None:
                tick(1, 1)
    return result


def _measure(
    cfg: ProbeConfig, dataset: Dataset | None, inputs: Tensor | None, dtype: torch.dtype, device: torch.device
) -> ProbeResult:
    """The pass of :func:`run` on a validated config."""
    act = get_activation(cfg.activation_name())
    specs = [scheme(s) for s in cfg.inits]
    depth, width, n_seeds, bins = cfg.layers, cfg.width, cfg.seeds, cfg.bins
    forced = _range(cfg.hist_range)
    if inputs is None and cfg.data_name() is not None:
        ds = dataset if dataset is not None else load_dataset(cfg.input)
        if cfg.samples > ds.train_x.shape[0]:
            raise InitlabError(
                f"samples={cfg.samples}: {ds.name} has only {ds.train_x.shape[0]} training examples"
            )
        inputs = ds.train_x[: cfg.samples]
    if inputs is None:
        d = width if cfg.input_dim is None else cfg.input_dim
        gen = seed_streams.generator(cfg.seed, "inputs")
        x = torch.randn(cfg.samples, d, generator=gen, dtype=dtype)  # (B, D)
        source = cfg.input
    else:
        if not isinstance(inputs, Tensor) or inputs.dim() != 2 or 0 in inputs.shape:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
            raise InitlabError(f"inputs must be a non-empty (samples, features) tensor, got {shape}")
        x = inputs.detach().to(dtype)  # (B, D)
        source = cfg.input
    x = x.to(device)  # drawn or read on the CPU, then moved: the same input on every device
    b, d = x.shape
    cot = seed_streams.generator(cfg.seed, "cotangents")
    g = torch.randn(b, width, generator=cot, dtype=dtype).to(x.device)  # (B, H)

    seed_list = tuple(cfg.model_seeds())
    stack = initial_stack(cfg, d, dtype=dtype, device=device)

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
            preds, mf, exact = _theory(act, sch, d, width, depth, cfg.bias, x2, b)
            layer_results = []
            for i, a in enumerate(post):
                hist = stats.histograms(a[sl], bins, rng[0], rng[1]) / (b * width)  # (S, bins)
                outside = (
                    (a[sl] < rng[0]).flatten(1).double().mean(1),
                    (a[sl] > rng[1]).flatten(1).double().mean(1),
                )
                pred = None if preds is None else preds[i]
                layer_results.append(_layer_probe(i, (b, width), per_layer[i], sl, hist, outside, pred))
            runs.append(
                SpecProbe(
                    sch.label, sch.spec, sch.text, seed_list, rng, bins, tuple(layer_results), mf, exact
                )
            )
    return ProbeResult(
        act.spec,
        depth,
        width,
        d,
        b,
        cfg.seed,
        seed_list,
        bool(cfg.bias),
        bins,
        source,
        x2,
        tuple(runs),
        device=str(device),
    )


def initial_stack(
    config: ProbeConfig,
    input_dim: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | None = None,
) -> Stack:
    """The probed models before the pass: ``specs x seeds``, spec-major, from the ``weights`` streams."""
    seed_list = config.model_seeds()
    return Stack.from_schemes(
        [input_dim] + [config.width] * config.layers,
        config.activation_name(),
        [sch for sch in config.inits for _ in seed_list],
        seed_streams.weight_seeds([s for _ in config.inits for s in seed_list]),
        bias=config.bias,
        activate_last=True,
        dtype=dtype,
        device=device,
    )


def probe(
    config: ProbeConfig | str | Scheme | Sequence[str | Scheme] | None = None,
    activation: str | Activation | None = None,
    /,
    *,
    dataset: Dataset | str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | bool | None = None,
    download_progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
    inputs: Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    **fields: Any,
) -> ProbeResult:
    """Probe an MLP of ``layers`` hidden layers x ``width`` units under each init spec:
    ``probe(config)``, ``probe(**fields)`` or ``probe(config, **fields)`` (``ProbeConfig``'s fields
    replace the config's), then :func:`run`. The shorthand ``probe(inits, activation, **fields)``
    gives the two most used fields by position; ``inits`` may hold :class:`Scheme` objects and
    ``activation`` may be an :class:`Activation`.

    Defaults are the classic study's: 5 layers of 100 units, no bias, 1000 inputs from N(0, 1) of
    dimension ``width``, the four classic inits, one seed. ``model="resnet(depth=8)"`` (any family
    spec or ``PACKAGE.MODULE:FACTORY``) probes that network instead (:mod:`.probe_models`);
    ``device="cuda"`` runs the pass there. ``inputs: (B, D)`` replaces the Gaussian
    input with real data (then ``samples``/``input_dim`` are taken from it, and ``input`` names it,
    default ``"tensor"``). ``hist_range`` forces one histogram range for every spec (else
    :func:`auto_range` per spec). ``dataset`` (a loaded :class:`~initlab.data.Dataset` or a name)
    is the data of an ``input`` that names a dataset, loaded from ``data_dir`` if not given.

    >>> r = probe(["Xavier: lecun_normal"], "tanh", width=500, samples=200)
    >>> last = r.runs[0].layers[-1].to_dict()
    >>> round(last["std"], 3), round(last["theory_std"], 3)   # measured, mean-field
    (0.322, 0.322)
    """
    base = config if isinstance(config, ProbeConfig) else None
    if config is not None and base is None:
        fields = {**fields, "inits": config}
    if activation is not None:
        fields = {**fields, "activation": activation}
    if "inits" in fields:
        inits = fields["inits"]
        inits = [inits] if isinstance(inits, str | Scheme) else list(inits)
        fields["inits"] = tuple(s.text if isinstance(s, Scheme) else s for s in inits)
    if isinstance(fields.get("activation"), Activation):
        fields["activation"] = fields["activation"].spec
    if fields.get("hist_range") is not None:
        fields["hist_range"] = _range(fields["hist_range"])
    if isinstance(dataset, str):
        fields, dataset = {**fields, "input": dataset}, None
    if inputs is not None:
        if not isinstance(inputs, Tensor) or inputs.dim() != 2 or 0 in inputs.shape:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
            raise InitlabError(f"inputs must be a non-empty (samples, features) tensor, got {shape}")
        for name in ("samples", "input_dim"):
            given, actual = fields.get(name), inputs.shape[0 if name == "samples" else 1]
            if given is not None and given != actual:
                raise InitlabError(f"{name}={given} disagrees with inputs of shape {tuple(inputs.shape)}")
        fields = {**fields, "samples": inputs.shape[0], "input_dim": None}
        if "input" not in fields and (base is None or base.input == "gaussian"):
            fields["input"] = "tensor"
    cfg = configure(ProbeConfig, base, fields, "probe")
    cfg.validate()
    data = None if inputs is not None else dataset_for(cfg, dataset, data_dir, download_progress)
    return run(cfg, dataset=data, progress=progress, should_stop=should_stop, inputs=inputs, dtype=dtype)


def _floats(t: Tensor | None, sl: slice) -> tuple[float, ...]:
    assert t is not None  # only called for statistics that are always present
    return tuple(float(v) for v in t[sl])


def _layer_probe(
    i: int,
    shape: tuple[int, int],
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
        width=shape[1],
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
        name=str(i + 1),
        shape=shape,
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
