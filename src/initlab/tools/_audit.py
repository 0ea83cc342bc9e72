"""``audit(model)``: which scheme each weight came from, and warnings for known mistakes.

Every weight of :func:`._layers.weight_slots` (Linear, ConvNd, Hugging Face's ``Conv1D`` read
transposed, the q/k/v blocks of ``nn.MultiheadAttention``'s packed ``in_proj_weight`` as
``attn.in_proj_weight[q]`` ..., Embedding without its padding row), then every other parameter whose
name starts with ``weight`` and that has at least 2 dims (the ``weight_ih_l0`` of recurrent layers,
...), is identified by :func:`._identify.identify`. Warnings:

* ``torch_default_relu`` -- at least ``DEEP`` (4) layers keep PyTorch's default
  ``U(+-1/sqrt(fan_in))`` and feed a ReLU (or leaky ReLU) with no normalisation layer in between
  (BatchNorm/LayerNorm/GroupNorm undo the scale, so they are not counted). In theory the
  pre-activation variance is multiplied by ``fan_in Var(w) (1 + a^2) / 2 = 1/6`` per layer
  (``Var(w) = 1/(3 fan_in)``, ReLU halves the second moment). The factor reported is that product
  measured on the model's weights (geometric mean over those layers), and its power over them.
* ``trunc_normal_absolute`` -- the traces of ``torch.nn.init.trunc_normal_``'s *absolute* default
  bounds ``a=-2, b=2`` (:mod:`._identify`, point 2 and 5), and only those: (a) entries at exactly
  +-2.0 far (``CLAMP_SIGMAS`` stds) from the rest -- the clamp of an inverse-CDF draw ``u = +-1``,
  e.g. one entry of -2.0 among timm ViT-S's ``std=0.02`` weights: an outlier weight; or (b) values
  cut at +-2 where an untruncated normal of their std would reach beyond (``trunc_normal_(w,
  std=1)`` or larger): the cut sits at ``+-2 / std`` stds, not the +-2 stds one may have meant. An
  untruncated ``normal_(std=0.02)`` (Hugging Face's BERT/GPT-2/Llama init) is not warned about:
  nothing in its values tells it from a ``trunc_normal_`` whose bounds never bit, and both are fine.
* ``constant_output`` -- the output layer's weight is constant (a zero head: torchvision's ViT,
  timm's ViT/Mixer). Not a symmetry problem: that layer's gradient ``(dL/dy) x^T`` differs per output
  unit (each output has its own error), so one SGD step breaks the symmetry; until then the output is
  the bias alone and no layer below it gets a gradient. The output layer is the last weighted
  module in module order, or the one the trace (:func:`._trace.followers`) finds feeding the output.
* ``constant`` -- a hidden layer's weight is constant (zeros included): all its units compute the
  same function. Their gradients ``delta_i x^T`` (``delta_i = (W_above^T g)_i f'(y_i)``) differ only
  through the weights above: when every weighted layer after it is constant too, the symmetry is
  never broken; otherwise it is broken only slowly, by rank-one steps, and a zero weight in front of
  ReLU passes no gradient at all (``ReLU'(0) = 0``). Not raised for a zero layer that ends a residual
  branch (the model's residual marks, or on a model without any the blocks
  :func:`initlab.schemes.recognised` finds: a torchvision ResNet's ``conv3``, a transformer's output
  projections): that is zero-residual / Fixup, every block the identity at initialisation, and its
  gradient ``(dL/dy) h^T`` differs per unit through ``h``, the branch's hidden activations. Such
  layers are listed in ``Audit.zero_residual``.
* ``nonfinite`` -- a weight holds NaN/Inf entries (counted per weight in ``WeightAudit.nonfinite``).
  Such a weight is not identified: its entry has ``scheme`` ``"non-finite"``, ``kind``
  ``"nonfinite"``, confidence 0, no expected std, and ``std``/``mean`` over its finite entries.
* ``empty`` -- a zero-size weight (``nn.Linear(4, 0)``): nothing to identify; its entry has
  ``scheme`` and ``kind`` ``"empty"``, confidence 0 and NaN statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ..core import html
from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..schemes import WEIGHTED, fans, residual_outputs
from ._identify import abs_sigma, identify_with, moments
from ._layers import Slot, weight_slots
from ._trace import followers

DEEP = 4  #: layers with PyTorch's default in front of ReLU that make a "deep stack"

WarningKind = Literal[
    "torch_default_relu", "trunc_normal_absolute", "constant_output", "constant", "nonfinite", "empty"
]


@dataclass(frozen=True)
class WeightAudit:
    """One weight: the best-fitting ``scheme`` (a spec string), its ``confidence`` and the evidence."""

    name: str
    shape: tuple[int, ...]
    fan_in: int | None
    fan_out: int | None
    scheme: str
    kind: str
    confidence: float
    std: float
    expected_std: float
    mean: float
    kurtosis: float | None
    equivalent: tuple[str, ...]
    runner_up: str | None
    runner_up_share: float | None
    followed_by: str | None
    nonfinite: int = 0
    zero_rows: int = 0  #: whole rows exactly 0, set aside (an embedding's padding row)
    clamped: int = 0  #: entries at exactly +-2 set aside (trunc_normal_'s clamp)
    absolute_bounds: bool = False  #: cut at trunc_normal_'s absolute bounds +-2

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass(frozen=True)
class AuditWarning:
    """A known mistake: ``kind``, a plain-language ``message``, the weights involved, a measured factor."""

    kind: WarningKind
    message: str
    weights: tuple[str, ...]
    factor: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass(frozen=True)
class Audit:
    """Per-weight identifications (``weights``, ``named_parameters`` order) and ``warnings``."""

    weights: list[WeightAudit]
    warnings: list[AuditWarning]
    #: zero weights that end a residual branch (marked or recognised): deliberate, not ``constant``
    zero_residual: tuple[str, ...] = ()

    def of(self, name: str) -> WeightAudit:
        """The entry for parameter ``name`` (e.g. ``"0.weight"``)."""
        for w in self.weights:
            if w.name == name:
                return w
        raise InitlabError(
            f"no weight {name!r} in the audit; weights: {', '.join(w.name for w in self.weights)}"
        )

    def warned(self, kind: str) -> bool:
        return any(w.kind == kind for w in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out

    def _repr_html_(self) -> str:
        """Jupyter's display: the warnings and one row per weight (:mod:`initlab.core.html`)."""
        return str(html.card("initlab audit", *self.html_parts(), facts=[f"{len(self.weights)} weights"]))

    def html_parts(self) -> list[html.Markup]:
        """The display's body: the warnings (or that there are none) and the per-weight table."""
        warned = (
            html.bullets(w.message for w in self.warnings)
            if self.warnings
            else html.paragraph("No warnings.")
        )
        zero = html.paragraph(
            f"Zero residual-branch outputs (zero-residual: their blocks start as the identity): "
            f"{', '.join(self.zero_residual)}."
        )
        rows = [
            [
                w.name,
                "x".join(str(d) for d in w.shape),
                w.scheme,
                html.percent(w.confidence),
                w.std,
                w.expected_std,
                w.followed_by or "-",
            ]
            for w in self.weights
        ]
        columns = ["weight", "shape", "scheme", "confidence", "std", "scheme's std", "followed by"]
        return [warned, *([zero] if self.zero_residual else []), html.table(columns, rows)]


