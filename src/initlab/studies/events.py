"""A study's result as sink records (scalars and histograms by step), for TensorBoard and W&B.

Not a study itself, so not in :data:`initlab.studies.__all__` (whose modules are the studies):
``from initlab.studies.events import records, write``.

:func:`records` turns a finished (or partial) result into :class:`Record` s, each naming the *run*
it belongs to: one run per init spec, case or model, so that TensorBoard draws the runs of one tag
in one chart. :func:`write` hands them to sinks, one per run, from a factory the caller owns (the
CLI's ``--tensorboard DIR`` makes a :class:`~initlab.tools.TensorBoardSink` in ``DIR/<run>``).

* **probe** -- run: the spec's label. The step is the **hidden layer** (1 ... depth; with
  ``--model``, the tap's position, each with its own histogram range), so TensorBoard's
  histogram view shows the activations through depth, as the classic figure does.
  ``activation`` (histogram of the seed-mean shares in the spec's bins, in entries: shares x
  samples x width), scalars ``activation/{mean,std,zero_fraction,dead_fraction,saturated_fraction,
  nonfinite}``, ``preactivation/std``, ``gradient/{std,nonfinite}``, ``weight_gradient/std`` (seed
  means) and ``theory/{std,grad_std}`` where mean-field theory applies.
* **compare** -- run: the spec's label (``label/seed<s>`` with several seeds). The step is the
  number of updates the weights have had (as ``eval_iterations``): ``train/loss`` of every
  iteration's batch (step ``t``: the loss before update ``t + 1``), ``eval/loss`` and
  ``eval/accuracy`` at each evaluation (step 0: the initial weights).
* **symmetry** -- run: the case's label. ``train/loss``, ``eval/accuracy``, and per hidden layer
  ``distinct_units/layer<l>``, ``effective_rank/layer<l>``, ``weight_gradient/norm/layer<l>`` at
  each logged step (steps counted as for compare). Values after a model diverged (``None`` in
  ``results.json``) are left out; a NaN loss is written as NaN.
* **sweep** and **phase** -- run: one per stored model, named by the grid values that vary and its
  seed (``init.w=1.5,init.b=0.05/seed0``). ``train/loss`` of every step for the models this run
  trained (a store keeps no curves), and one *hparams* record (:attr:`Record.hparams`: every grid
  value of the cell, parameters flattened as ``model.layers``, ``init.w``) whose scalars are the final
  ``final/test_accuracy``, ``final/test_loss``, ``final/loss``, ``final/best_loss`` and
  ``final/diverged`` (0 or 1) at step ``iterations_done`` -- TensorBoard's HParams dashboard then
  shows the whole grid as a table, parallel coordinates and scatter plots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import InitlabError
from ..measure import Histogram
from ..tools import Sink
from .compare import CompareConfig, CompareResult
from .phase import PhaseConfig, PhaseDepthResult, PhaseResult
from .probe import ProbeConfig, ProbeResult, SpecProbe, edges
from .sweep import SweepConfig, SweepResult
from .sweep_store import flat
from .symmetry import SymmetryConfig, SymmetryResult

#: The studies whose results :func:`records` knows (their ``Config`` types: the CLI adds ``--tensorboard``).
CONFIGS: tuple[type[Any], ...] = (ProbeConfig, CompareConfig, SymmetryConfig, SweepConfig, PhaseConfig)
#: A sweep row's grid values, written as a model's hyperparameters (with its ``model.*``, ``init.*``).
HPARAM_COLUMNS = ("dataset", "model", "activation", "init", "optimizer", "lr", "iterations", "seed")


@dataclass(frozen=True)
class Record:
    """What one run logs at one step."""

    run: str
    step: int
    scalars: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    #: when given: the run's hyperparameters, and ``scalars`` are its final metrics (a sink's ``hparams``)
    hparams: dict[str, float | str | bool] = field(default_factory=dict)


def records(result: Any) -> Iterator[Record]:
    """The records of a probe, compare, symmetry, sweep or phase result, run by run, in step order."""
    if isinstance(result, ProbeResult):
        yield from _probe(result)
    elif isinstance(result, CompareResult):
        yield from _compare(result)
    elif isinstance(result, SymmetryResult):
        yield from _symmetry(result)
    elif isinstance(result, SweepResult):
        yield from _sweep(result)
    elif isinstance(result, PhaseResult | PhaseDepthResult):
        yield from _sweep(result.sweep)
    else:
        raise InitlabError(
            f"no sink records for a {type(result).__name__}; known: probe, compare, symmetry, sweep, phase"
        )


def write(result: Any, sink_for: Callable[[str], Sink]) -> list[str]:
    """Write ``result``'s records, each run to ``sink_for(run)`` (called once per run, then closed);
    returns the runs in order."""
    sinks: dict[str, Sink] = {}
    try:
        for rec in records(result):
            if rec.run not in sinks:
                sinks[rec.run] = sink_for(rec.run)
            sink = sinks[rec.run]
            hparams = getattr(sink, "hparams", None)  # TensorBoardSink has it; others get the scalars
            if rec.hparams and hparams is not None:
                hparams(rec.step, rec.hparams, rec.scalars)
            else:
                sink.write(rec.step, rec.scalars, rec.histograms)
    finally:
        for s in sinks.values():
            s.close()
    return list(sinks)


def _mean(values: tuple[float, ...] | tuple[int, ...] | None) -> float | None:
    if values is None or not values:
        return None
    return math.fsum(values) / len(values)


def _probe_histogram(
    run: SpecProbe, i: int, shares: list[float], entries: int, mean: float, std: float
) -> Histogram:
    """A histogram of layer ``i`` (0-based) from its bin shares (``entries`` values per seed)."""
    counts = tuple(s * entries for s in shares)
    num = round(math.fsum(counts))
    lo, hi = run.layer_range(i)
    return Histogram(
        edges=tuple(edges(run.layer_range(i), run.bins)),
        counts=counts,
        num=num,
        min=lo,  # values outside the range are counted in the end bins
        max=hi,
        sum=mean * num,
        sum_squares=(std * std + mean * mean) * num,
        nonfinite=entries - num,
    )


def _probe(result: ProbeResult) -> Iterator[Record]:
    for run in result.runs:
        for i, la in enumerate(run.layers):
            # values per seed: one model's output (--model), else samples x width
            entries = math.prod(la.shape) if la.shape else result.samples * la.width
            scalars: dict[str, float | None] = {
                "activation/mean": _mean(la.mean),
                "activation/std": _mean(la.std),
                "activation/zero_fraction": _mean(la.zero_fraction),
                "activation/dead_fraction": _mean(la.dead_fraction),
                "activation/saturated_fraction": _mean(la.saturated_fraction),
                "activation/nonfinite": _mean(la.nonfinite),
                "preactivation/std": _mean(la.preact_std),
                "gradient/std": _mean(la.grad_std),
                "gradient/nonfinite": _mean(la.grad_nonfinite),
                "weight_gradient/std": _mean(la.weight_grad_std),
                "theory/std": None if la.theory is None else la.theory.std,
                "theory/grad_std": None if la.theory is None else la.theory.grad_std,
            }
            mean, std = _mean(la.mean), _mean(la.std)
            hist = _probe_histogram(
                run,
                i,
                la.histogram_mean(),
                entries,
                0.0 if mean is None else mean,
                0.0 if std is None else std,
            )
            yield Record(
                run.label,
                i + 1,  # the depth: hidden layer i + 1 of the classic stack, the (i + 1)-th tap of a model
                {k: float(v) for k, v in scalars.items() if v is not None},
                {"activation": hist},
            )


def _compare(result: CompareResult) -> Iterator[Record]:
    tr = result.train
    several = result.config.seeds > 1
    for m, (i, seed) in enumerate(zip(result.model_spec, result.model_seed, strict=True)):
        run = f"{result.labels[i]}/seed{seed}" if several else result.labels[i]
        by_step: dict[int, dict[str, float]] = {}
        for t in range(tr.train_loss.shape[0]):
            by_step.setdefault(t, {})["train/loss"] = float(tr.train_loss[t, m])
        for e, it in enumerate(tr.eval_iterations):
            by_step.setdefault(it, {}).update(
                {"eval/loss": float(tr.eval_loss[e, m]), "eval/accuracy": float(tr.eval_accuracy[e, m])}
            )
        for step in sorted(by_step):
            yield Record(run, step, by_step[step])


def _symmetry(result: SymmetryResult) -> Iterator[Record]:
    for case in result.cases:
        by_step: dict[int, dict[str, float]] = {}
        for t, loss in enumerate(case.train_loss):
            by_step.setdefault(t, {})["train/loss"] = loss
        for it, acc in zip(case.eval_iterations, case.test_accuracy, strict=True):
            by_step.setdefault(it, {})["eval/accuracy"] = acc
        tables: tuple[tuple[str, Sequence[Sequence[float | int | None]]], ...] = (
            ("distinct_units", case.distinct_units),
            ("effective_rank", case.effective_rank),
            ("weight_gradient/norm", case.grad_norm),
        )
        for name, table in tables:
            for layer, row in enumerate(table, start=1):
                for it, value in zip(case.iterations, row, strict=True):
                    if value is not None:
                        by_step.setdefault(it, {})[f"{name}/layer{layer}"] = float(value)
        for step in sorted(by_step):
            yield Record(case.label, step, by_step[step])


def _hparam(v: Any) -> float | str | bool:
    """A grid value as TensorBoard takes it: a number, string or bool (else its JSON text)."""
    if isinstance(v, bool | int | float | str):
        return v
    import json

    return json.dumps(v)


def _sweep_run(row: dict[str, Any], varying: list[str]) -> str:
    """``a=1,b=2/seed0``: the values of ``varying`` (the init spec if none varies) and the seed."""
    name = ",".join(f"{c}={_hparam(row.get(c))}" for c in varying) or str(row["init"])
    return f"{name}/seed{row['seed']}"


def _sweep(result: SweepResult) -> Iterator[Record]:
    varying, seen = result.varying(), set()
    for row in result.rows:
        values = flat(row)
        run = _sweep_run(values, varying)
        if run in seen:  # cells that differ in no varying column: the key tells them apart
            run = f"{run}/{row['key']}"
        seen.add(run)
        curve = result.curves.get(row["key"])
        if curve is not None:
            for t, loss in enumerate(curve.tolist()):
                yield Record(run, t, {"train/loss": loss})
        hparams = {c: _hparam(values[c]) for c in HPARAM_COLUMNS}
        hparams |= {k: _hparam(v) for k, v in values.items() if k.startswith(("model.", "init."))}
        metrics = {
            "final/test_accuracy": row["test_accuracy"],
            "final/test_loss": row["test_loss"],
            "final/loss": row["final_loss"],
            "final/best_loss": row["best_loss"],
        }
        scalars = {k: math.nan if v is None else float(v) for k, v in metrics.items()}
        scalars["final/diverged"] = float(row["diverged_at"] is not None)
        yield Record(run, int(row["iterations_done"]), scalars, hparams=hparams)


__all__ = ["CONFIGS", "HPARAM_COLUMNS", "Record", "records", "write"]
