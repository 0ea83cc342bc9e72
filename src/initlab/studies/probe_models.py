"""The probe of any model (``initlab probe --model SPEC``): one forward and backward pass of an ensemble.

``specs x seeds`` copies of the model ``SPEC`` (a family -- ``mlp``, ``cnn``, ``resnet``, ``vit`` --
or ``PACKAGE.MODULE:FACTORY``), model ``m = k * seeds + s`` for spec ``k`` and replicate ``s``, its
weights drawn from the ``weights`` stream of model seed ``seed + s`` (:meth:`Ensemble.from_factory`:
on the CPU, then moved to the device), run as one :class:`~initlab.ensemble.Ensemble` by
:func:`initlab.measure.probe_ensemble`.

* **Input**: ``samples`` N(0, 1) vectors in the shape of an MNIST image (``1 x 28 x 28``, given flat
  as the families take it) from the ``inputs`` stream of ``seed`` -- the mean-field theory's
  Gaussian input, and no data to load -- or, with ``input=mnist`` (any catalogued dataset), the
  first ``samples`` training images, pixels in [0, 1].
* **Backward**: ``L = sum(g * logits)`` with ``g: (samples, classes)`` i.i.d. N(0, 1) from the
  ``cotangents`` stream of ``seed``, shared by every model: a unit-variance cotangent on the logits.
* **Mode**: training mode, as the model is built (BatchNorm normalises with the batch's statistics,
  as at the first training step); the running statistics are left untouched.
* **Layers** are the taps of :mod:`initlab.measure.taps`, in call order: every weighted layer
  (Linear/Conv: the pre-activation), norm, activation, attention, and for models with residual marks
  the residual stream (each block's output) and each branch's output. Histogram ranges are fitted
  per layer and per spec (or forced by ``hist_range``).
* **Theory**: the mean-field map (Poole et al. 2016) describes the hidden layers of a fully connected
  stack, so for the ``mlp`` family each hidden Linear output gets the predicted pre-activation std
  and each hidden activation the predicted mean and std (forward only: the cotangent sits on the
  logits, not on the last hidden layer). For models with residual marks the residual stream gets
  its predicted std and gradient norm per block where a rule applies
  (:mod:`initlab.studies.probe_residual`: flat for branches that start at zero, ``x(1 + a^2)`` per
  pre-activation block without normalization, forwards and backwards; ``+v`` with BatchNorm,
  forwards only). Otherwise the theory is absent, and ``theory_note`` says so.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .. import theory
from ..activations import Activation
from ..activations import activation as get_activation
from ..core import seeds as seed_streams
from ..core.errors import InitlabError
from ..data import Dataset, load_dataset
from ..ensemble import Ensemble, ModelFactory
from ..measure import BACKWARD_STATS, FORWARD_STATS, EnsembleProbe, probe_ensemble
from ..schemes import Scheme, scheme
from .config import Progress
from .probe_residual import stream_theory

NO_THEORY = (
    "mean-field theory (Poole et al. 2016; Schoenholz et al. 2017) describes fully connected stacks; "
    "none is computed for {what}"
)
MLP_THEORY = (
    "forward only: the hidden layers' mean-field map; no gradient prediction (the cotangent is on the logits)"
)


def _input(
    cfg: Any, dataset: Dataset | None, inputs: Tensor | None, dtype: torch.dtype
) -> tuple[Tensor, tuple[int, ...], int]:
    """The flat input ``x: (B, D)`` on the CPU, one sample's shape, and the number of classes."""
    from .probe import MNIST_SHAPE

    if inputs is not None:
        if not isinstance(inputs, Tensor) or inputs.dim() != 2 or 0 in inputs.shape:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
            raise InitlabError(f"inputs must be a non-empty (samples, features) tensor, got {shape}")
        d = int(inputs.shape[1])
        return inputs.detach().to(dtype), MNIST_SHAPE if d == math.prod(MNIST_SHAPE) else (d,), 10
    if cfg.data_name() is not None:
        ds = dataset if dataset is not None else load_dataset(cfg.input)
        if cfg.samples > ds.train_x.shape[0]:
            raise InitlabError(
                f"samples={cfg.samples}: {ds.name} has only {ds.train_x.shape[0]} training examples"
            )
        return ds.train_x[: cfg.samples].to(dtype), (1, *ds.image_shape), ds.n_classes
    gen = seed_streams.generator(cfg.seed, "inputs")
    x = torch.randn(cfg.samples, math.prod(MNIST_SHAPE), generator=gen, dtype=dtype)  # (B, 784)
    return x, MNIST_SHAPE, 10


