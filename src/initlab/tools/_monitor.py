"""``initlab.monitor(model, every=100, sinks=[...])``: diagnose's statistics during your own training.

    with initlab.monitor(model, every=100, sinks=[TensorBoardSink("runs/a")]) as mon:
        for x, y in loader:                      # any loop: plain PyTorch, Lightning, ...
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()

**What a step is.** One forward call of ``model`` (the module you pass) in training mode
(``model.training``); forwards in ``eval()`` mode are not counted and not measured. Steps are
numbered from 0, and step ``s`` is *sampled* when ``s % every == 0`` (0, every, 2 every, ...). With
gradient accumulation over ``k`` micro-batches a step is one micro-batch: choose ``every`` with that
in mind. Only the monitor's own pre-hook runs on the other steps (a counter; no tensor is touched).

**What a sampled step records** (a :class:`Snapshot`, also ``mon.last``):

* per leaf module call, the output and the gradient w.r.t. it -- the :class:`LayerStats` of
  :func:`~initlab.tools.diagnose` (mean, std, signal std, zero/dead/saturated fractions, NaN/Inf
  counts, gradient std and per-sample norm, the weight's gradient std), computed by the same hooks
  (:class:`initlab.measure.Recorder`) and the same pure statistics, so on the same batch, weights and
  output gradient the numbers are those of ``diagnose`` (tested);
* per parameter, before the optimizer step: its norm and NaN/Inf count, and after the backward pass
  its ``.grad``'s norm, std and NaN/Inf count (a ``post_accumulate_grad`` hook: the accumulated
  gradient, as the optimizer sees it);
* fixed-size histograms (``bins``, over each tensor's finite range): ``activation/<layer>``,
  ``gradient/<layer>`` (w.r.t. the output), ``weight/<param>`` and ``weight_gradient/<param>``.

The hooks that record are added at the sampled step's forward and removed once its record is
complete: at the next training forward, at :meth:`Monitor.flush`, or on exit. Memory is bounded
whatever the run's length: the monitor keeps the last snapshot and one entry per finding raised.

**Findings as they happen.** Each snapshot runs diagnose's findings (:mod:`._findings`: dead units,
vanishing/exploding signal or gradient, saturation, NaN/Inf in outputs, gradients or parameters).
A finding is *raised* the first time it names a (kind, direction, layer) not named before, once,
as a :class:`MonitorWarning` (``warnings.warn``; filter it like any warning) and through
``on_finding(event)``, and written to every sink's ``note``. The same dead layer at steps 300, 400,
... is raised once, at 300.

**Hooks are removed on exit**, also when the loop raises (the step in progress is then dropped).

**torch.compile.** TorchDynamo traces module hooks that exist when it compiles (each of ours would
break the graph, and tracing them took 18 s on a 3-layer MLP) and does not see hooks added later (it
does not guard on them). So on a compiled model -- ``torch.compile(model)`` (the wrapper holds
``model`` as ``_orig_mod``) or ``model.compile()`` -- the monitor adds no module hook at all: it
counts steps (its pre-hook is excluded from compilation with ``torch.compiler.disable``) and records
the parameters (norms, gradient norms, histograms; these hooks run in the autograd engine, outside
the compiled graph), and warns once that the per-layer statistics are missing. To see the layers,
monitor an uncompiled copy of the model. Tested with the ``eager`` backend (no C compiler needed);
hooks reach Dynamo, not the backend, so ``inductor`` behaves the same (checked by hand).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ..core.errors import InitlabError, check_int
from ..measure import Histogram, Recorder, histogram
from ._diagnose import LayerStats, _layers
from ._findings import Finding, findings
from ._sinks import Sink


class MonitorWarning(UserWarning):
    """A finding raised by :func:`monitor` during training (the message starts with the step)."""


@dataclass(frozen=True)
class Event:
    """A finding raised at ``step`` (the first sampled step where it appeared)."""

    step: int
    kind: str
    direction: str
    message: str
    layers: tuple[str, ...]

    def __str__(self) -> str:
        return f"step {self.step}: {self.message}"


@dataclass(frozen=True)
class ParamStats:
    """One parameter at a sampled step: its norm before the update, its gradient after backward."""

    name: str
    shape: tuple[int, ...]
    norm: float
    nonfinite: int
    grad_norm: float | None = None
    grad_std: float | None = None
    grad_nonfinite: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything measured at one sampled ``step``: layers (call order), parameters, histograms."""

    step: int
    layers: list[LayerStats]
    params: list[ParamStats]
    findings: list[Finding]
    histograms: dict[str, Histogram]

    def layer(self, name: str) -> LayerStats:
        for la in self.layers:
            if la.name == name:
                return la
        raise InitlabError(
            f"no layer {name!r} at step {self.step}; layers: {[la.name for la in self.layers]}"
        )

    def scalars(self) -> dict[str, float]:
        """Tag -> value: ``activation/<stat>/<layer>``, ``gradient/<stat>/<layer>``,
        ``weight/<stat>/<param>`` and ``weight_gradient/<stat>/<param>`` (missing values left out)."""
        out: dict[str, float] = {}

        def put(tag: str, value: float | None) -> None:
            if value is not None:
                out[tag] = float(value)

        for la in self.layers:
            for stat in ("mean", "std", "signal_std", "zero_fraction", "dead_fraction", "saturated_fraction"):
                put(f"activation/{stat}/{la.name}", getattr(la, stat))
            put(f"activation/nonfinite/{la.name}", la.nonfinite)
            put(f"gradient/std/{la.name}", la.grad_std)
            put(f"gradient/norm/{la.name}", la.grad_norm)
            put(f"gradient/nonfinite/{la.name}", la.grad_nonfinite)
        for p in self.params:
            put(f"weight/norm/{p.name}", p.norm)
            put(f"weight/nonfinite/{p.name}", p.nonfinite)
            put(f"weight_gradient/norm/{p.name}", p.grad_norm)
            put(f"weight_gradient/std/{p.name}", p.grad_std)
            put(f"weight_gradient/nonfinite/{p.name}", p.grad_nonfinite)
        return out