def audit(model: nn.Module | Tensor) -> Audit:
    """For each weight of ``model`` (or one tensor), the scheme its values most plausibly came from.

    >>> import torch, initlab
    >>> layer = torch.nn.Linear(256, 64)
    >>> _ = initlab.init_(layer, "he_uniform", generator=torch.Generator().manual_seed(0))
    >>> initlab.audit(layer).of("weight").scheme
    'he_uniform'
    """
    if isinstance(model, Tensor):
        entry = _entry("tensor", model, None)
        return Audit([entry], _warnings([entry], {}, set()))
    if not isinstance(model, nn.Module):
        raise InitlabError(f"audit needs an nn.Module or a Tensor, got {type(model).__name__}")
    follow = followers(model).layers
    slots: dict[str, list[Slot]] = {}
    for slot in weight_slots(model):
        slots.setdefault(slot.param, []).append(slot)
    entries: list[WeightAudit] = []
    for pname, p in model.named_parameters():
        owner, _, leaf = pname.rpartition(".")
        for slot in slots.get(pname, []):  # oriented (Conv1D transposed), packed q/k/v split, no padding row
            f = follow.get(slot.name)
            name = pname if slot.rows is None else slot.name
            entries.append(_entry(name, slot.values(model), None if f is None else f.spec))
        if pname not in slots and leaf.startswith("weight") and p.dim() >= 2:
            f = follow.get(owner)
            entries.append(_entry(pname, p, None if f is None else f.spec))
    direct = {n: f.negative_slope for n, f in follow.items() if not f.normalized}
    weighted = [n for n, m in model.named_modules() if isinstance(m, WEIGHTED)]
    outputs = {
        n for n, f in follow.items() if f.name == "linear" and ("output" in f.via or "end of" in f.via)
    }
    outputs |= set(weighted[-1:])
    branch_ends = set(residual_outputs(model))
    zero_res = tuple(
        w.name for w in entries if w.kind == "constant" and w.std == 0.0 and _owner(w.name) in branch_ends
    )
    kept = [w for w in entries if w.name not in zero_res]
    return Audit(entries, _warnings(kept, direct, outputs), zero_res)


