"""Residual-aware auto init: after each layer got its scheme, the residual marks decide one more rule.

A model with residual marks (:func:`initlab.schemes.branches`: the families' and any user model that
sets ``initlab_residual = True`` on the last Linear/Conv of each branch) gets, after ``auto``'s
per-layer draw:

* **in transformer blocks** (a marked block holding more than one branch: attention and MLP) --
  GPT-2's depth scaling: every residual-output layer's weights times ``1/sqrt(n)``, ``n`` the number
  of residual outputs in such blocks (Radford et al. 2019): the stream's variance grows by ``1 + 1/n``
  per branch instead of doubling;
* **every other branch** (ResNet-like; a hybrid model gets both rules) -- zero-residual: each
  branch's marked norm gain is set to 0 when it has one (Goyal et al. 2017; torchvision's
  ``zero_init_residual``), else the branch's last layer's weights: every block starts as the identity
  and the stream stays flat (Zhang et al. 2019; De & Smith 2020).

A model without marks (a torchvision ResNet, a timm ViT, a Hugging Face transformer) gets the marks
its recognised blocks imply (:func:`initlab.schemes.recognised`; the rules in
:mod:`initlab.schemes._infer`), and the note says so: which classes were recognised as which kind of
block (``blocks recognised by structure: 16 x torchvision.models.resnet.Bottleneck (ResNet
bottleneck: conv3 ends the branch, bn3 its last norm)``). Post-LN blocks (BERT: the norm is applied
to ``x + f(x)``) get the same depth scaling; the note says what it does there: the norm already
renormalises the stream after every add, so the forward signal cannot grow, and the scaling keeps
each layer nearer ``LN(x)``, the identity on a normalised stream (Wang et al. 2022, DeepNet, scale
post-LN branches down for the same reason).

A residual output ``auto`` kept (its scale stands out: Hugging Face's GPT-2 already draws its
``c_proj`` with GPT-2's own ``0.02 / sqrt(2 n_layer)``) is left as the model set it.

Scaling the drawn values is the same as drawing from the scaled law with the same generator, so the
layers keep their places in the random stream. The plan's steps and records say what changed, and its
note names the rule.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..core.spec import format_value
from ..schemes import ParamInit, Recognised, branches, recognised

if TYPE_CHECKING:
    from ._autoinit import AutoInitPlan


def _weight(model: nn.Module, name: str) -> torch.Tensor:
    w = model.get_submodule(name).weight
    assert isinstance(w, torch.Tensor)  # a marked branch output is a Linear/ConvNd
    return w


def _record(name: str, t: torch.Tensor, spec: str, std: float) -> ParamInit:
    emp = float(t.detach().double().std(unbiased=False)) if t.numel() > 1 else 0.0
    return ParamInit(name, tuple(t.shape), None, None, spec, std, emp)


def residual_aware(model: nn.Module, plan: AutoInitPlan) -> AutoInitPlan:
    """Apply the residual rule (module doc) to a model ``auto`` just initialised; return the new plan."""
    found = branches(model)
    if not found:
        return plan
    steps = {s.layer: s for s in plan.steps}
    records = {r.name: r for r in plan.records}
    extra: list[ParamInit] = []
    blocks = [b.block for b in found if b.block is not None]
    several = {b for b in blocks if blocks.count(b) > 1}  # transformer blocks: attention and MLP
    scaled = [br for br in found if br.block in several]
    zeroed = [br for br in found if br.block not in several]
    notes: list[str] = []
    with torch.no_grad():
        if scaled:
            n = len(scaled)
            factor = 1.0 / math.sqrt(n)
            for br in scaled:
                if br.output not in steps or steps[br.output].kept:  # a scale the model set: left
                    continue
                w = _weight(model, br.output)
                w.mul_(factor)
                step = steps[br.output]
                spec = f"depth_scaled(base={format_value(step.scheme)}, n={n})"
                why = f"{step.reason}; a residual output: times 1/sqrt({n}) (GPT-2 depth scaling)"
                steps[br.output] = dataclasses.replace(step, scheme=spec, reason=why)
                key = f"{br.output}.weight"
                records[key] = dataclasses.replace(
                    records[key], scheme=spec, std=records[key].std * factor, empirical_std=_emp(w)
                )
            notes.append(f"{n} residual outputs in transformer blocks scaled by 1/sqrt({n}) (GPT-2)")
        for br in zeroed:
            norm = model.get_submodule(br.norm) if br.norm is not None else None
            gain = getattr(norm, "weight", None)
            if isinstance(gain, torch.Tensor):
                gain.zero_()
                extra.append(_record(f"{br.norm}.weight", gain, "zeros", 0.0))
                if br.output in steps and not steps[br.output].kept:
                    step = steps[br.output]
                    why = f"{step.reason}; its branch's norm gain {br.norm}.weight set to 0 (zero-residual)"
                    steps[br.output] = dataclasses.replace(step, reason=why)
            elif br.output in steps and not steps[br.output].kept:
                w = _weight(model, br.output)
                w.zero_()
                step = steps[br.output]
                why = f"last layer of a residual branch: zero (zero-residual; auto chose {step.scheme})"
                steps[br.output] = dataclasses.replace(step, scheme="zeros", reason=why)
                key = f"{br.output}.weight"
                records[key] = dataclasses.replace(records[key], scheme="zeros", std=0.0, empirical_std=0.0)
        if zeroed:
            notes.append(
                f"{len(zeroed)} residual branches start at zero (zero-residual, Goyal et al. "
                f"2017): every block is the identity at initialization"
            )
    note = "; ".join(notes)
    seen = recognised(model)
    note = f"{describe(seen)}; {note}" if seen else f"residual marks: {note}"
    new_note = f"{plan.note}; {note}" if plan.note else note
    return dataclasses.replace(
        plan,
        steps=[steps[s.layer] for s in plan.steps],
        records=[records[r.name] for r in plan.records] + extra,
        note=new_note,
    )


def describe(found: list[Recognised]) -> str:
    """One line naming the recognised blocks, grouped by class: what was inferred, for the plan's note."""
    groups: dict[tuple[str, str], int] = {}
    for r in found:
        groups[(r.cls, r.what)] = groups.get((r.cls, r.what), 0) + 1
    parts = [f"{n} x {cls} ({what})" for (cls, what), n in groups.items()]
    text = "no residual marks; blocks recognised by structure: " + ", ".join(parts)
    if any(r.post_norm for r in found):
        text += (
            " (post-LN: the norm after each add already renormalises the stream; the scaling keeps "
            "each layer nearer LN(x), the identity on a normalised stream)"
        )
    return text


def _emp(t: torch.Tensor) -> float:
    return float(t.detach().double().std(unbiased=False)) if t.numel() > 1 else 0.0
