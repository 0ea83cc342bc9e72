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
* ``trunc_normal_absolute`` -- an untruncated normal with std 0.02 (the BERT/ViT/timm convention):
  the signature of ``torch.nn.init.trunc_normal_(w, std=0.02)``, whose default bounds ``a=-2, b=2``
  are absolute (+-100 std), so nothing was truncated. (Harmless if ``normal_(std=0.02)`` was meant.)
* ``constant`` -- all entries of a weight are equal (zeros included): every unit computes the same
  function and gets the same gradient, so the symmetry is never broken.
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

from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ..schemes import fans
from ._identify import SHAPES, identify
from ._layers import Slot, weight_slots
from ._trace import followers

DEEP = 4  #: layers with PyTorch's default in front of ReLU that make a "deep stack"
TRUNC_STD = 0.02  #: the std whose untruncated normal flags trunc_normal_'s absolute bounds

WarningKind = Literal["torch_default_relu", "trunc_normal_absolute", "constant", "nonfinite", "empty"]


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
        return Audit([entry], _warnings([entry], {}))
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
    return Audit(entries, _warnings(entries, direct))


def _entry(name: str, p: Tensor, followed_by: str | None) -> WeightAudit:
    if p.device.type == "meta":
        raise InitlabError(f"audit cannot read {name}: it is on the meta device and holds no values")
    x = p.detach().double()
    fi, fo = fans(tuple(p.shape)) if p.dim() >= 2 else (None, None)
    ok = torch.isfinite(x)
    bad = int((~ok).sum())
    if bad or x.numel() == 0:
        fin = x[ok]
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
    ident = identify(p)
    runner = ident.runner_up
    return WeightAudit(
        name=name,
        shape=tuple(p.shape),
        fan_in=fi,
        fan_out=fo,
        scheme=ident.spec,
        kind=ident.law.kind,
        confidence=ident.confidence,
        std=float(x.std(unbiased=False)) if x.numel() else 0.0,
        expected_std=ident.law.std,
        mean=float(x.mean()) if x.numel() else 0.0,
        kurtosis=ident.kurtosis,
        equivalent=ident.equivalent,
        runner_up=None if runner is None else runner[0],
        runner_up_share=None if runner is None else runner[1],
        followed_by=followed_by,
    )


def _warnings(entries: list[WeightAudit], slopes: dict[str, float]) -> list[AuditWarning]:
    """``slopes``: the leaky slope after each layer with no normalisation before its nonlinearity."""
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
    trunc = [w for w in entries if _untruncated_002(w)]
    if trunc:
        msg = (
            f"{', '.join(w.name for w in trunc)}: untruncated N(0, {TRUNC_STD}^2) values -- the signature of "
            f"torch.nn.init.trunc_normal_(w, std={TRUNC_STD}), whose default bounds a=-2, b=2 are absolute "
            f"(+-{2 / TRUNC_STD:.0f} std), so nothing was truncated. To truncate at +-2 std pass "
            f"a=-{2 * TRUNC_STD:g}, b={2 * TRUNC_STD:g} (initlab: trunc_normal(std={TRUNC_STD:g})); "
            f"ignore this if normal_(std={TRUNC_STD:g}) was meant."
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
    if const:
        parts = ", ".join(f"{w.name} ({w.scheme})" for w in const)
        msg = (
            f"constant weights: {parts}: every unit of the layer computes the same function and receives "
            f"the same gradient, so training never breaks the symmetry"
        )
        out.append(AuditWarning("constant", msg, tuple(w.name for w in const)))
    return out


def _untruncated_002(w: WeightAudit) -> bool:
    if w.kind != "normal" or w.kurtosis is None or w.confidence < 0.5:
        return False
    n = math.prod(w.shape)
    se = SHAPES["normal"].std_se(TRUNC_STD, n)
    return abs(w.std - TRUNC_STD) <= 3 * se and abs(w.mean) <= 3 * w.std / math.sqrt(n)