def _owner(param: str) -> str:
    return param.rpartition(".")[0]


def _entry(name: str, p: Tensor, followed_by: str | None) -> WeightAudit:
    if p.device.type == "meta":
        raise InitlabError(f"audit cannot read {name}: it is on the meta device and holds no values")
    x = p.detach()
    fi, fo = fans(tuple(p.shape)) if p.dim() >= 2 else (None, None)
    mo = moments(x.reshape(-1)) if x.numel() else None
    finite = mo is not None and all(map(math.isfinite, (mo.lo, mo.hi, mo.mean)))  # NaN/Inf spread
    bad = 0 if finite or x.numel() == 0 else int((~torch.isfinite(x)).sum())
    if mo is None or not finite:
        fin = x[torch.isfinite(x)].double()
        return WeightAudit(
            name=name,
            shape=tuple(p.shape),
            fan_in=fi,
            fan_out=fo,
            scheme="non-finite" if bad else "empty",
            kind="nonfinite" if bad else "empty",
            confidence=0.0,
            std=float(fin.std(unbiased=False)) if fin.numel() else math.nan,
            expected_std=math.nan,
            mean=float(fin.mean()) if fin.numel() else math.nan,
            kurtosis=None,
            equivalent=(),
            runner_up=None,
            runner_up_share=None,
            followed_by=followed_by,
            nonfinite=bad,
        )
    ident = identify_with(p, mo)
    runner = ident.runner_up
    return WeightAudit(
        name=name,
        shape=tuple(p.shape),
        fan_in=fi,
        fan_out=fo,
        scheme=ident.spec,
        kind=ident.law.kind,
        confidence=ident.confidence,
        std=mo.std,
        expected_std=ident.law.std,
        mean=mo.mean,
        kurtosis=ident.kurtosis,
        equivalent=ident.equivalent,
        runner_up=None if runner is None else runner[0],
        runner_up_share=None if runner is None else runner[1],
        followed_by=followed_by,
        zero_rows=ident.zero_rows,
        clamped=ident.clamped,
        absolute_bounds=ident.absolute_bounds,
    )


