"""The residual stream's predicted std and gradient norm per block, for the probe of a model with
residual marks.

From the scheme's laws on the model's marked branches (:func:`initlab.schemes.branches`, the laws
``init_`` would use: :meth:`Scheme.module_laws`, else :meth:`Scheme.law`) and
:mod:`initlab.theory.residual`:

* a branch that starts at zero (zero-residual, Fixup, a SkipInit gate at 0) leaves the stream as it
  is -- **flat**, for any block (a shortcut that zero-pads channels scales the second moment by
  ``k``) -- and its gradient too, through the shortcuts as well: the padded channels stay exactly 0,
  a ReLU head sends them no gradient, and the subsample passes the rest whole;
* a pre-activation ResNet block without normalization and with ReLU multiplies the stream's second
  moment by ``k + a^2`` (``a^2 = prod g_i / 2``: **doubling** for He branches) and, going back, the
  squared gradient norm per sample by the same factor (Yang & Schoenholz 2017);
* a pre-activation block with BatchNorm adds ``v = g_last / 2`` (**linear** growth, De & Smith 2020);
  no gradient prediction there (below).

Zero padding makes the border pixels of a conv's output see fewer taps, so the stream's variance
is not uniform over the image and the average tap share (:func:`theory.tap_fraction`) underestimates
the growth on small images (at 7x7 the interior, which keeps all its taps, comes to dominate). The
prediction without normalization is therefore computed exactly in expectation over the weights, per
channel and pixel, by the **moment pass** (:func:`moment_pass`): the model itself run on the
inputs' second moments ``E[x^2]`` with every weight replaced by its law's ``E[w^2]`` (bias:
``E[b^2]``) and every ReLU by a halving -- ``E[(w * x)^2] = sum E[w^2] E[x^2]`` for independent
zero-mean weights, ``E[relu(z)^2] = E[z^2] / 2`` for symmetric ``z``, a shortcut's subsampling and
zero channels act on the moments as they do on the values, and a branch and its shortcut are
uncorrelated. The pass is linear in the moments, and its transpose (one ``autograd`` backward) is
the backward rule: ``E[(W^T g)^2] = sum E[w^2] E[g^2]``, the ReLU mask halving, the shortcut
scattering. For a uniform stream it reduces to ``x(k + a^2)`` per block.

The forward prediction starts from the measured stream after the first block (second moment ``q_1``
and mean ``m_1``, pooled over the spec's seeds): ``q_l = q_1 * Q_l / Q_1`` with ``Q`` the moment
pass's mean second moment per block; ``k``, the share of the stream a shortcut keeps (``c_in /
c_out`` where it zero-pads new channels), scales the mean as well, and the predicted std is
``sqrt(q_l - m_l^2)``. The gradient prediction starts from the measured gradient at the **last**
block (its squared norm per sample ``N_B``, pooled over seeds; the cotangent reaches it through the
head's pooling, uniform over channels and pixels in expectation) and runs backwards:
``N_l = N_B * sum(A_l^T u)`` with ``A_l`` the moment pass from block ``l`` to block ``B`` and ``u``
uniform with sum 1.

With BatchNorm there is no gradient prediction: going back through a branch's norms divides by the
stream's and the branch's own batch variance per channel (without the channels' offsets) and
projects out the batch mean, which the rule does not model; measured (``resnet(depth=20,
width=16, block=preact)``, He, 16 seeds), the gradient grows ~1.5-2.2x per block going back within
a stage while the forward ratio is ~1.2-1.3. Where no rule applies (a post-activation block or a
transformer block with a non-zero branch, another activation), there is no prediction and the
note says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import Tensor, nn

from .. import theory
from ..activations import ActivationModule
from ..ensemble import ModelFactory
from ..measure import Record
from ..schemes import Branch, Constant, Law, Scheme, branches

FLAT = "residual stream: flat (the branches start at zero), its gradient too"
DOUBLING = (
    "residual stream: x(k + a^2) per block, a^2 = {a2} (pre-activation blocks, no norm; zero padding "
    "per pixel); its gradient norm^2 the same per block backwards, from the last block"
)
LINEAR = (
    "residual stream: +{v} per block (normalized pre-activation branches, De & Smith 2020); "
    "no gradient prediction with BatchNorm"
)
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


def moment_pass(factory: ModelFactory, sch: Scheme, x2: Tensor) -> tuple[list[float], list[float]]:
    """``(Q, R)`` per marked block in call order: ``Q_l`` the expected second moment of the stream
    after block ``l`` (mean over channels and pixels) for inputs of second moment ``x2: (D,)``, and
    ``R_l = sum(A_l^T u)`` the expected squared gradient norm at block ``l`` for a gradient at the
    last block of squared norm 1 spread evenly (module doc: the model run on moments, float64, CPU).
    For ReLU models without normalization; scalar multipliers (Fixup's, at 1) act on the moments
    as on the values, which is exact only for 0 and 1."""
    with torch.random.fork_rng(devices=[]):  # building draws torch's default init: leave no trace
        torch.manual_seed(0)
        model = factory().to(device="cpu", dtype=torch.float64)
    special = sch.module_laws(model)
    for name, mod in model.named_modules():
        if isinstance(mod, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            law = _law(sch, special, model, name)
            blaw = special.get(f"{name}.bias", sch.bias_law(tuple(mod.weight.shape)))
            with torch.no_grad():
                mod.weight.fill_(law.std**2 + law.mean**2)  # E[w^2]
                if mod.bias is not None:
                    mod.bias.fill_(0.0 if blaw is None else blaw.std**2 + blaw.mean**2)  # E[b^2]
    for p in model.parameters():
        p.requires_grad_(False)
    halve = [
        m.register_forward_hook(lambda mod, args, out: args[0] * 0.5)  # E[relu(z)^2] = E[z^2] / 2
        for m in model.modules()
        if isinstance(m, (ActivationModule, nn.ReLU))
    ]
    blocks = {br.block for br in branches(model) if br.block is not None}
    outs: list[Tensor] = []

    def keep(mod: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> None:
        outs.append(out)

    taps = [model.get_submodule(b).register_forward_hook(keep) for b in sorted(blocks)]
    try:
        q0 = x2.detach().to(device="cpu", dtype=torch.float64).reshape(1, -1).requires_grad_(True)  # (1, D)
        model(q0)
        if not outs:
            return [], []
        last = outs[-1]  # (1, C, H, W): the moments after the last block
        u = torch.full_like(last, 1.0 / last.numel())  # a uniform gradient moment, sum 1
        back = torch.autograd.grad([last], outs, [u], allow_unused=True)  # A_l^T u per block
    finally:
        for h in halve + taps:
            h.remove()
    qs = [float(o.detach().mean()) for o in outs]
    rs = [float(r.sum()) if r is not None else math.nan for r in back]
    return qs, rs


def stream_prediction(
    rule: str,
    rates: Sequence[float] | None,
    records: Sequence[Record],
    mean: Sequence[float],
    std: Sequence[float],
    *,
    grad2_last: float = math.nan,
    moments: tuple[Sequence[float], Sequence[float]] | None = None,
    dead_padding: bool = False,
) -> list[theory.LayerPrediction | None]:
    """Per stream record (in order): the predicted std and gradient norm. ``mean``/``std`` the
    measured first block's, pooled over seeds, start the stream; ``grad2_last``, the measured last
    block's squared gradient norm per sample pooled over seeds, starts the gradient backwards;
    ``moments`` (:func:`moment_pass`) replace the uniform-stream rule without normalization.
    ``dead_padding``: the channels a shortcut zero-pads get no gradient (a ReLU head passes none
    where the stream is exactly 0), so with zero branches the gradient passes every shortcut whole
    (an injective subsample), ``k = 1`` backwards."""
    if rule == "flat":
        rates = [0.0] * len(records)  # any number of zero branches per block (a transformer has two)
    if rule == "none" or rates is None or len(rates) != len(records) or not records:
        return [None] * len(records)
    q1 = std[0] ** 2 + mean[0] ** 2
    keep = [a.units / b.units for a, b in pairwise(records)]  # zero-padded channels
    scales = list(rates[1:])  # block 1 is measured; blocks 2.. are predicted
    if (
        rule == "multiplicative"
        and moments is not None
        and len(moments[0]) == len(records)
        and moments[0][0] > 0
    ):
        qs = [q1 * q / moments[0][0] for q in moments[0]]
        ns = [grad2_last * r for r in moments[1]]
    else:
        qs = theory.stream_variances(q1, scales, keep=keep, normalized=rule == "additive")
        back_keep = [1.0] * len(keep) if rule == "flat" and dead_padding else keep
        ns = (
            [math.nan] * len(records)
            if rule == "additive" or not math.isfinite(grad2_last)
            else theory.gradient_norms2(grad2_last, scales, keep=back_keep)
        )
    out: list[theory.LayerPrediction | None] = []
    m = mean[0]
    nan = math.nan
    for i, (q, n) in enumerate(zip(qs, ns, strict=True)):
        if i:
            m *= keep[i - 1]
        s = math.sqrt(max(q - m * m, 0.0))
        gn = math.sqrt(n) if n >= 0 else nan
        out.append(
            theory.LayerPrediction(q=q, mean=m, std=s, grad_std=nan, weight_grad_std=nan, grad_norm=gn)
        )
    return out


def stream_theory(
    factory: ModelFactory,
    sch: Scheme,
    in_shape: tuple[int, ...],
    records: Sequence[Record],
    x2: Tensor,
    first: tuple[float, float],
    grad2_last: float,
) -> tuple[list[theory.LayerPrediction | None], str]:
    """The stream records' predictions and the note: ``x2: (D,)`` the inputs' second moment per
    feature, ``first`` the measured (mean, std) after block 1 and ``grad2_last`` the squared gradient
    norm per sample at the last block, both pooled over seeds (module doc)."""
    rule, rates, note = stream_rule(factory, sch, in_shape)
    moments = moment_pass(factory, sch, x2) if rule == "multiplicative" else None
    relu = factory.activation == "relu"  # the families' heads: a ReLU, or none after a ReLU block
    preds = stream_prediction(
        rule,
        rates,
        records,
        [first[0]],
        [first[1]],
        grad2_last=grad2_last,
        moments=moments,
        dead_padding=relu,
    )
    return preds, note