def _compiled_inner(model: nn.Module) -> nn.Module:
    """The module a ``torch.compile`` wrapper holds (its ``_orig_mod``), else ``model`` itself."""
    inner = getattr(model, "_orig_mod", None)
    return inner if isinstance(inner, nn.Module) else model


def _is_compiled(model: nn.Module) -> bool:
    return _compiled_inner(model) is not model or getattr(model, "_compiled_call_impl", None) is not None


class Monitor:
    """The context manager :func:`monitor` returns; see the module docstring for what it records."""

    def __init__(
        self,
        model: nn.Module,
        every: int = 100,
        sinks: Iterable[Sink] = (),
        *,
        bins: int = 30,
        on_finding: Callable[[Event], None] | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise InitlabError(f"monitor needs an nn.Module, got {type(model).__name__}")
        self.every = check_int(every, "every")
        self.bins = check_int(bins, "bins")
        self.sinks: list[Sink] = list(sinks)
        for s in self.sinks:
            if not isinstance(s, Sink):
                raise InitlabError(
                    f"monitor sinks must have write/note/flush/close (initlab.tools.TensorBoardSink, "
                    f"WandbSink), got {type(s).__name__}"
                )
        self.model = model
        self.inner = _compiled_inner(model)
        self.compiled = _is_compiled(model)
        self.on_finding = on_finding
        self.step = 0  #: training forwards seen (the next step's number)
        self.last: Snapshot | None = None  #: the latest complete snapshot
        self.events: list[Event] = []  #: findings raised, in order (one per new finding: bounded)
        self._seen: set[tuple[str, str, str]] = set()
        self._handles: list[RemovableHandle] = []  # the step counter (for as long as the monitor is on)
        self._step_handles: list[RemovableHandle] = []  # a sampled step's post hook and parameter hooks
        self._rec: Recorder | None = None
        self._pending: int | None = None
        self._params: dict[str, ParamStats] = {}
        self._hists: dict[str, Histogram] = {}

    # -- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> Monitor:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            try:
                self.flush()
            finally:
                self.remove()
        else:
            self.remove()  # the step in progress is dropped; the loop's exception goes on

    def start(self) -> None:
        """Add the step counter (a forward pre-hook on ``model``); :meth:`remove` takes every hook off."""
        if self._handles:
            return
        meta = [n for n, p in self.model.named_parameters() if p.device.type == "meta"]
        if meta:
            raise InitlabError(
                f"monitor cannot measure {type(self.model).__name__}: {meta[0]} is on the meta device"
            )
        if self.compiled:
            warnings.warn(
                f"initlab.monitor: {type(self.model).__name__} is compiled (torch.compile), and compiled "
                "modules run no hooks added for them: no per-layer statistics, parameters only. Monitor "
                "the model uncompiled to see its layers.",
                MonitorWarning,
                stacklevel=3,
            )
            pre = torch.compiler.disable(self._pre)  # type: ignore[no-untyped-call]  # eager, even in model.compile()
        else:
            pre = self._pre
        self._handles.append(self.model.register_forward_pre_hook(pre))

    def remove(self) -> None:
        """Remove every hook the monitor added (the counter, and those of a step in progress)."""
        self._drop_step()
        while self._handles:
            self._handles.pop().remove()

    def flush(self) -> None:
        """Complete the sampled step in progress now (after its backward), then flush every sink."""
        self._finish()
        for s in self.sinks:
            s.flush()

    # -- hooks -------------------------------------------------------------------------------------

    def _pre(self, mod: nn.Module, args: Any) -> None:
        if not self.inner.training:
            return
        self._finish()
        step, self.step = self.step, self.step + 1
        if step % self.every == 0:
            self._begin(step)

    def _begin(self, step: int) -> None:
        self._pending = step
        self._params, self._hists = {}, {}
        with torch.no_grad():
            for name, p in self.inner.named_parameters():
                w = p.detach()
                ok = torch.isfinite(w)
                norm = torch.linalg.vector_norm(torch.where(ok, w, torch.zeros_like(w)).double())
                self._params[name] = ParamStats(name, tuple(p.shape), float(norm), int((~ok).sum()))
                self._hists[f"weight/{name}"] = histogram(w, self.bins)
                if p.requires_grad:
                    self._step_handles.append(p.register_post_accumulate_grad_hook(self._grad_of(name)))  # type: ignore[no-untyped-call]
        self._rec = Recorder(self.inner if not self.compiled else nn.Module(), bins=self.bins)
        self._rec.__enter__()  # on a compiled model, an empty recorder: no module hook at all
        if not self.compiled:
            self._step_handles.append(self.model.register_forward_hook(self._post))  # after the recorder's

    def _post(self, mod: nn.Module, args: Any, output: Any) -> None:
        if self._rec is not None:
            self._rec.release_modules()  # one forward recorded; an eval forward now is not

    def _grad_of(self, name: str) -> Callable[[Tensor], None]:
        def hook(p: Tensor) -> None:
            g = p.grad
            if g is None:
                return
            with torch.no_grad():
                gd = g.detach()
                ok = torch.isfinite(gd)
                norm = torch.linalg.vector_norm(torch.where(ok, gd, torch.zeros_like(gd)).double())
                std = float(gd.double().std(unbiased=False)) if gd.numel() else math.nan  # as diagnose
                self._params[name] = dataclasses.replace(
                    self._params[name], grad_norm=float(norm), grad_std=std, grad_nonfinite=int((~ok).sum())
                )
                self._hists[f"weight_gradient/{name}"] = histogram(gd, self.bins)

        return hook

    def _drop_step(self) -> None:
        while self._step_handles:
            self._step_handles.pop().remove()
        if self._rec is not None:
            self._rec.remove()
        self._rec = None
        self._pending = None

    # -- a complete step ---------------------------------------------------------------------------

    def _finish(self) -> None:
        if self._pending is None or self._rec is None:
            return
        step, rec = self._pending, self._rec
        self._drop_step()
        weights = {
            name: name + ".weight" if name else "weight"
            for name, mod in self.inner.named_modules()
            if isinstance(getattr(mod, "weight", None), nn.Parameter) and mod.weight.requires_grad
        }
        wgrad = {m: self._params[p].grad_std for m, p in weights.items() if p in self._params}
        layers = _layers(rec.calls, self.inner, {m: g for m, g in wgrad.items() if g is not None})
        found = findings(layers)
        bad = [p for p in self._params.values() if p.nonfinite or p.grad_nonfinite]
        if bad:
            parts = ", ".join(
                f"{p.name} ({p.nonfinite} in the weight, {p.grad_nonfinite or 0} in .grad)" for p in bad
            )
            owners = tuple(dict.fromkeys(p.name.rpartition(".")[0] or "(model)" for p in bad))
            found.insert(
                0, Finding("nonfinite", "forward", f"non-finite parameters: NaN/Inf in {parts}", owners)
            )
        layers = [
            dataclasses.replace(la, flags=tuple(dict.fromkeys(f.kind for f in found if la.name in f.layers)))
            for la in layers
        ]
        hists = dict(self._hists)
        for c in rec.calls:
            name = next(la.name for la in layers if la.module == c.module and la.call == c.call)
            if "histogram" in c.extra:
                hists[f"activation/{name}"] = c.extra["histogram"]
            if "grad_histogram" in c.extra:
                hists[f"gradient/{name}"] = c.extra["grad_histogram"]
        snap = Snapshot(step, layers, list(self._params.values()), found, hists)
        self.last = snap
        scalars = snap.scalars()
        for s in self.sinks:
            s.write(step, scalars, hists)
        for f in found:
            self._raise(step, f)

    def _raise(self, step: int, f: Finding) -> None:
        keys = {(f.kind, f.direction, la) for la in f.layers or ("",)}
        if keys <= self._seen:
            return
        self._seen |= keys
        event = Event(step, f.kind, f.direction, f.message, f.layers)
        self.events.append(event)
        for s in self.sinks:
            s.note(step, str(event))
        if self.on_finding is not None:
            self.on_finding(event)
        warnings.warn(f"initlab.monitor, {event}", MonitorWarning, stacklevel=2)


def monitor(
    model: nn.Module,
    every: int = 100,
    sinks: Iterable[Sink] = (),
    *,
    bins: int = 30,
    on_finding: Callable[[Event], None] | None = None,
) -> Monitor:
    """Watch ``model`` train: every ``every``-th training forward, diagnose's per-layer statistics,
    parameter and gradient norms and ``bins``-bin histograms, to ``sinks``; findings once, as raised.

    >>> import torch, initlab
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    >>> x = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
    >>> with initlab.monitor(net, every=2) as mon:
    ...     for _ in range(3):
    ...         net(x).sum().backward()
    >>> mon.step, mon.last.step, [la.name for la in mon.last.layers]
    (3, 2, ['0', '1', '2'])
    """
    return Monitor(model, every, sinks, bins=bins, on_finding=on_finding)


__all__ = ["Event", "Monitor", "MonitorWarning", "ParamStats", "Snapshot", "monitor"]
