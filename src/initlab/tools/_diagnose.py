"""``diagnose(model, ...)``: one forward and one backward pass, per-layer statistics and findings.

The backward pass needs a loss: initlab injects a unit-variance Gaussian cotangent ``g`` (drawn from
``generator`` after the input, on the generator's device and moved to the output's, so a model on a
GPU sees the numbers it would see on the CPU) on every floating-point output that requires grad, i.e. the loss
``sum(output * g)``; the gradient w.r.t. the output is then ``g`` itself (std 1), and each layer's
gradient std says how that unit signal is carried back. Gradients are computed with
``torch.autograd.grad``, so the model's ``.grad`` fields are untouched; buffers (BatchNorm running
statistics) are restored afterwards. The model runs in its current mode (``train()`` or ``eval()``).

Besides the leaf modules, the outputs of the main path's blocks are recorded (:mod:`._mainpath`), and
every weight that is exactly 0 is classified (a head, a normalisation scale or a layer inside a
block: a deliberate zero) -- the findings judge depth along that path and report deliberate zeros
as such (:mod:`._findings`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ..core import html
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..measure import Call, Recorder, frozen_buffers
from ..schemes import WEIGHTED
from ._findings import Depth, Finding, Role, depth, findings
from ._mainpath import BlockRecorder, Point, blocks

#: Normalisation layers whose zero scale inside a block is a deliberate zero (by type, or by name).
NORMS: tuple[type[nn.Module], ...] = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


@dataclass(frozen=True)
class LayerStats:
    """One call of one module (fields: :mod:`initlab.measure.hooks`; the weight's gradient std too).

    ``grad_std``/``grad_norm`` are w.r.t. the output (per entry / per sample); ``weight_grad_std`` is
    the std of the gradient w.r.t. the module's weight (summed over its calls, so equal for each).
    """

    name: str
    module: str
    call: int
    type: str
    weighted: bool
    shape: tuple[int, ...]
    units: int
    mean: float
    std: float
    signal_std: float | None
    zero_fraction: float
    dead_fraction: float
    saturated_fraction: float | None
    nonfinite: int
    grad_std: float | None
    grad_norm: float | None
    grad_nonfinite: int | None
    weight_grad_std: float | None
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass(frozen=True)
class Diagnosis:
    """Per-layer statistics (``layers``, in call order), ``findings``, and how the pass was run."""

    layers: list[LayerStats]
    findings: list[Finding]
    input_shape: tuple[int, ...]
    training: bool
    backward: bool
    path: list[Point] = dataclasses.field(default_factory=list)  #: block outputs of the main path
    zeros: dict[str, Role] = dataclasses.field(default_factory=dict)  #: deliberate zero weights

    @property
    def kinds(self) -> set[str]:
        """The kinds of finding raised (``vanishing``, ``exploding``, ``dead``, ``saturated``, ...)."""
        return {f.kind for f in self.findings}

    def flagged(self, kind: str, direction: str | None = None) -> bool:
        """Whether a finding of ``kind`` (optionally in ``direction``) was raised."""
        return any(f.kind == kind and direction in (None, f.direction) for f in self.findings)

    def layer(self, name: str) -> LayerStats:
        """The record called ``name`` (``block.relu#2`` for a module's second call)."""
        for la in self.layers:
            if la.name == name:
                return la
        raise InitlabError(f"no layer {name!r} in the diagnosis; layers: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [la.name for la in self.layers]

    def depth(self, direction: str = "forward") -> Depth | None:
        """The profile along the main path (see :mod:`initlab.tools._findings`)."""
        way: Literal["forward", "backward"] = "backward" if direction == "backward" else "forward"
        return depth(self.layers, way, self.path, self.zeros)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input_shape": list(self.input_shape),
            "training": self.training,
            "backward": self.backward,
        }
        for direction in ("forward", "backward"):
            d = self.depth(direction)
            out[f"{direction}_ratio"] = None if d is None else d.ratio
            out[f"{direction}_per_layer"] = None if d is None else d.per_layer
            out[f"{direction}_depth"] = None if d is None else d.to_dict()
        out["path"] = [to_jsonable(p) for p in self.path]
        out["zeros"] = dict(self.zeros)
        out["findings"] = [f.to_dict() for f in self.findings]
        out["layers"] = [la.to_dict() for la in self.layers]
        return out

    def _repr_html_(self) -> str:
        """Jupyter's display: the findings and the per-layer table (:mod:`initlab.core.html`)."""
        return str(html.card("initlab diagnosis", *self.html_parts(), facts=self.html_facts()))

    def html_facts(self) -> list[str]:
        """The display's line of facts: input, mode, forward and backward depth ratios."""
        facts = [f"input {tuple(self.input_shape)}", "train mode" if self.training else "eval mode"]
        for direction in ("forward", "backward"):
            d = self.depth(direction)
            if d is not None:
                facts.append(f"{direction} ratio {html.number(d.ratio, 3)} ({d.first} -> {d.last})")
        return facts

    def html_parts(self) -> list[html.Markup]:
        """The display's body: the findings (or that there are none) and one row per layer call."""
        found = (
            html.bullets(f.message for f in self.findings)
            if self.findings
            else html.paragraph("No findings: no vanishing, exploding, dead, saturated or non-finite layer.")
        )
        rows = [
            [
                la.name,
                la.type,
                "x".join(str(d) for d in la.shape),
                la.mean,
                la.std,
                la.signal_std,
                html.percent(la.dead_fraction),
                html.percent(la.saturated_fraction),
                la.nonfinite,
                la.grad_norm,
                ", ".join(la.flags),
            ]
            for la in self.layers
        ]
        columns = ["layer", "type", "output", "mean", "std", "signal std", "dead", "saturated"]
        columns += ["non-finite", "grad norm", "flags"]
        return [found, html.table(columns, rows)]


def _as_inputs(
    model: nn.Module,
    inputs: Tensor | Sequence[Tensor] | None,
    input_shape: Sequence[int] | None,
    batch_size: int,
    generator: torch.Generator | None,
) -> list[Tensor]:
    if (inputs is None) == (input_shape is None):
        raise InitlabError("diagnose needs either inputs (a batch) or input_shape (one sample's shape)")
    if inputs is not None:
        xs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not xs or not all(isinstance(x, Tensor) for x in xs):
            raise InitlabError("diagnose inputs must be a tensor or a sequence of tensors")
        empty = [tuple(x.shape) for x in xs if x.numel() == 0]
        if empty:
            raise InitlabError(
                f"diagnose got an empty batch: input of shape {empty[0]} holds no values, and statistics "
                f"over no inputs mean nothing"
            )
        return [x.detach().requires_grad_(True) if x.is_floating_point() else x for x in xs]
    shape = tuple(int(d) for d in input_shape or ())
    if any(d <= 0 for d in shape) or batch_size <= 0:
        raise InitlabError(f"input_shape {shape} and batch_size {batch_size} must be positive")
    ref = next(model.parameters(), None)
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    device = ref.device if ref is not None else torch.device("cpu")
    x = _gaussian((batch_size, *shape), generator, dtype, device)
    return [x.requires_grad_(True)]


def _gaussian(
    shape: tuple[int, ...], generator: torch.Generator | None, dtype: torch.dtype, device: torch.device
) -> Tensor:
    """N(0, 1) drawn on the generator's device (the CPU for the seed streams), then moved to
    ``device``: the same numbers on every device (a CPU generator cannot draw on a GPU)."""
    where = generator.device if generator is not None else torch.device("cpu")
    return torch.randn(shape, generator=generator, dtype=dtype, device=where).to(device)


def _tensors(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    items = out.values() if isinstance(out, dict) else out if isinstance(out, list | tuple) else ()
    return [t for item in items for t in _tensors(item)]


def _outputs(out: Any) -> list[Tensor]:
    return [t for t in _tensors(out) if t.is_floating_point() and t.requires_grad]


def _no_backward(model: nn.Module, out: Any) -> Finding:
    """Why no output could carry the backward pass."""
    ts = _tensors(out)
    name = type(model).__name__
    if not ts:
        why = f"the output of {name} ({type(out).__name__}) holds no tensor"
    elif not any(t.is_floating_point() for t in ts):
        dtypes = ", ".join(sorted({str(t.dtype) for t in ts}))
        why = f"the output of {name} is not floating point ({dtypes}), so it has no gradient"
    else:
        why = f"no output of {name} requires grad (frozen parameters, or computed under no_grad)"
    msg = f"no backward pass: {why}; the gradient statistics are missing"
    return Finding("no_backward", "backward", msg)


def _nonfinite_parameters(model: nn.Module) -> Finding | None:
    """NaN/Inf entries in the model's parameters, counted per parameter."""
    bad: list[tuple[str, int, int]] = []  # (name, non-finite entries, entries)
    for pname, p in model.named_parameters():
        if p.is_floating_point() and p.device.type != "meta":
            n = int((~torch.isfinite(p.detach())).sum())
            if n:
                bad.append((pname, n, p.numel()))
    if not bad:
        return None
    parts = ", ".join(f"{n} ({k} of {total} entries)" for n, k, total in bad)
    msg = f"non-finite parameters: NaN/Inf in {len(bad)} parameter(s): {parts}"
    owners = tuple(dict.fromkeys(n.rpartition(".")[0] or "(model)" for n, _, _ in bad))
    return Finding("nonfinite", "forward", msg, owners)


def diagnose(
    model: nn.Module,
    inputs: Tensor | Sequence[Tensor] | None = None,
    *,
    input_shape: Sequence[int] | None = None,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
    containers: bool = False,
) -> Diagnosis:
    """Run ``model`` once forward and once backward; record every leaf module's output and gradient.

    Pass a real batch as ``inputs`` (a tensor, or a sequence of tensors for ``model(*inputs)``), or
    ``input_shape`` -- the shape of **one sample** -- for a batch of ``batch_size`` N(0, 1) inputs
    drawn from ``generator``. ``containers=True`` also records container modules' outputs.

    >>> import torch, initlab
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    >>> d = initlab.diagnose(net, input_shape=(8,), generator=torch.Generator().manual_seed(0))
    >>> d.names
    ['0', '1', '2']
    """
    if not isinstance(model, nn.Module):
        raise InitlabError(f"diagnose needs an nn.Module, got {type(model).__name__}")
    meta = [n for n, p in model.named_parameters() if p.device.type == "meta"]
    if meta:
        raise InitlabError(
            f"diagnose cannot run {type(model).__name__}: {meta[0]} is on the meta device and holds no "
            f"values; materialise the model first, e.g. model.to_empty(device='cpu') and init_"
        )
    xs = _as_inputs(model, inputs, input_shape, batch_size, generator)
    shapes = ", ".join(str(tuple(x.shape)) for x in xs)
    weights = {
        name: mod.weight
        for name, mod in model.named_modules()
        if isinstance(getattr(mod, "weight", None), nn.Parameter) and mod.weight.requires_grad
    }
    wgrad: dict[str, float] = {}
    path_blocks = blocks(model)
    with (
        frozen_buffers(model),
        Recorder(model, containers=containers) as rec,
        BlockRecorder(model, path_blocks) as brec,
    ):
        try:
            out = model(*xs)
        except Exception as err:
            raise InitlabError(
                f"the forward pass of {type(model).__name__} failed on input of shape {shapes}: "
                f"{type(err).__name__}: {err}"
            ) from err
        outs = _outputs(out)
        if outs:
            loss = torch.zeros((), dtype=outs[0].dtype, device=outs[0].device)
            for t in outs:  # the cotangent g ~ N(0, 1): loss = sum(output * g)
                g = _gaussian(tuple(t.shape), generator, t.dtype, t.device)
                loss = loss + (t * g).sum()
            params = [p for p in model.parameters() if p.requires_grad]
            wrt = [x for x in xs if x.requires_grad] + params
            try:
                grads = torch.autograd.grad(loss, wrt, allow_unused=True)
            except RuntimeError as err:
                raise InitlabError(f"the backward pass of {type(model).__name__} failed: {err}") from err
            by_param = {id(p): g for p, g in zip(params, grads[len(wrt) - len(params) :], strict=True)}
            for name, w in weights.items():
                wg = by_param.get(id(w))
                if wg is not None:  # NaN for a zero-size weight: no entries, no std
                    wgrad[name] = float(wg.detach().double().std(unbiased=False)) if wg.numel() else math.nan
    layers = _layers(rec.calls, model, wgrad)
    zeros = _deliberate_zeros(model, layers, path_blocks)
    bad = _nonfinite_parameters(model)
    found = ([] if bad is None else [bad]) + findings(layers, brec.points, zeros)
    if not outs:
        found.append(_no_backward(model, out))
    layers = [
        dataclasses.replace(la, flags=tuple(dict.fromkeys(f.kind for f in found if la.name in f.layers)))
        for la in layers
    ]
    return Diagnosis(layers, found, tuple(xs[0].shape), model.training, bool(outs), brec.points, zeros)


def _deliberate_zeros(model: nn.Module, layers: list[LayerStats], path_blocks: list[str]) -> dict[str, Role]:
    """Modules whose weight is exactly 0 by design: the head (the last weighted layer called), a
    normalisation scale or a weighted layer inside a block of the main path."""
    weighted = [la.module for la in layers if la.weighted]
    head = weighted[-1] if weighted else None
    out: dict[str, Role] = {}
    for name, mod in model.named_modules():
        w = getattr(mod, "weight", None)
        if (
            not isinstance(w, Tensor)
            or not w.is_floating_point()
            or w.numel() == 0
            or w.device.type == "meta"
        ):
            continue
        if bool((w.detach() != 0).any()):
            continue
        in_block = any(name.startswith(b + ".") for b in path_blocks)
        if name == head and isinstance(mod, WEIGHTED):
            out[name] = "head"
        elif in_block and (isinstance(mod, NORMS) or "norm" in type(mod).__name__.lower()):
            out[name] = "norm"
        elif in_block and isinstance(mod, WEIGHTED):
            out[name] = "branch"
    return out


def _layers(calls: list[Call], model: nn.Module, wgrad: dict[str, float]) -> list[LayerStats]:
    mods = dict(model.named_modules())
    count: dict[str, int] = {}
    for c in calls:
        count[c.module] = count.get(c.module, 0) + 1
    out = []
    for c in calls:
        raw = "" if c.module == "(model)" else c.module
        out.append(
            LayerStats(
                name=c.module if count[c.module] == 1 else f"{c.module}#{c.call}",
                module=c.module,
                call=c.call,
                type=c.type,
                weighted=isinstance(mods.get(raw), WEIGHTED),
                shape=c.shape,
                units=c.units,
                mean=c.mean,
                std=c.std,
                signal_std=c.signal_std,
                zero_fraction=c.zero_fraction,
                dead_fraction=c.dead_fraction,
                saturated_fraction=c.saturated_fraction,
                nonfinite=c.nonfinite,
                grad_std=c.grad_std,
                grad_norm=c.grad_norm,
                grad_nonfinite=c.grad_nonfinite,
                weight_grad_std=wgrad.get(raw),
            )
        )
    return out
