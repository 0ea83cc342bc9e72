"""The ``diagnose`` study: check the initialization of any PyTorch model built by a factory.

``run(DiagnoseConfig("initlab.examples:mlp20_relu", input_shape=(100,)))`` imports the factory
``PACKAGE.MODULE:FACTORY`` (the current folder is importable, as with ``python -m``) and calls it
with no arguments; optionally re-initialises the model (``init="auto"`` or a scheme spec, or
``lsuv=True``); audits its weights (:func:`initlab.audit`); and runs :func:`initlab.diagnose` on a
batch of ``batch`` N(0, 1) inputs of shape ``input_shape`` (one sample's shape).

Seeds (:mod:`initlab.core.seeds`): the factory runs with the global RNG seeded from the ``factory``
stream of ``seed`` inside ``torch.random.fork_rng`` -- a user's factory takes no generator, and the
global state is restored afterwards, so nothing outside the call sees it; the re-initialisation
draws from the ``init`` stream, the LSUV batch from ``inputs``, and :func:`initlab.diagnose` its
input and cotangent from the ``diagnose`` stream.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..core.errors import InitlabError, closest
from ..core.io import to_jsonable
from ..core.seeds import check_seed, derive, generator
from ..data import Dataset
from ..schemes import init_, scheme
from ..tools import Audit, AutoInitPlan, Diagnosis, LSUVResult, audit, auto_init_, diagnose, lsuv_
from .config import Progress, ShouldStop, figure_error, option


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,28,28"`` -> ``(1, 28, 28)``; every entry a positive integer."""
    ok = re.fullmatch(r"\s*\d+(\s*,\s*\d+)*\s*", text) is not None
    dims = tuple(int(t) for t in text.split(",")) if ok else ()
    if not dims or any(d <= 0 for d in dims):
        raise InitlabError(
            f"--input-shape {text!r} must be positive integers separated by commas, e.g. 1,28,28"
        )
    return dims


@dataclass(frozen=True)
class DiagnoseConfig:
    """Everything that defines a diagnose run (the ``initlab diagnose`` arguments, one to one)."""

    target: str = option(
        None, "e.g. initlab.examples:small_cnn", positional=True, metavar="PACKAGE.MODULE:FACTORY"
    )
    input_shape: tuple[int, ...] = option(
        None, "shape of ONE sample, e.g. 100 or 1,28,28", required=True, parse=parse_shape
    )
    batch: int = option(256, "batch size of the N(0, 1) input")
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

    def data_name(self) -> None:
        return None

    def validate(self) -> None:
        """Raise ``InitlabError`` for the first bad setting (the factory is not imported yet)."""
        _split(self.target)
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
        if self.init is not None and self.lsuv:
            raise InitlabError("give either --init or --lsuv, not both")
        if self.init is not None and self.init.strip() != "auto":
            scheme(self.init)
        check_seed(self.seed)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``config.json``)."""
        out: dict[str, Any] = to_jsonable(self)
        return out


Config = DiagnoseConfig


def _split(target: str) -> tuple[str, str]:
    mod_name, sep, attr = target.partition(":")
    if not sep or not mod_name or not attr:
        raise InitlabError(
            f"target {target!r} must look like PACKAGE.MODULE:FACTORY, e.g. initlab.examples:mlp20_relu"
        )
    return mod_name, attr


def load_model(target: str, seed: int) -> nn.Module:
    """Import ``PACKAGE.MODULE:FACTORY`` and call it, the global RNG seeded from the ``factory``
    stream of ``seed`` inside ``fork_rng`` (restored afterwards)."""
    mod_name, attr = _split(target)
    added = os.getcwd() not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(mod_name)
    except ImportError as err:
        raise InitlabError(f"cannot import module {mod_name!r} of {target!r}: {err}") from err
    except (Exception, SystemExit) as err:  # SystemExit: the module called sys.exit
        raise InitlabError(
            f"importing {mod_name!r} of {target!r} failed: {type(err).__name__}: {err}"
        ) from err
    finally:
        if added:
            sys.path.remove(os.getcwd())
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            hint = closest(part, [n for n in dir(obj) if not n.startswith("_")])
            raise InitlabError(
                f"{target!r}: {getattr(obj, '__name__', mod_name)!r} has no attribute {part!r}{hint}"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise InitlabError(f"{target!r} is not callable (a {type(obj).__name__})")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive(seed, "factory"))
        try:
            model = obj()
        except (Exception, SystemExit) as err:  # SystemExit: the factory called sys.exit
            raise InitlabError(f"calling {target}() failed: {type(err).__name__}: {err}") from err
    if not isinstance(model, nn.Module):
        raise InitlabError(f"{target}() returned a {type(model).__name__}, not a torch.nn.Module")
    return model


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


def run(
    config: DiagnoseConfig,
    *,
    dataset: Dataset | None = None,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> DiagnoseResult:
    """Build, optionally re-initialise, audit and diagnose the model of ``config`` (module docstring).

    ``dataset`` is not used (the input is N(0, 1)), nor is ``should_stop`` (one pass);
    ``progress`` gets ``(1, 1)`` at the end.
    """
    config.validate()
    model = load_model(config.target, config.seed)
    result_init: dict[str, Any] | None = None
    plan: AutoInitPlan | None = None
    lsuv_result: LSUVResult | None = None
    gen = generator(config.seed, "init")
    # the batch LSUV fits on; auto init runs it once to follow models torch.fx cannot trace
    example = torch.randn((config.batch, *config.input_shape), generator=generator(config.seed, "inputs"))
    if config.init is not None:
        if config.init.strip() == "auto":
            plan = auto_init_(model, example=example, generator=gen)
            result_init = {"spec": "auto", **plan.to_dict()}
        else:
            records = init_(model, config.init, generator=gen)
            result_init = {"spec": config.init, "records": [r.to_dict() for r in records]}
    if config.lsuv:
        lsuv_result = lsuv_(model, example, generator=gen)
    aud = audit(model)
    diag = diagnose(
        model,
        input_shape=config.input_shape,
        batch_size=config.batch,
        generator=generator(config.seed, "diagnose"),
    )
    if progress is not None:
        progress(1, 1)
    return DiagnoseResult(config, model, aud, diag, result_init, plan, lsuv_result)
