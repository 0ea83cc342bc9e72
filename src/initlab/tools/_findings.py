"""Plain-language findings from per-layer statistics, with the rules and thresholds stated once, here.

* **The main path.** Vanishing and exploding are judged along the path the signal travels, not
  between two arbitrary layers. Where the model has repeated blocks (:mod:`._mainpath`: a ResNet's
  bottlenecks, a transformer's layers, a Mixer's blocks), the path is the sequence of the block
  outputs -- the residual stream -- so the projections inside a block (a q_proj next to a down_proj)
  and the stem and head outside it do not count. Otherwise (a plain MLP or CNN) it is the sequence of
  weighted-layer calls (``nn.Linear``/``nn.ConvNd``, forward order; their outputs are
  pre-activations, comparable across depth) **without the last one**, the head: a classifier head's
  scale is a design choice (small or zero in ViT and Mixer), not a trend of depth.
* **Vanishing / exploding signal (forward).** Along the path, ``log`` of the signal std is smoothed by
  Tukey's running median of 3 (with his end-point rule), so one odd point (a bottleneck projection, a
  single odd layer) is not a trend, while a change that lasts is kept. The largest *fall* (the
  minimum over earlier point ``i`` and later point ``j`` of ``s_j / s_i``) below ``VANISHING`` (0.1)
  is vanishing, the largest *rise* above ``EXPLODING`` (10) exploding, wherever on the path it
  happens (growth in the middle that later shrinks back is caught, as both). The message names the span and
  the steps that make up most of the change (the largest steps of the smoothed profile, if at most
  4 of them account for 80% of its log; else it is "spread over the span"), and the mean factor per
  step over the span. ``ratio`` is
  the change from the first to the last point (of the smoothed profile).
  The *signal std* is the std across the batch per unit, root-mean-squared over units: the part of
  an output that depends on the input (a per-unit constant such as a bias does not count; in a deep
  ReLU stack with PyTorch's default init the biases hold the plain std near 0.06 while the signal
  itself shrinks about 2.4x per layer).
* **Vanishing / exploding gradient (backward).** The same path walked from the output back, with the
  gradient w.r.t. each point measured by its norm per sample (``grad_norm``; unlike the per-entry
  std, it does not shrink just because a layer is wider or feeds a pooling layer), same rule and
  thresholds. A gradient that is exactly 0 counts as a fall to 0 -- except below a zero-initialised
  head, where 0 is the design (then the backward trend is not judged).
* **Deliberate zeros** (kind ``zero_init``). A weight that is exactly 0 everywhere is reported as what
  it is, not as dead units or a vanishing x0, when it is (a) the head, the last weighted layer
  (torchvision's ViT, timm's ViT and Mixer): the output is the bias alone, only the head gets a
  gradient on the first step, and that gradient ``(dL/dy) x^T`` differs per output unit, so one SGD
  step breaks the symmetry; (b) the scale of a normalisation layer inside a block of the main path
  (timm's ResNet ``zero_init_last``, torchvision's ``zero_init_residual``; Goyal et al. 2017): the
  block starts as its skip connection; (c) a weighted layer inside such a block (Fixup, SkipInit):
  same effect. Their outputs (and the all-zero outputs of the modules right after them) are not
  counted as dead. A zero weight anywhere else is not exempt.
* **Dead units.** More than ``DEAD`` (1/2) of a layer's units are exactly 0 for every input.
* **Saturation.** More than ``SATURATED`` (1/4) of a bounded activation's entries (sigmoid, tanh,
  softsign, hardtanh) lie within 1% of the output range from a bound.
* **Non-finite values.** Any NaN/Inf in an output or in a gradient (and, from ``diagnose``, in a
  parameter: counted per parameter).
* **Empty outputs.** A layer whose output has no entries (a zero-size layer such as
  ``nn.Linear(4, 0)``): it carries no signal, and its statistics are NaN, not zero.
* **No backward pass** (from ``diagnose``): no output is a floating-point tensor that requires grad
  (an integer output such as ``argmax``, or frozen parameters), so there are no gradients to measure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..core.io import to_jsonable

VANISHING = 0.1  #: largest fall along the main path below which the signal (or gradient) is vanishing
EXPLODING = 10.0  #: largest rise along the main path above which it is exploding
DEAD = 0.5  #: share of dead units above which a layer is flagged
SATURATED = 0.25  #: share of saturated entries above which a layer is flagged
_LOG_FLOOR = -700.0  #: log of a value that is exactly 0 (e^-700 ~ 1e-304): a fall to 0 stays finite

Kind = Literal[
    "vanishing", "exploding", "dead", "saturated", "nonfinite", "empty", "no_backward", "zero_init"
]
Role = Literal["head", "norm", "branch"]  #: where a deliberate zero weight sits (module docstring)


class LayerLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def module(self) -> str: ...
    @property
    def weighted(self) -> bool: ...
    @property
    def units(self) -> int: ...
    @property
    def std(self) -> float: ...
    @property
    def signal_std(self) -> float | None: ...
    @property
    def dead_fraction(self) -> float: ...
    @property
    def saturated_fraction(self) -> float | None: ...
    @property
    def nonfinite(self) -> int: ...
    @property
    def grad_norm(self) -> float | None: ...
    @property
    def grad_nonfinite(self) -> int | None: ...


class PointLike(Protocol):
    """One point of a block path: the block output's signal std and gradient norm per sample."""

    @property
    def name(self) -> str: ...
    @property
    def signal(self) -> float: ...
    @property
    def grad_norm(self) -> float | None: ...


