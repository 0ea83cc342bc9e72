"""The symmetry lab's findings, typed: computed once from its results document, rendered by both the
``initlab symmetry`` command and the reproduce report.

:func:`symmetry_facts` is a pure function of ``SymmetryResult.to_dict()`` (JSON ``null`` and NaN
alike for missing numbers); the result stores its output under ``"facts"``, so the report (which
reads results only) and the command quote the same numbers and take the same decisions.

Per case, at the last logged step before any divergence (after it the frozen weights say nothing):

* ``distinct_units`` per hidden layer, and their min/max over layers and logged steps;
* ``hidden_gradients_zero`` / ``output_gradients_zero``: the largest absolute weight-gradient entry
  was exactly 0 at every logged step (no learning signal at all);
* ``layer1_grad_norm_max``: the largest Frobenius norm of layer 1's weight gradient (3 significant
  digits);
* ``final_loss``: the mean of the last ``LOSS_WINDOW`` training losses (the trailing moving average
  of :mod:`initlab.measure.series` at the last iteration; 3 decimals; None once diverged);
* ``learned``: ``final_loss < label_entropy - LEARNED_MARGIN`` (both rounded as quoted), i.e. clearly
  better than predicting the class frequencies.

Every number is stored rounded exactly as it is quoted, and decisions are taken on those values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.io import to_jsonable
from ..measure.series import final_mean

LOSS_WINDOW = 50  #: iterations averaged for a case's final training loss
LEARNED_MARGIN = 0.1  #: a case "learned" when its final loss is this far below the label entropy


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class CaseFacts:
    """What one case did (see the module docstring); ``logged_at`` is None when no step was logged."""

    label: str
    spec: str
    diverged_at: int | None
    logged_at: int | None
    distinct_units: tuple[int, ...]
    distinct_min: int | None
    distinct_max: int | None
    hidden_gradients_zero: bool
    output_gradients_zero: bool
    layer1_grad_norm_max: float | None
    final_loss: float | None
    test_accuracy_pct: float | None
    learned: bool

    @property
    def stuck(self) -> bool:
        """Every hidden layer kept 1 distinct unit at every logged step."""
        return self.distinct_max == 1


@dataclass(frozen=True)
class SymmetryFacts:
    """The findings of one symmetry run; ``to_dict()`` is what ``results.json`` stores as ``facts``."""

    width: int
    hidden_layers: int
    iterations: int
    label_entropy: float
    loss_window: int
    learned_margin: float
    partial: bool
    cases: tuple[CaseFacts, ...]

    @property
    def learned(self) -> list[CaseFacts]:
        return [c for c in self.cases if c.learned]

    @property
    def stuck(self) -> list[CaseFacts]:
        return [c for c in self.cases if c.stuck]

    @property
    def diverged(self) -> list[CaseFacts]:
        return [c for c in self.cases if c.diverged_at is not None]

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (:func:`initlab.core.io.to_jsonable`)."""
        out: dict[str, Any] = to_jsonable(self)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SymmetryFacts:
        cases = tuple(CaseFacts(**{**c, "distinct_units": tuple(c["distinct_units"])}) for c in d["cases"])
        return cls(**{**d, "cases": cases})


def _case(case: Mapping[str, Any], entropy: float) -> CaseFacts:
    its: Sequence[int] = case["iterations"]
    diverged = case["diverged_at"]
    acc = _finite(case["test_accuracy"][-1]) if case["test_accuracy"] else None
    if not its:
        return CaseFacts(
            case["label"], case["spec"], diverged, None, (), None, None, False, False, None, None, None, False
        )
    k = len(its) - 1
    if diverged is not None:
        before = [i for i, it in enumerate(its) if it <= diverged]
        k = before[-1] if before else 0
    rows = [row[: k + 1] for row in case["distinct_units"]]
    peak = max((v for v in case["grad_norm"][0][: k + 1] if _finite(v) is not None), default=0.0)
    final = final_mean(case["train_loss"], LOSS_WINDOW) if diverged is None else None
    final = None if final is None else round(final, 3)
    return CaseFacts(
        label=case["label"],
        spec=case["spec"],
        diverged_at=diverged,
        logged_at=its[k],
        distinct_units=tuple(int(row[-1]) for row in rows),
        distinct_min=min(min(row) for row in rows),
        distinct_max=max(max(row) for row in rows),
        hidden_gradients_zero=all(v == 0 for row in case["grad_max"] for v in row[: k + 1]),
        output_gradients_zero=all(v == 0 for v in case["output_grad_max"][: k + 1]),
        layer1_grad_norm_max=float(f"{peak:.3g}"),
        final_loss=final,
        test_accuracy_pct=None if acc is None else round(100 * acc, 1),
        learned=final is not None and final < entropy - LEARNED_MARGIN,
    )


def symmetry_facts(doc: Mapping[str, Any]) -> SymmetryFacts:
    """The typed findings of a symmetry results document (``SymmetryResult.to_dict()``)."""
    entropy = round(float(doc["label_entropy"]), 3)
    return SymmetryFacts(
        width=doc["widths"][1],
        hidden_layers=len(doc["widths"]) - 2,
        iterations=doc["iterations_done"],
        label_entropy=entropy,
        loss_window=LOSS_WINDOW,
        learned_margin=LEARNED_MARGIN,
        partial=bool(doc.get("partial")),
        cases=tuple(_case(c, entropy) for c in doc["cases"]),
    )


def explain(facts: SymmetryFacts) -> list[str]:
    """One plain sentence per case for the terminal (``initlab symmetry``), from the facts."""
    lines = []
    if facts.partial:
        ran = "1 iteration" if facts.iterations == 1 else f"{facts.iterations} iterations"
        lines.append(
            f"Partial run: stopped after {ran} (interrupted); every number below is from those {ran}."
        )
    width = facts.width
    for c in facts.cases:
        if c.logged_at is None:
            lines.append(f"{c.label}: no step was logged (the run stopped before the first).")
            continue
        units = "; ".join(f"layer {i + 1}: {v} of {width}" for i, v in enumerate(c.distinct_units))
        parts = [f"{c.label}: distinct units at iteration {c.logged_at}: {units}"]
        if c.hidden_gradients_zero:
            parts.append(
                "hidden-layer weight gradients were exactly 0 at every logged step"
                + (
                    " and so were the output weights' (only the output bias learned)"
                    if c.output_gradients_zero
                    else ""
                )
            )
        elif c.stuck:
            parts.append(
                f"gradients were non-zero (layer-1 gradient norm up to {c.layer1_grad_norm_max:.3g}) but "
                "the same for every unit, so each hidden layer stayed at 1 distinct unit at every logged step"
            )
        if c.diverged_at is not None:
            parts.append(f"diverged at iteration {c.diverged_at} (loss or weights non-finite)")
        elif c.final_loss is not None:
            gap = c.final_loss - facts.label_entropy
            parts.append(
                f"final training loss {c.final_loss:.3f} (mean of the last {facts.loss_window} iterations; "
                f"label entropy {facts.label_entropy:.3f}, difference {gap:+.3f})"
            )
        if c.test_accuracy_pct is not None:
            parts.append(f"test accuracy {c.test_accuracy_pct:.1f}%")
        lines.append("; ".join(parts) + ".")
    return lines
