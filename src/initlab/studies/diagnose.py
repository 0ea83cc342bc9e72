"""The ``diagnose`` study: check the initialization of any PyTorch model built by a factory.

``run(DiagnoseConfig("initlab.examples:mlp20_relu", input_shape=(100,)))`` imports the factory
``PACKAGE.MODULE:FACTORY`` (the current folder is importable, as with ``python -m``) and calls it
with no arguments; optionally re-initialises the model (``init="auto"`` or a scheme spec, or
``lsuv=True``); audits its weights (:func:`initlab.audit`); and runs :func:`initlab.diagnose` on a
batch of ``batch`` inputs of shape ``input_shape`` (one sample's shape): N(0, 1) values by default,
or, with ``input_dtype="long"`` and ``vocab=N``, integer tokens drawn uniformly from ``[0, N)`` (for
language models: an ``nn.Embedding`` first), e.g. ``input_shape=(128,)`` for 128 tokens per sample.

Device: the model is built, re-initialised (LSUV included) and audited on the CPU, then moved to
``device`` (:func:`initlab.core.device.resolve_device`: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or
``auto``) for the forward and backward pass; the input and cotangent are drawn on the CPU and moved,
so every device sees the same weights and the same input.

Seeds (:mod:`initlab.core.seeds`): the factory runs with the global RNG seeded from the ``factory``
stream of ``seed`` inside ``torch.random.fork_rng`` -- a user's factory takes no generator, and the
global state is restored afterwards, so nothing outside the call sees it; the re-initialisation
draws from the ``init`` stream, the LSUV batch from ``inputs``, and :func:`initlab.diagnose` its
input (N(0, 1) values, or the tokens) and cotangent from the ``diagnose`` stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..core import html
from ..core.device import resolve_device
from ..core.errors import InitlabError, check_int
from ..core.io import to_jsonable
from ..core.seeds import check_seed, derive, generator
from ..data import Dataset
from ..ensemble import load_factory, split_target
from ..schemes import init_, scheme
from ..tools import Audit, AutoInitPlan, Diagnosis, LSUVResult, audit, auto_init_, diagnose, lsuv_
from .config import Progress, ShouldStop, figure_error, option
from .display import card
from .progress import progress_bar


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,28,28"`` -> ``(1, 28, 28)``; every entry a positive integer."""
    ok = re.fullmatch(r"\s*\d+(\s*,\s*\d+)*\s*", text) is not None
    dims = tuple(int(t) for t in text.split(",")) if ok else ()
    if not dims or any(d <= 0 for d in dims):
        raise InitlabError(
            f"--input-shape {text!r} must be positive integers separated by commas, e.g. 1,28,28"
        )
    return dims


DTYPES = ("float", "long")  #: the input dtypes of ``initlab diagnose``


@dataclass(frozen=True)
class DiagnoseConfig:
    """Everything that defines a diagnose run (the ``initlab diagnose`` arguments, one to one)."""

    target: str = option(
        None, "e.g. initlab.examples:small_cnn", positional=True, metavar="PACKAGE.MODULE:FACTORY"
    )
    input_shape: tuple[int, ...] = option(
        None, "shape of ONE sample, e.g. 100 or 1,28,28", required=True, parse=parse_shape
    )
    batch: int = option(256, "batch size of the input")
    input_dtype: str = option(
        "float", "input values: float (N(0, 1)) or long (integer tokens, needs --vocab)", choices=DTYPES
    )
    vocab: int | None = option(
        None, "with --input-dtype long: tokens drawn uniformly from 0..N-1", metavar="N", default_text=""
    )
    init: str | None = option(
        None,
        "re-initialise first: 'auto' or a scheme spec",
        metavar="auto|SPEC",
        exclusive="how",
        default_text="",
    )
    lsuv: bool = option(
        False, "re-initialise first with LSUV (orthogonal + scaling)", exclusive="how", default_text=""
    )
    seed: int = option(0, "seed for the factory, the init and the input")
    device: str = option(
        "cpu", "where the forward and backward pass run: cpu, cuda, cuda:N, mps or auto", metavar="DEVICE"
    )

    def data_name(self) -> None:
        return None

    def validate(self) -> None:
        """Raise ``InitlabError`` for the first bad setting (the factory is not imported yet)."""
        split_target(self.target)
        if not self.input_shape or any(
            not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in self.input_shape
        ):
            raise InitlabError(
                f"input_shape {self.input_shape!r} must be positive integers, e.g. (1, 28, 28)"
            )
        if self.batch < 2:
            raise InitlabError(
                f"--batch {self.batch} must be at least 2 (dead units and signal std need a batch)"
            )
        if self.input_dtype not in DTYPES:
            raise InitlabError(f"input_dtype {self.input_dtype!r} must be one of {', '.join(DTYPES)}")
        if self.input_dtype == "long" and self.vocab is None:
            raise InitlabError(
                "--input-dtype long needs --vocab N: integer tokens are drawn from 0..N-1 (N: the size "
                "of the model's embedding)"
            )
        if self.input_dtype == "float" and self.vocab is not None:
            raise InitlabError(
                f"--vocab {self.vocab} is for integer tokens: add --input-dtype long "
                f"(float inputs are N(0, 1))"
            )
        if self.vocab is not None:
            check_int(self.vocab, "--vocab")
        if self.init is not None and self.lsuv:
            raise InitlabError("give either --init or --lsuv, not both")
        if self.init is not None and self.init.strip() != "auto":
            scheme(self.init)
        check_seed(self.seed)
        resolve_device(self.device)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``config.json``)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


Config = DiagnoseConfig


