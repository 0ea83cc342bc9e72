"""Sinks: where measurements go besides a run folder -- TensorBoard and Weights & Biases.

A sink takes records ``write(step, scalars, histograms)`` (``scalars``: tag -> float;
``histograms``: tag -> :class:`~initlab.measure.Histogram`, fixed-size and already binned), notes
``note(step, text)`` (a monitor's findings), and ``flush()``/``close()``. Both sinks here import
their package lazily, on construction, and raise :class:`InitlabError` naming the extra to install
when it is missing.

NaN/Inf never crash a sink. A histogram holds finite values only (its ``nonfinite`` count says how
many were left out); a histogram with no finite value at all is not written. Non-finite scalars are
written as they are (TensorBoard and W&B plot NaN as a gap, and a NaN loss is news). Every sink
counts both (:attr:`SinkBase.nonfinite_values`, :attr:`SinkBase.nonfinite_scalars`,
:attr:`SinkBase.empty_histograms`) and says so in :meth:`SinkBase.report`.

* :class:`TensorBoardSink` -- the official writer, ``torch.utils.tensorboard.SummaryWriter``
  (``pip install 'initlab[tensorboard]'``): scalars with ``add_scalar``, histograms with
  ``add_histogram_raw`` (the bins as they are: bucket limits are the right edges), notes with
  ``add_text`` under the tag ``findings``, a trained configuration's hyperparameters and final
  metrics (:meth:`TensorBoardSink.hparams`) as a session of the HParams dashboard. Give it a
  folder, or your own ``SummaryWriter`` (then ``close`` leaves the writer open: it is yours).
* :class:`WandbSink` -- a W&B run (``pip install 'initlab[wandb]'``): the active run, a run you pass,
  or one it starts with ``wandb.init(**init)`` (and finishes on ``close``). Keys are prefixed
  (``initlab/`` by default) and plotted against their own step metric ``<prefix>step``
  (``define_metric``), so they never fight the step counter of your own ``wandb.log`` calls.
  Histograms are ``wandb.Histogram(np_histogram=(counts, edges))``; notes are logged as text
  under ``<prefix>findings``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from ..core.errors import InitlabError
from ..measure import Histogram


@runtime_checkable
class Sink(Protocol):
    """What a monitor (and ``initlab probe --tensorboard``) writes to."""

    def write(self, step: int, scalars: Mapping[str, float], histograms: Mapping[str, Histogram]) -> None:
        """One record: scalars and histograms at ``step``."""

    def note(self, step: int, text: str) -> None:
        """A line of text at ``step`` (a finding)."""

    def flush(self) -> None:
        """Write what is buffered."""

    def close(self) -> None:
        """Flush and release what the sink opened."""


def _require(module: str, extra: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise InitlabError(
            f"{what} needs the {extra} package ({err}); install it with: pip install 'initlab[{extra}]'"
        ) from err


def require_tensorboard() -> None:
    """``InitlabError`` now if TensorBoard's writer cannot be imported (a CLI checks before a run)."""
    _require("torch.utils.tensorboard", "tensorboard", "the TensorBoard sink")


