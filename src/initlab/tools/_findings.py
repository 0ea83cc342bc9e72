"""Plain-language findings from per-layer statistics, with the thresholds stated once, here.

* **Vanishing / exploding signal (forward).** The *depth profile* is the sequence of weighted-layer
  calls (``nn.Linear``/``nn.ConvNd``, in forward order): their outputs are pre-activations, comparable
  across depth. The ratio ``r`` = signal std of the last / of the first; ``r < VANISHING`` (0.1) is
  vanishing, ``r > EXPLODING`` (10) exploding. Also reported: the per-layer factor ``r^(1/(n-1))``.
  The *signal std* is the std across the batch per unit, root-mean-squared over units: the part of
  an output that depends on the input (a per-unit constant such as a bias does not count; in a deep
  ReLU stack with PyTorch's default init the biases hold the plain std near 0.06 while the signal
  itself shrinks about 2.4x per layer).
* **Vanishing / exploding gradient (backward).** Same profile, the gradient w.r.t. the layer outputs
  measured by its norm per sample (``grad_norm``; unlike the per-entry std, it does not shrink just
  because a layer is wider or feeds a pooling layer): ``r`` = first / last (the input end relative
  to the output end), same thresholds.
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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..core.io import to_jsonable

VANISHING = 0.1  #: depth ratio below which the signal (or gradient) is flagged as vanishing
EXPLODING = 10.0  #: depth ratio above which it is flagged as exploding
DEAD = 0.5  #: share of dead units above which a layer is flagged
SATURATED = 0.25  #: share of saturated entries above which a layer is flagged

Kind = Literal["vanishing", "exploding", "dead", "saturated", "nonfinite", "empty", "no_backward"]


class LayerLike(Protocol):
    @property
    def name(self) -> str: ...
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
    """The depth profile's ratio: ``ratio`` over ``steps`` layer-to-layer steps, first/last layer."""

    ratio: float
    steps: int
    first: str
    last: str
    start: float
    end: float

    @property
    def per_layer(self) -> float:
        return self.ratio ** (1.0 / self.steps) if self.ratio > 0 else 0.0


def signal(layer: LayerLike) -> float:
    """The forward value of the depth profile: signal std, or the plain std for a batch of one."""
    s = layer.signal_std
    return layer.std if s is None else s


def depth(layers: Sequence[LayerLike], direction: Literal["forward", "backward"]) -> Depth | None:
    """The depth ratio of the weighted layers (``None`` with fewer than two, an empty one, or nothing
    to divide by)."""
    prof = [la for la in layers if la.weighted]
    if len(prof) < 2 or any(la.units == 0 for la in prof):  # no ratio through an empty layer
        return None
    if direction == "forward":
        start, end = signal(prof[0]), signal(prof[-1])
        first, last = prof[0].name, prof[-1].name
    else:
        a, b = prof[-1].grad_norm, prof[0].grad_norm
        if a is None or b is None:
            return None
        start, end = a, b
        first, last = prof[-1].name, prof[0].name
    if not (math.isfinite(start) and math.isfinite(end)) or start <= 0:
        return None
    return Depth(end / start, len(prof) - 1, first, last, start, end)


def findings(layers: Sequence[LayerLike]) -> list[Finding]:
    """All findings for a diagnosed model, most global first."""
    out: list[Finding] = []
    for direction in ("forward", "backward"):
        d = depth(layers, direction)
        if d is not None and (d.ratio < VANISHING or d.ratio > EXPLODING):
            out.append(_depth_finding(d, direction))
    dead = [la for la in layers if la.dead_fraction > DEAD]
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


def _depth_finding(d: Depth, direction: Literal["forward", "backward"]) -> Finding:
    kind: Kind = "vanishing" if d.ratio < VANISHING else "exploding"
    verb = "falls" if kind == "vanishing" else "grows"
    bound = f"below x{VANISHING:g}" if kind == "vanishing" else f"above x{EXPLODING:g}"
    if direction == "forward":
        what = f"{kind} signal: the signal std of the layer outputs {verb}"
    else:
        what = f"{kind} gradient: the gradient norm w.r.t. the layer outputs {verb} (from the output back)"
    msg = (
        f"{what} from {d.start:.3g} at {d.first} to {d.end:.3g} at {d.last}: x{d.ratio:.3g} over "
        f"{d.steps + 1} weighted layers, x{d.per_layer:.3g} per layer (flagged {bound})"
    )
    return Finding(kind, direction, msg, (d.first, d.last), d.ratio)


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