@dataclass(frozen=True)
class Finding:
    """One flag: its ``kind``, ``direction`` (forward/backward), the layers involved and a message."""

    kind: Kind
    direction: Literal["forward", "backward"]
    message: str
    layers: tuple[str, ...] = ()
    ratio: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


@dataclass(frozen=True)
class Depth:
    """The profile along the main path (module docstring), in the direction walked.

    ``path`` is ``"blocks"`` (block outputs) or ``"layers"`` (weighted layers without the head);
    ``names``/``values`` the points and their raw values (signal std, or gradient norm from the output
    back); ``smoothed`` the log values after the running median; ``fall``/``rise`` the largest fall
    (<= 1) and rise (>= 1) between an earlier and a later point, at the spans ``fall_at``/``rise_at``
    (indices into ``names``); ``ratio`` the smoothed change from the first point to the last.
    """

    path: Literal["blocks", "layers"]
    names: tuple[str, ...]
    values: tuple[float, ...]
    smoothed: tuple[float, ...]
    fall: float
    fall_at: tuple[int, int]
    rise: float
    rise_at: tuple[int, int]

    @property
    def steps(self) -> int:
        return len(self.names) - 1

    @property
    def ratio(self) -> float:
        return math.exp(self.smoothed[-1] - self.smoothed[0])

    @property
    def first(self) -> str:
        return self.names[0]

    @property
    def last(self) -> str:
        return self.names[-1]

    @property
    def start(self) -> float:
        return self.values[0]

    @property
    def end(self) -> float:
        return self.values[-1]

    @property
    def per_layer(self) -> float:
        """The mean factor per step from the first point to the last."""
        return self.ratio ** (1.0 / self.steps) if self.ratio > 0 else 0.0

    def changes(self, span: tuple[int, int], *, share: float = 0.8, most: int = 4) -> list[tuple[str, float]]:
        """The steps inside ``span`` that make up ``share`` of its change (in log), the largest first,
        as ``(point reached, factor)``: at most ``most`` of them, ``[]`` when the change is spread
        wider than that."""
        i, j = span
        total = self.smoothed[j] - self.smoothed[i]
        steps = [(self.smoothed[k] - self.smoothed[k - 1], k) for k in range(i + 1, j + 1)]
        steps = sorted((s for s in steps if s[0] * total > 0), key=lambda s: -abs(s[0]))
        out: list[tuple[str, float]] = []
        acc = 0.0
        for d, k in steps[:most]:
            out.append((self.names[k], math.exp(d)))
            acc += d
            if abs(acc) >= share * abs(total):
                return out
        return []

    def to_dict(self) -> dict[str, Any]:
        """The path, its raw values, fall/rise with their spans, and the overall ratio."""
        return {
            "path": self.path,
            "names": list(self.names),
            "values": to_jsonable(list(self.values)),
            "fall": to_jsonable(self.fall),
            "fall_at": list(self.fall_at),
            "rise": to_jsonable(self.rise),
            "rise_at": list(self.rise_at),
            "ratio": to_jsonable(self.ratio),
        }


def signal(layer: LayerLike) -> float:
    """The forward value of the depth profile: signal std, or the plain std for a batch of one."""
    s = layer.signal_std
    return layer.std if s is None else s


def _median3(a: float, b: float, c: float) -> float:
    return sorted((a, b, c))[1]


def smooth(logs: Sequence[float]) -> list[float]:
    """Tukey's running median of 3 with his end-point rule (``y_0 = med(x_0, y_1, 3 y_1 - 2 y_2)``)."""
    v = list(logs)
    n = len(v)
    if n < 3:
        return v
    u = [v[0], *(_median3(v[k - 1], v[k], v[k + 1]) for k in range(1, n - 1)), v[-1]]
    u[0] = _median3(v[0], u[1], 3 * u[1] - 2 * u[2])
    u[-1] = _median3(v[-1], u[-2], 3 * u[-2] - 2 * u[-3])
    return u


