"""The residual stream's predicted std per block, for the probe of a model with residual marks.

From the scheme's laws on the model's marked branches (:func:`initlab.schemes.branches`, the laws
``init_`` would use: :meth:`Scheme.module_laws`, else :meth:`Scheme.law`) and
:mod:`initlab.theory.residual`:

* a branch that starts at zero (zero-residual, Fixup, a SkipInit gate at 0) leaves the stream as it
  is -- **flat**, for any block;
* a pre-activation ResNet block without normalization and with ReLU multiplies the stream's second
  moment by ``k + a^2`` (``a^2 = prod g_i / 2``: **doubling** for He branches);
* a pre-activation block with BatchNorm adds ``v = g_last / 2`` (**linear** growth, De & Smith 2020).

The prediction starts from the measured stream after the first block (second moment ``q_1`` and
mean ``m_1``, pooled over the spec's seeds); ``k`` is the share of the stream a shortcut keeps
(``c_in / c_out`` where it zero-pads new channels), which scales the mean as well, and the predicted
std is ``sqrt(q_l - m_l^2)``. Where no rule applies (a post-activation block or a transformer block
with a non-zero branch, another activation), there is no prediction and the note says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch

from .. import theory
from ..ensemble import ModelFactory
from ..measure import Record
from ..schemes import Branch, Constant, Law, Scheme, branches

FLAT = "residual stream: flat (the branches start at zero)"
DOUBLING = (
    "residual stream: x(k + a^2) per block, a^2 = {a2} (pre-activation blocks, no norm; zero padding counted)"
)
LINEAR = "residual stream: +{v} per block (normalized pre-activation branches, De & Smith 2020)"
NONE = "residual stream: no prediction for {why}"


def _shape(model: torch.nn.Module, name: str) -> tuple[int, ...]:
    w = model.get_submodule(name).weight
    assert isinstance(w, torch.Tensor)  # a marked branch layer is a Linear/ConvNd
    return tuple(w.shape)


def _law(sch: Scheme, special: dict[str, Law], model: torch.nn.Module, name: str) -> Law:
    key = f"{name}.weight"
    return special[key] if key in special else sch.law(_shape(model, name))


def _zero(br: Branch, special: dict[str, Law], laws: list[Law]) -> bool:
    norm = special.get(f"{br.norm}.weight") if br.norm is not None else None
    last = laws[-1]
    return any(isinstance(x, Constant) and x.value == 0.0 and x.mean == 0.0 for x in (norm, last))


def _padding_factors(model: torch.nn.Module, names: set[str], in_shape: tuple[int, ...]) -> dict[str, float]:
    """Per branch conv: the share of its taps inside the input (zero padding), from a meta-device run."""
    factors: dict[str, float] = {}
    hooks = []
    for name in names:
        mod = model.get_submodule(name)
        if isinstance(mod, torch.nn.Conv2d):

            def hook(m: torch.nn.Module, args: tuple[torch.Tensor, ...], name: str = name) -> None:
                conv = m
                assert isinstance(conv, torch.nn.Conv2d)
                f = 1.0
                for axis in (0, 1):
                    pad = conv.padding[axis] if isinstance(conv.padding, tuple) else 0
                    f *= theory.tap_fraction(
                        int(args[0].shape[2 + axis]),
                        conv.kernel_size[axis],
                        conv.stride[axis],
                        int(pad),
                        conv.dilation[axis],
                    )
                factors[name] = f

            hooks.append(mod.register_forward_pre_hook(hook))
    try:
        with torch.device("meta"), torch.no_grad():
            model(torch.empty(1, math.prod(in_shape)))
    finally:
        for h in hooks:
            h.remove()
    return factors


def stream_rule(
    factory: ModelFactory, sch: Scheme, in_shape: tuple[int, ...]
) -> tuple[str, list[float] | None, str]:
    """``(rule, rate, note)``: ``rule`` one of ``flat``, ``multiplicative`` (rate ``a^2``),
    ``additive`` (rate ``v``) or ``none``. Conv gains count the taps inside the input (zero
    padding: a 3x3 conv on 7x7 has 82% of its fan-in), so ``a^2`` is averaged over the blocks."""
    with torch.device("meta"):
        model = factory()
    found = branches(model)
    if not found:
        return "none", None, NONE.format(why="a model without residual marks")
    special = sch.module_laws(model)
    per_branch = [[_law(sch, special, model, n) for n in br.layers] for br in found]
    fan_ins = [[math.prod(_shape(model, n)[1:]) for n in br.layers] for br in found]
    if bool(factory.params.get("gate", False)) or all(
        _zero(br, special, laws) for br, laws in zip(found, per_branch, strict=True)
    ):
        return "flat", [0.0] * len(found), FLAT
    if factory.family != "resnet" or factory.params.get("block") != "preact":
        return "none", None, NONE.format(why="post-activation or transformer blocks with non-zero branches")
    if factory.activation != "relu":
        return "none", None, NONE.format(why=f"activation {factory.activation} (the rule assumes ReLU)")
    normalized = factory.params.get("norm") != "none"
    pads = _padding_factors(model, {n for br in found for n in br.layers}, in_shape)
    rates: list[float] = []
    for br, laws, fans in zip(found, per_branch, fan_ins, strict=True):
        gains = [
            theory.layer_gain(law.std, n, law.mean) * pads.get(name, 1.0)
            for name, law, n in zip(br.layers, laws, fans, strict=True)
        ]
        rates.append(theory.branch_scale2(gains, normalized=normalized))
    shown = f"{min(rates):.3g}" + (f"-{max(rates):.3g}" if max(rates) - min(rates) > 1e-3 else "")
    if normalized:
        return "additive", rates, LINEAR.format(v=shown)
    return "multiplicative", rates, DOUBLING.format(a2=shown)


def stream_prediction(
    rule: str,
    rates: Sequence[float] | None,
    records: Sequence[Record],
    mean: Sequence[float],
    std: Sequence[float],
) -> list[theory.LayerPrediction | None]:
    """Per stream record (in order): the predicted std; ``mean``/``std`` the measured first block's,
    pooled over seeds, are the starting point (module doc)."""
    if rule == "none" or rates is None or len(rates) != len(records) or not records:
        return [None] * len(records)
    q1 = std[0] ** 2 + mean[0] ** 2
    keep = [a.units / b.units for a, b in pairwise(records)]  # zero-padded channels
    scales = list(rates[1:])  # block 1 is measured; blocks 2.. are predicted
    qs = theory.stream_variances(q1, scales, keep=keep, normalized=rule == "additive")
    out: list[theory.LayerPrediction | None] = []
    m = mean[0]
    nan = math.nan
    for i, q in enumerate(qs):
        if i:
            m *= keep[i - 1]
        s = math.sqrt(max(q - m * m, 0.0))
        out.append(theory.LayerPrediction(q=q, mean=m, std=s, grad_std=nan, weight_grad_std=nan))
    return out