def _warnings(entries: list[WeightAudit], slopes: dict[str, float], outputs: set[str]) -> list[AuditWarning]:
    """``slopes``: the leaky slope after each layer with no normalisation before its nonlinearity;
    ``outputs``: the modules taken for the output layer."""
    out: list[AuditWarning] = []
    relu = [
        w
        for w in entries
        if w.scheme == "torch_default"
        and w.followed_by is not None
        and w.followed_by.startswith(("relu", "leaky"))
        and w.name.rpartition(".")[0] in slopes  # not normalised on the way
    ]
    if len(relu) >= DEEP:
        logs = [
            math.log(w.fan_in * w.std**2 * (1 + slopes.get(w.name.rpartition(".")[0], 0.0) ** 2) / 2)
            for w in relu
            if w.fan_in
        ]
        factor = math.exp(sum(logs) / len(logs))
        msg = (
            f"{len(relu)} layers keep PyTorch's default init U(+-1/sqrt(fan_in)) in front of ReLU: in theory "
            f"the pre-activation variance falls about 6x per layer (Var(w) = 1/(3 fan_in), ReLU halves the "
            f"second moment); measured on these weights (fan_in Var(w) / 2): x{factor:.3g} per layer, "
            f"x{factor ** len(relu):.2g} over the {len(relu)} layers. Use init_(model, 'auto') or he_normal."
        )
        out.append(AuditWarning("torch_default_relu", msg, tuple(w.name for w in relu), factor))
    trunc = [w for w in entries if w.absolute_bounds]
    if trunc:
        found: list[str] = []
        for w in trunc:
            if w.clamped:
                rest = w.expected_std  # the std of the law fitted to the other entries
                far = 2.0 / rest if rest > 0 else math.inf
                found.append(
                    f"{w.name} has {w.clamped} entr{'y' if w.clamped == 1 else 'ies'} at exactly +-2.0, "
                    f"{far:.0f} std from the rest (std {rest:.3g}): the clamp of trunc_normal_'s bounds "
                    f"(its inverse-CDF draw hit u = +-1, erfinv(+-1) = +-inf, clamped to the bound), an "
                    f"outlier weight; the rest is identified as {w.scheme}"
                )
            else:
                sigma = abs_sigma(w.std)
                at = f"+-{2 / sigma:.3g} std of the parent normal (std {sigma:.3g})" if sigma else "+-2"
                found.append(
                    f"{w.name} is cut at +-2 (entries' std {w.std:.3g}, none beyond): the truncation "
                    f"sits at {at}, identified as {w.scheme}"
                )
        msg = (
            f"torch.nn.init.trunc_normal_'s bounds a=-2, b=2 are absolute, not in units of std: "
            f"{'; '.join(found)}. To truncate at +-2 std pass a=-2*std, b=2*std (initlab: "
            f"trunc_normal(std=...), whose bounds are in std units)."
        )
        out.append(AuditWarning("trunc_normal_absolute", msg, tuple(w.name for w in trunc)))
    bad = [w for w in entries if w.nonfinite]
    if bad:
        parts = ", ".join(f"{w.name} ({w.nonfinite} of {math.prod(w.shape)} entries)" for w in bad)
        msg = (
            f"non-finite weights: NaN/Inf in {parts}: every output that depends on them is NaN/Inf; "
            f"re-initialise them (init_) or find where they diverged"
        )
        out.append(AuditWarning("nonfinite", msg, tuple(w.name for w in bad)))
    empty = [w for w in entries if w.kind == "empty"]
    if empty:
        parts = ", ".join(f"{w.name} {w.shape}" for w in empty)
        msg = (
            f"zero-size weights: {parts}: no entries, so no scheme to identify "
            f"(a layer with no inputs or no outputs)"
        )
        out.append(AuditWarning("empty", msg, tuple(w.name for w in empty)))
    const = [w for w in entries if w.kind == "constant"]
    head = [w for w in const if w.name.rpartition(".")[0] in outputs]
    if head:
        parts = ", ".join(f"{w.name} ({w.scheme})" for w in head)
        msg = (
            f"constant output layer: {parts}: not a symmetry problem -- its gradient (dL/dy) x^T differs "
            f"per output unit, so one SGD step breaks the symmetry (a zero head is deliberate in "
            f"torchvision's ViT, timm's ViT and Mixer); until then the output is the bias alone and "
            f"the layers below it get no gradient on the first step"
        )
        out.append(AuditWarning("constant_output", msg, tuple(w.name for w in head)))
    hidden = [w for w in const if w not in head]
    if hidden:
        order = [w.name for w in entries]
        stuck = all(w2.kind == "constant" for w in hidden for w2 in entries[order.index(w.name) + 1 :])
        parts = ", ".join(f"{w.name} ({w.scheme})" for w in hidden)
        why = (
            "and every weight after them is constant too, so every unit also receives the same gradient: "
            "training never breaks the symmetry"
            if stuck
            else "their gradients differ only through the weights above them, so training breaks the "
            "symmetry only slowly (rank-one steps), and a zero weight in front of ReLU passes no "
            "gradient at all (ReLU'(0) = 0)"
        )
        msg = f"constant weights: {parts}: every unit of the layer computes the same function, {why}"
        out.append(AuditWarning("constant", msg, tuple(w.name for w in hidden)))
    return out