def profile(names: Sequence[str], values: Sequence[float], path: Literal["blocks", "layers"]) -> Depth | None:
    """The :class:`Depth` of one path (``None`` with fewer than 2 points or a non-finite value)."""
    if len(values) < 2 or not all(math.isfinite(v) and v >= 0 for v in values):
        return None
    u = smooth([math.log(v) if v > 0 else _LOG_FLOOR for v in values])
    fall, fall_at, rise, rise_at = 0.0, (0, 0), 0.0, (0, 0)
    lo, hi = 0, 0  # index of the running minimum / maximum so far
    for j in range(1, len(u)):
        if u[j] - u[hi] < fall:
            fall, fall_at = u[j] - u[hi], (hi, j)
        if u[j] - u[lo] > rise:
            rise, rise_at = u[j] - u[lo], (lo, j)
        hi = j if u[j] > u[hi] else hi
        lo = j if u[j] < u[lo] else lo
    return Depth(
        path, tuple(names), tuple(values), tuple(u), math.exp(fall), fall_at, math.exp(rise), rise_at
    )


def depth(
    layers: Sequence[LayerLike],
    direction: Literal["forward", "backward"],
    path: Sequence[PointLike] = (),
    zeros: Mapping[str, Role] | None = None,
) -> Depth | None:
    """The profile along the main path: the block ``path`` when it has 2 points or more, else the
    weighted layers without the head (``None`` with fewer than two, an empty one, or no values)."""
    zero_head = "head" in (zeros or {}).values()
    if len(path) >= 2:
        names = [p.name for p in path]
        if direction == "forward":
            return profile(names, [p.signal for p in path], "blocks")
        grads = [p.grad_norm for p in path]
        if any(g is None for g in grads) or (zero_head and any(g == 0 for g in grads)):
            return None
        return profile(names[::-1], [float(g or 0.0) for g in grads][::-1], "blocks")
    prof = [la for la in layers if la.weighted][:-1]  # the head (the last weighted layer) is not depth
    if len(prof) < 2 or any(la.units == 0 for la in prof):  # no ratio through an empty layer
        return None
    if direction == "forward":
        return profile([la.name for la in prof], [signal(la) for la in prof], "layers")
    lgrads = [la.grad_norm for la in prof]
    if any(g is None for g in lgrads) or (zero_head and any(g == 0 for g in lgrads)):
        return None
    return profile([la.name for la in prof][::-1], [float(g or 0.0) for g in lgrads][::-1], "layers")


def findings(
    layers: Sequence[LayerLike],
    path: Sequence[PointLike] = (),
    zeros: Mapping[str, Role] | None = None,
) -> list[Finding]:
    """All findings for a diagnosed model, most global first.

    ``path``: the block outputs of the main path (:mod:`._mainpath`), if any; ``zeros``: the modules
    whose weight is a deliberate zero, by role (module docstring).
    """
    zeros = dict(zeros or {})
    out: list[Finding] = []
    for direction in ("forward", "backward"):
        d = depth(layers, direction, path, zeros)
        if d is not None and d.fall < VANISHING:
            out.append(_depth_finding(d, direction, "vanishing"))
        if d is not None and d.rise > EXPLODING:
            out.append(_depth_finding(d, direction, "exploding"))
    out.extend(_zero_findings(zeros))
    exempt = _exempt(layers, zeros)
    dead = [la for la in layers if la.dead_fraction > DEAD and la.name not in exempt]
    if dead:
        parts = ", ".join(f"{la.name} ({la.dead_fraction:.0%} of {la.units})" for la in dead[:6])
        more = f" and {len(dead) - 6} more" if len(dead) > 6 else ""
        msg = (
            f"dead units: more than half the units are 0 for every input in {len(dead)} layer(s): "
            f"{parts}{more}"
        )
        out.append(Finding("dead", "forward", msg, tuple(la.name for la in dead)))
    sat = [la for la in layers if la.saturated_fraction is not None and la.saturated_fraction > SATURATED]
    if sat:
        parts = ", ".join(f"{la.name} ({la.saturated_fraction:.0%})" for la in sat[:6])
        more = f" and {len(sat) - 6} more" if len(sat) > 6 else ""
        msg = (
            f"saturation: more than {SATURATED:.0%} of the outputs sit at a bound, where the derivative "
            f"all but vanishes, in {len(sat)} layer(s): {parts}{more}"
        )
        out.append(Finding("saturated", "forward", msg, tuple(la.name for la in sat)))
    out.extend(_nonfinite(layers))
    empty = [la for la in layers if la.units == 0]
    if empty:
        parts = ", ".join(la.name for la in empty[:6])
        more = f" and {len(empty) - 6} more" if len(empty) > 6 else ""
        msg = (
            f"empty outputs: {len(empty)} layer(s) output no entries (0 units): {parts}{more}; they carry "
            f"no signal and their statistics are undefined (NaN)"
        )
        out.append(Finding("empty", "forward", msg, tuple(la.name for la in empty)))
    return out