def _second_moment(x: Tensor) -> float:
    xf = x.double()  # (B, D)
    ok = torch.isfinite(xf)
    return float((torch.where(ok, xf, 0.0) ** 2).sum() / ok.sum()) if bool(ok.any()) else math.nan


def _mlp_theory(
    factory: ModelFactory, act: Activation, sch: Scheme, d: int, x2: float, batch: int
) -> tuple[list[theory.LayerPrediction] | None, theory.MeanField | None, bool | None]:
    """Forward predictions for the ``mlp`` family's hidden layers (``None`` where theory does not apply)."""
    layers, width = int(factory.params["layers"]), int(factory.params["width"])  # type: ignore[arg-type]
    bias = bool(factory.params.get("bias", True))
    if layers < 1:
        return None, None, None
    from .probe import _theory  # the classic stack's theory: the same hidden-layer maps

    return _theory(act, sch, d, width, layers, bias, x2, batch)


def _layer_theory(
    res: EnsembleProbe, preds: list[theory.LayerPrediction] | None
) -> list[theory.LayerPrediction | None]:
    """Per record: the hidden ``l``-th Linear's pre-activation and activation predictions (forward)."""
    out: list[theory.LayerPrediction | None] = [None] * len(res.records)
    if preds is None:
        return out
    weighted = activations = 0
    nan = math.nan
    for i, rec in enumerate(res.records):
        if rec.tap.kind == "weighted":
            if weighted < len(preds):
                q = preds[weighted].q
                out[i] = theory.LayerPrediction(
                    q=q, mean=0.0, std=math.sqrt(q), grad_std=nan, weight_grad_std=nan
                )
            weighted += 1
        elif rec.tap.kind == "activation":
            if activations < len(preds):
                p = preds[activations]
                out[i] = theory.LayerPrediction(
                    q=p.q, mean=p.mean, std=p.std, grad_std=nan, weight_grad_std=nan
                )
            activations += 1
    return out


def estimate_bytes(cfg: Any) -> int:
    """Peak bytes of :func:`run_model`, roughly: every model's outputs of every module three times
    (value, gradient, probe) and its parameters four times (value, gradient, stacking copies),
    measured by running the model once on the ``meta`` device (no memory, no randomness)."""
    from .probe import MNIST_SHAPE

    factory = cfg.model_factory()
    models = len(cfg.inits) * cfg.seeds
    outputs = 0

    def count(mod: torch.nn.Module, args: Any, out: Any) -> None:
        nonlocal outputs
        outputs += out.numel() if isinstance(out, Tensor) else 0

    try:
        with torch.device("meta"):
            model = factory()
            handles = [m.register_forward_hook(count) for m in model.modules()]
            model(torch.empty(cfg.samples, math.prod(MNIST_SHAPE)))
            for h in handles:
                h.remove()
        params = sum(p.numel() for p in model.parameters())
    except Exception:  # a model the meta device cannot run: count its parameters only
        outputs, params = 0, 0
    return int(4 * models * (3 * outputs + 4 * params) + 4 * cfg.samples * math.prod(MNIST_SHAPE))