def make_inputs(config: DiagnoseConfig, gen: torch.Generator) -> torch.Tensor:
    """A batch for ``config``: ``(batch, *input_shape)`` N(0, 1) floats, or integer tokens from
    ``[0, vocab)`` (int64) for ``input_dtype="long"``, drawn from ``gen``."""
    shape = (config.batch, *config.input_shape)
    if config.input_dtype == "long":
        return torch.randint(int(config.vocab or 1), shape, generator=gen)
    return torch.randn(shape, generator=gen)


def load_model(target: str, seed: int) -> nn.Module:
    """Import ``PACKAGE.MODULE:FACTORY`` (:func:`initlab.ensemble.load_factory`, the one loader) and
    call it, the global RNG seeded from the ``factory`` stream of ``seed`` inside ``fork_rng``
    (restored afterwards)."""
    factory = load_factory(target)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive(seed, "factory"))
        return factory()


#: The ``"schema"`` of results.json (JSON Schema: initlab/studies/schemas/diagnose.schema.json).
SCHEMA_ID = "initlab.diagnose/1"


@dataclass
class DiagnoseResult:
    """The re-initialisation (if any), the audit and the diagnosis of one model."""

    config: DiagnoseConfig
    model: nn.Module
    audit: Audit
    diagnosis: Diagnosis
    init: dict[str, Any] | None = None  #: ``{"spec": ..., ...}``: what ``init`` did
    plan: AutoInitPlan | None = None  #: for ``init="auto"``
    lsuv: LSUVResult | None = None

    @property
    def partial(self) -> bool:
        """Always False: one forward and one backward pass."""
        return False

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` document (schema: docs/results-diagnose.md)."""
        cfg = self.config
        return {
            "schema": SCHEMA_ID,
            "target": cfg.target,
            "input_shape": list(cfg.input_shape),
            "batch": cfg.batch,
            "input_dtype": cfg.input_dtype,
            "vocab": cfg.vocab,
            "seed": cfg.seed,
            "init": self.init,
            "lsuv": None if self.lsuv is None else self.lsuv.to_dict(),
            "audit": self.audit.to_dict(),
            "diagnosis": self.diagnosis.to_dict(),
        }

    _FIGURES: ClassVar[tuple[str, ...]] = ("std_per_layer",)

    def figure_names(self) -> list[str]:
        """The names :meth:`figures` draws, in order."""
        return list(self._FIGURES)

    def figures(self) -> dict[str, Any]:
        """``std_per_layer``: forward std and backward gradient per layer (:mod:`initlab.viz.diagnose`)."""
        return {name: self.figure(name) for name in self.figure_names()}

    def figure(self, name: str, **options: Any) -> Any:
        """One of :meth:`figures`, by name, with the drawing function's ``options`` (``title=``)."""
        if name not in self._FIGURES:
            raise figure_error("diagnose", name, self._FIGURES)
        from ..viz.diagnose import std_per_layer

        return std_per_layer(self.diagnosis, **options)

    def _repr_html_(self) -> str:
        """Jupyter's display: what re-initialised the model, the diagnosis's findings, the audit's
        warnings, the per-layer table and the ``std_per_layer`` figure."""
        cfg = self.config
        how = "lsuv" if cfg.lsuv else (cfg.init or "as built")
        facts = [cfg.target, f"input {(cfg.batch, *cfg.input_shape)}", f"init: {how}", f"seed {cfg.seed}"]
        found, table = self.diagnosis.html_parts()
        parts: list[html.Markup | str] = ["Findings:", found]
        if self.audit.warnings:
            parts += ["Audit:", html.bullets(w.message for w in self.audit.warnings)]
        figure = (self, "std_per_layer", "forward std and backward gradient per layer")
        return card("initlab diagnose", *parts, table, facts=facts, figure=figure)


def run(
    config: DiagnoseConfig,
    *,
    dataset: Dataset | None = None,
    progress: Progress | bool | None = None,
    should_stop: ShouldStop | None = None,
) -> DiagnoseResult:
    """Build, optionally re-initialise, audit and diagnose the model of ``config`` (module docstring).

    ``dataset`` is not used (the input is N(0, 1)), nor is ``should_stop`` (one pass);
    ``progress`` gets ``(1, 1)`` at the end (``progress=True``: a bar,
    :mod:`initlab.studies.progress`).
    """
    config.validate()
    with progress_bar(progress, "diagnose") as tick:
        result = _diagnose(config)
        if tick is not None:
            tick(1, 1)
    return result


def _diagnose(config: DiagnoseConfig) -> DiagnoseResult:
    """The work of :func:`run` on a validated config."""
    device = resolve_device(config.device)
    model = load_model(config.target, config.seed)
    result_init: dict[str, Any] | None = None
    plan: AutoInitPlan | None = None
    lsuv_result: LSUVResult | None = None
    gen = generator(config.seed, "init")
    if config.init is not None:
        if config.init.strip() == "auto":
            plan = auto_init_(model, generator=gen)
            result_init = {"spec": "auto", **plan.to_dict()}
        else:
            records = init_(model, config.init, generator=gen)
            result_init = {"spec": config.init, "records": [r.to_dict() for r in records]}
    if config.lsuv:
        lsuv_result = lsuv_(model, make_inputs(config, generator(config.seed, "inputs")), generator=gen)
    aud = audit(model)
    model = model.to(device)  # built, re-initialised and audited on the CPU: the same weights everywhere
    if config.input_dtype == "long":  # the tokens, then the cotangent, from the diagnose stream
        dgen = generator(config.seed, "diagnose")
        diag = diagnose(model, make_inputs(config, dgen).to(device), generator=dgen)
    else:
        diag = diagnose(
            model,
            input_shape=config.input_shape,
            batch_size=config.batch,
            generator=generator(config.seed, "diagnose"),
        )
    return DiagnoseResult(config, model, aud, diag, result_init, plan, lsuv_result)