def _exempt(layers: Sequence[LayerLike], zeros: Mapping[str, Role]) -> set[str]:
    """Records whose zero output is by design: a deliberate zero, and the all-zero outputs right after."""
    out: set[str] = set()
    after = False
    for la in layers:
        if la.module in zeros:
            out.add(la.name)
            after = True
        elif after and not la.weighted and la.dead_fraction >= 1.0:
            out.add(la.name)
        else:
            after = False
    return out


def _names(xs: Sequence[str], most: int = 6) -> str:
    more = f" and {len(xs) - most} more" if len(xs) > most else ""
    return ", ".join(xs[:most]) + more


def _zero_findings(zeros: Mapping[str, Role]) -> list[Finding]:
    out: list[Finding] = []
    head = [n for n, r in zeros.items() if r == "head"]
    if head:
        msg = (
            f"zero-initialised head: {_names(head)}.weight is all zeros (deliberate in torchvision's ViT "
            f"and timm's ViT and Mixer): the output is the bias alone for every input, and on the first "
            f"step only the head gets a gradient (every gradient below it is exactly 0, so the backward "
            f"trend is not judged); the head's gradient (dL/dy) x^T differs per output unit, so one SGD "
            f"step breaks the symmetry and the layers below then train. Not a failure."
        )
        out.append(Finding("zero_init", "forward", msg, tuple(head)))
    norm = [n for n, r in zeros.items() if r == "norm"]
    if norm:
        msg = (
            f"zero-scale normalisation inside residual blocks: {len(norm)} layer(s) have weight 0 "
            f"({_names(norm)}; timm's ResNet zero_init_last, torchvision's zero_init_residual, Goyal "
            f"et al. 2017): each block starts as its skip connection, so the stream passes unchanged "
            f"and its branch gets no gradient on the first step; their zero outputs are by design, "
            f"not dead units."
        )
        out.append(Finding("zero_init", "forward", msg, tuple(norm)))
    branch = [n for n, r in zeros.items() if r == "branch"]
    if branch:
        msg = (
            f"zero-initialised layers inside residual blocks: {_names(branch)} (Fixup, Zhang et al. "
            f"2019; SkipInit, De & Smith 2020): each block starts as its skip connection; their "
            f"outputs are the bias alone by design, not dead units."
        )
        out.append(Finding("zero_init", "forward", msg, tuple(branch)))
    return out


def _depth_finding(
    d: Depth, direction: Literal["forward", "backward"], kind: Literal["vanishing", "exploding"]
) -> Finding:
    vanishing = kind == "vanishing"
    factor, span = (d.fall, d.fall_at) if vanishing else (d.rise, d.rise_at)
    verb = "falls" if vanishing else "grows"
    bound = f"below x{VANISHING:g}" if vanishing else f"above x{EXPLODING:g}"
    where = (
        f"along the main path ({d.steps + 1} block outputs)"
        if d.path == "blocks"
        else f"over {d.steps + 1} weighted layers (the last one, a head, not counted)"
    )
    if direction == "forward":
        what = f"{kind} signal: the signal std {verb}"
    else:
        what = f"{kind} gradient: the gradient norm {verb} (from the output back)"
    i, j = span
    per = factor ** (1.0 / (j - i)) if factor > 0 else 0.0
    steps = d.changes(span)
    at = ", ".join(f"{name} (x{f:.3g})" for name, f in steps)
    at = f"most of it at {at}" if steps else "spread over the span"
    msg = (
        f"{what} {where}: x{factor:.3g} from {math.exp(d.smoothed[i]):.3g} at {d.names[i]} to "
        f"{math.exp(d.smoothed[j]):.3g} at {d.names[j]} (running median of 3), x{per:.3g} per step "
        f"(flagged {bound}); {at}"
    )
    return Finding(kind, direction, msg, (d.names[i], d.names[j]), factor)


def _nonfinite(layers: Sequence[LayerLike]) -> list[Finding]:
    out: list[Finding] = []
    fwd = [la for la in layers if la.nonfinite > 0]
    if fwd:
        msg = (
            f"non-finite values: {fwd[0].nonfinite} NaN/Inf entries first appear at {fwd[0].name}; "
            f"{len(fwd)} layer output(s) affected"
        )
        out.append(Finding("nonfinite", "forward", msg, tuple(la.name for la in fwd)))
    bwd = [la for la in layers if la.grad_nonfinite]
    if bwd:
        msg = (
            f"non-finite gradients: NaN/Inf in the gradient w.r.t. {len(bwd)} layer output(s), "
            f"e.g. {bwd[-1].name}"
        )
        out.append(Finding("nonfinite", "backward", msg, tuple(la.name for la in bwd)))
    return out