class SinkBase:
    """Counting of non-finite values, and the context-manager protocol (``close`` on exit)."""

    def __init__(self) -> None:
        self.nonfinite_values = 0  #: NaN/Inf values left out of histograms
        self.nonfinite_scalars = 0  #: NaN/Inf scalars written
        self.empty_histograms = 0  #: histograms not written: no finite value
        self.records = 0  #: ``write`` calls

    def _count(
        self, scalars: Mapping[str, float], histograms: Mapping[str, Histogram]
    ) -> dict[str, Histogram]:
        """The histograms to write (those with a finite value); counts what is left out."""
        self.records += 1
        self.nonfinite_scalars += sum(1 for v in scalars.values() if not math.isfinite(v))
        kept = {}
        for tag, h in histograms.items():
            self.nonfinite_values += h.nonfinite
            if h.num == 0:
                self.empty_histograms += 1
            else:
                kept[tag] = h
        return kept

    def report(self) -> str:
        """One line: what was written and which non-finite values were left out or kept."""
        parts = [f"{self.records} record(s)"]
        if self.nonfinite_values:
            parts.append(f"{self.nonfinite_values} NaN/Inf value(s) left out of histograms")
        if self.empty_histograms:
            parts.append(f"{self.empty_histograms} histogram(s) with no finite value not written")
        if self.nonfinite_scalars:
            parts.append(f"{self.nonfinite_scalars} NaN/Inf scalar(s) written as such")
        return "; ".join(parts)

    def flush(self) -> None:
        """Nothing buffered by default."""

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> SinkBase:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class TensorBoardSink(SinkBase):
    """Scalars and histograms as TensorBoard event files, written by ``SummaryWriter``.

    ``log_dir``: a folder (created by the writer), or a ``SummaryWriter`` you already log to.
    """

    def __init__(self, log_dir: str | os.PathLike[str] | Any, *, flush_secs: int = 30) -> None:
        super().__init__()
        tb = _require("torch.utils.tensorboard", "tensorboard", "the TensorBoard sink")
        if isinstance(log_dir, tb.SummaryWriter):
            self.writer = log_dir
            self._owned = False
        else:
            self.writer = tb.SummaryWriter(log_dir=os.fspath(log_dir), flush_secs=flush_secs)
            self._owned = True

    @property
    def log_dir(self) -> str:
        return str(self.writer.get_logdir())

    def write(self, step: int, scalars: Mapping[str, float], histograms: Mapping[str, Histogram]) -> None:
        kept = self._count(scalars, histograms)
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, float(value), global_step=step)
        for tag, h in kept.items():
            self.writer.add_histogram_raw(
                tag,
                min=h.min,
                max=h.max,
                num=h.num,
                sum=h.sum,
                sum_squares=h.sum_squares,
                bucket_limits=list(h.edges[1:]),  # right edges, one per bin
                bucket_counts=list(h.counts),
                global_step=step,
            )

    def note(self, step: int, text: str) -> None:
        self.writer.add_text("findings", text, global_step=step)

    def hparams(
        self, step: int, values: Mapping[str, float | str | bool], metrics: Mapping[str, float]
    ) -> None:
        """One session of TensorBoard's HParams dashboard in this run: the experiment, session-start
        (``values``) and session-end summaries of ``torch.utils.tensorboard.summary.hparams``, and
        the ``metrics`` as scalars at ``step`` (what the dashboard tabulates). Unlike
        ``SummaryWriter.add_hparams`` it writes into this run's folder, not a new one beneath it."""
        summaries = _require("torch.utils.tensorboard.summary", "tensorboard", "the TensorBoard sink")
        self._count(metrics, {})
        for summary in summaries.hparams(dict(values), dict(metrics)):
            self.writer.file_writer.add_summary(summary, step)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, float(value), global_step=step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        if self._owned:
            self.writer.close()
        else:
            self.writer.flush()


class WandbSink(SinkBase):
    """Scalars and histograms logged to a Weights & Biases run (any mode: online, offline).

    ``run``: a run from ``wandb.init``; default: the active run (``wandb.run``), else a new one from
    ``wandb.init(**init)`` that :meth:`close` finishes.
    """

    def __init__(self, run: Any = None, *, prefix: str = "initlab/", **init: Any) -> None:
        super().__init__()
        self._wandb = _require("wandb", "wandb", "the Weights & Biases sink")
        self._owned = False
        if run is None:
            run = self._wandb.run
        if run is None:
            run = self._wandb.init(**init)
            self._owned = True
        self.run = run
        self.prefix = prefix
        self.step_key = f"{prefix}step"
        run.define_metric(self.step_key)
        run.define_metric(f"{prefix}*", step_metric=self.step_key)

    def write(self, step: int, scalars: Mapping[str, float], histograms: Mapping[str, Histogram]) -> None:
        kept = self._count(scalars, histograms)
        data: dict[str, Any] = {self.step_key: step}
        data.update({self.prefix + tag: float(v) for tag, v in scalars.items()})
        for tag, h in kept.items():
            data[self.prefix + tag] = self._wandb.Histogram(np_histogram=(list(h.counts), list(h.edges)))
        self.run.log(data)

    def note(self, step: int, text: str) -> None:
        self.run.log({self.step_key: step, f"{self.prefix}findings": text})

    def close(self) -> None:
        if self._owned:
            self.run.finish()


__all__ = ["Sink", "SinkBase", "TensorBoardSink", "WandbSink", "require_tensorboard"]