def run_model(
    cfg: Any,
    *,
    dataset: Dataset | None,
    inputs: Tensor | None,
    dtype: torch.dtype,
    device: torch.device,
    progress: Progress | None,
) -> Any:
    """The probe of ``cfg.model`` (module docstring); returns a :class:`~initlab.studies.ProbeResult`."""
    from .probe import LayerProbe, ProbeResult, SpecProbe, _range

    specs = [scheme(s) for s in cfg.inits]
    n_seeds, bins = cfg.seeds, cfg.bins
    x, in_shape, classes = _input(cfg, dataset, inputs, dtype)
    factory = cfg.model_factory(in_shape, classes)
    seed_list = tuple(cfg.model_seeds())
    ens = Ensemble.from_factory(
        factory,
        [sch for sch in specs for _ in seed_list],
        seed_streams.weight_seeds([s for _ in specs for s in seed_list]),
        dtype=dtype,
        device=device,
    )
    b = x.shape[0]
    x = x.to(device)  # (B, D)
    with torch.no_grad():
        out_shape = tuple(ens(x[:1]).shape[2:])  # one model's output per sample: (classes,)
    cot = seed_streams.generator(cfg.seed, "cotangents")
    g = torch.randn((b, *out_shape), generator=cot, dtype=dtype).to(device)  # (B, classes)
    slices = [slice(k * n_seeds, (k + 1) * n_seeds) for k in range(len(specs))]
    res = probe_ensemble(ens, x, g, bins=bins, groups=slices, hist_range=_range(cfg.hist_range))
    fwd, back = res.forward.cpu(), res.backward.cpu()  # (M, R, F), (M, R, K): one transfer
    hists, ranges = res.histograms.cpu(), res.ranges
    x2 = _second_moment(x)
    x2_feat = (x.detach().double() ** 2).mean(dim=0).cpu()  # (D,): the moment pass's input
    act_name = factory.activation
    blocks = sum(1 for r in res.records if r.tap.role == "stream")

    def col(name: str, sl: slice, k: int) -> tuple[float, ...]:
        """A statistic of record ``k`` for the models ``sl`` (one spec's seeds)."""
        if name in FORWARD_STATS:
            return tuple(float(v) for v in fwd[sl, k, FORWARD_STATS.index(name)])
        return tuple(float(v) for v in back[sl, k, BACKWARD_STATS.index(name)])

    runs = []
    for sch, sl in zip(specs, slices, strict=True):
        preds = mf = exact = None
        if factory.family == "mlp" and act_name is not None:
            preds, mf, exact = _mlp_theory(factory, get_activation(act_name), sch, x.shape[1], x2, b)
        note = None
        if factory.family != "mlp":
            note = NO_THEORY.format(
                what=f"{factory.family} models" if factory.family != "factory" else factory.spec
            )
        elif preds is None:
            note = "mean-field theory does not apply to this scheme"
        else:
            note = MLP_THEORY
        per_record = _layer_theory(res, preds)
        stream_idx = [k for k, rec in enumerate(res.records) if rec.tap.role == "stream"]
        if stream_idx:
            first, last = stream_idx[0], stream_idx[-1]
            mean1 = sum(col("mean", sl, first)) / len(seed_list)
            std1 = math.sqrt(sum(v * v for v in col("std", sl, first)) / len(seed_list))
            grad2 = sum(v * v for v in col("grad_norm", sl, last)) / len(seed_list)
            stream = [res.records[k] for k in stream_idx]
            stream_preds, stream_note = stream_theory(
                factory, sch, in_shape, stream, x2_feat, (mean1, std1), grad2
            )
            for k, pred in zip(stream_idx, stream_preds, strict=True):
                per_record[k] = pred
            note = f"{note}; {stream_note}" if note else stream_note
        layers = []
        for k, rec in enumerate(res.records):
            bounded = all(v is not None for v in rec.tap.bounds)
            layers.append(
                LayerProbe(
                    layer=k + 1,
                    width=rec.units,
                    mean=col("mean", sl, k),
                    std=col("std", sl, k),
                    preact_std=tuple(math.nan for _ in seed_list),
                    saturated_fraction=col("saturated_fraction", sl, k) if bounded else None,
                    zero_fraction=col("zero_fraction", sl, k),
                    dead_fraction=col("dead_fraction", sl, k),
                    nonfinite=tuple(int(v) for v in col("nonfinite", sl, k)),
                    grad_std=col("grad_std", sl, k),
                    grad_nonfinite=tuple(int(v) for v in col("grad_nonfinite", sl, k)),
                    weight_grad_std=col("weight_grad_std", sl, k),
                    histogram=tuple(tuple(float(v) for v in row) for row in hists[sl, k]),
                    below_range=col("below_range", sl, k),
                    above_range=col("above_range", sl, k),
                    theory=per_record[k],
                    name=rec.name,
                    kind=rec.tap.kind,
                    role=rec.tap.role,
                    type=rec.tap.type,
                    shape=rec.shape,
                    signal_std=col("signal_std", sl, k),
                    grad_norm=col("grad_norm", sl, k),
                    hist_range=(float(ranges[sl.start, k, 0]), float(ranges[sl.start, k, 1])),
                )
            )
        runs.append(
            SpecProbe(sch.label, sch.spec, sch.text, seed_list, None, bins, tuple(layers), mf, exact, note)
        )
    if progress is not None:
        progress(1, 1)
    model = {
        "spec": factory.spec,
        "family": factory.family,
        "activation": act_name,
        "in_shape": list(in_shape),
        "classes": classes,
        "output_shape": list(res.logits),
        "parameters": sum(p[0].numel() for p in ens.params.values()),
        "residual_blocks": blocks,
    }
    return ProbeResult(
        act_name or "none",
        len(res.records),
        0,
        int(x.shape[1]),
        b,
        cfg.seed,
        seed_list,
        False,
        bins,
        cfg.input,
        x2,
        tuple(runs),
        model=model,
        device=str(device),
    )
