"""The reproduce results document (``results.json``, ``ReproduceResult.to_dict()``) as small frozen
dataclasses: what the report's decisions and sentences read.

:func:`parse` is the only place that knows the document's layout, so a report can be rebuilt from a
saved run. Numbers arrive as JSON (a non-finite number is ``null``) or straight from ``to_dict()``
(NaN); both become ``None`` here. Nothing is rounded or decided here (that is
:mod:`initlab.report.decisions`); the symmetry part arrives already decided, as the facts the
symmetry study stores (:mod:`initlab.studies.symmetry_findings`), so the report and
``initlab symmetry`` quote the same findings; likewise the depth part (``--deep``), whose findings
are the depth study's own (:func:`initlab.studies.depth_findings.depth_facts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import InitlabError
from ..core.io import jsonable
from ..studies.depth_findings import DepthFacts, depth_facts
from ..studies.symmetry_findings import CaseFacts, SymmetryFacts
from .format import finite

# -- part 1: the symmetry lab's stored facts --------------------------------------------------------


#: The symmetry part arrives as the facts the symmetry study stores (one typed reader for both).
Symmetry = SymmetryFacts
SymmetryCase = CaseFacts


# -- part 2: the probes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeLayer:
    """One layer's statistics at initialization (seed means)."""

    std: float | None
    grad_std: float | None
    mean: float | None
    saturated_fraction: float | None  #: None for activations unbounded on a side
    dead_fraction: float | None
    nonfinite: int


@dataclass(frozen=True)
class ProbeRun:
    label: str
    spec: str
    layers: tuple[ProbeLayer, ...]
    chi_1: float | None
    regime: str | None


@dataclass(frozen=True)
class Probe:
    """One activation's probe: ``layers`` x ``width`` units, ``samples`` N(0, 1) inputs."""

    activation: str
    layers: int
    width: int
    samples: int
    seeds: int
    input_dim: int | None
    reference_std: float | None  #: std of phi(z), z ~ N(0, 1); None for the Glorot probes
    runs: tuple[ProbeRun, ...]

    def run(self, label: str) -> ProbeRun:
        for r in self.runs:
            if r.label == label:
                return r
        raise InitlabError(f"the {self.activation} probe has no init labelled {label!r}")


@dataclass(frozen=True)
class Glorot:
    input_dim: int
    layer1_weight_std: Mapping[str, float | None]
    probes: tuple[Probe, ...]


# -- part 3: MNIST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MnistRun:
    label: str
    spec: str
    train_loss: tuple[float | None, ...]
    test_accuracy: float | None
    diverged_at: int | None


@dataclass(frozen=True)
class Mnist:
    activation: str
    widths: tuple[int, ...]
    iterations: int  #: iterations done
    seeds: int
    lr: float
    batch_size: int
    window: int  #: the compare study's moving-average window
    eval_examples: int
    partial: bool
    labels: tuple[str, ...]  #: in the study's order
    runs: tuple[MnistRun, ...]


# -- the run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    seed: int
    lr: float
    batch_size: int
    layers: int
    environment: Mapping[str, Any]
    seconds: Mapping[str, float | None]


@dataclass(frozen=True)
class Run:
    """A whole reproduce run; a part is None (or empty) where the run stopped before it."""

    partial: bool
    quick: bool
    setup: Setup
    symmetry: Symmetry | None
    probes: tuple[Probe, ...]
    glorot: Glorot | None
    mnist: Mnist | None
    deep: bool = False  #: the run had the depth part (``--deep``)
    depth: DepthFacts | None = None  #: its findings; None without ``--deep`` or if never reached


def _int(x: Any) -> int:
    return int(x or 0)


def _symmetry(part: Mapping[str, Any] | None) -> Symmetry | None:
    if part is None:
        return None
    facts = part.get("facts")
    if facts is None:
        raise InitlabError(
            "the symmetry part of this results.json has no 'facts' (written by initlab >= this "
            "version); run 'initlab reproduce' again"
        )
    return SymmetryFacts.from_dict(facts)


def _probe(act: str, doc: Mapping[str, Any], ref: Any) -> Probe:
    cfg = doc["config"]
    runs = []
    for r in doc["runs"]:
        th = r.get("theory") or {}
        layers = tuple(
            ProbeLayer(
                std=finite(la["std"]),
                grad_std=finite(la["grad_std"]),
                mean=finite(la["mean"]),
                saturated_fraction=finite(la["saturated_fraction"]),
                dead_fraction=finite(la["dead_fraction"]),
                nonfinite=_int(la["nonfinite"]),
            )
            for la in r["layers"]
        )
        runs.append(ProbeRun(r["label"], r["spec"], layers, finite(th.get("chi_1")), th.get("regime")))
    return Probe(
        activation=act,
        layers=cfg["layers"],
        width=cfg["width"],
        samples=cfg["samples"],
        seeds=cfg["seeds"],
        input_dim=cfg.get("input_dim"),
        reference_std=finite(ref),
        runs=tuple(runs),
    )


def _mnist(part: Mapping[str, Any] | None) -> Mnist | None:
    if part is None:
        return None
    runs = tuple(
        MnistRun(
            label=r["label"],
            spec=r["spec"],
            train_loss=tuple(finite(v) for v in r["train_loss"]),
            test_accuracy=finite(r["test_accuracy"]),
            diverged_at=r["diverged_at"],
        )
        for r in part["runs"]
    )
    return Mnist(
        activation=part["architecture"]["activation"],
        widths=tuple(part["architecture"]["widths"]),
        iterations=part["iterations_done"],
        seeds=part["seeds"],
        lr=part["train"]["lr"],
        batch_size=part["train"]["batch_size"],
        window=part["smooth"],
        eval_examples=part["eval_examples"],
        partial=bool(part.get("partial")),
        labels=tuple(row["label"] for row in part["summary"]),
        runs=runs,
    )


def parse(doc: Mapping[str, Any]) -> Run:
    """The typed view of a reproduce results document (its ``findings`` entry, if any, is ignored)."""
    doc = jsonable({k: v for k, v in doc.items() if k != "findings"})
    if doc.get("study") not in (None, "reproduce"):
        raise InitlabError(f"not a reproduce results document: study {doc.get('study')!r}")
    parts = doc["parts"]
    probe = parts.get("probe") or {}
    glorot = parts.get("glorot") or {}
    refs = probe.get("reference_std") or {}
    probes = tuple(_probe(a, d, refs.get(a)) for a, d in (probe.get("activations") or {}).items())
    glorot_probes = tuple(_probe(a, d, None) for a, d in (glorot.get("activations") or {}).items())
    cfg = doc["config"]
    return Run(
        partial=bool(doc["partial"]),
        quick=bool(doc["quick"]),
        setup=Setup(
            seed=cfg["seed"],
            lr=cfg["lr"],
            batch_size=cfg["batch_size"],
            layers=cfg["layers"],
            environment=doc["environment"],
            seconds=dict(doc["seconds"]),
        ),
        symmetry=_symmetry(parts.get("symmetry")),
        probes=probes,
        glorot=Glorot(glorot["input_dim"], dict(glorot["layer1_weight_std"]), glorot_probes)
        if glorot_probes
        else None,
        mnist=_mnist(parts.get("compare")),
        deep="depth" in parts,
        depth=None if parts.get("depth") is None else depth_facts(parts["depth"]),
    )
