"""``initlab diagnose PACKAGE.MODULE:FACTORY --input-shape 1,28,28 --out DIR``: check a model's init.

Imports the factory (the current folder is importable, as with ``python -m``), builds the model
with the global RNG seeded by ``--seed`` (restored afterwards), optionally re-initialises it
(``--init auto|SPEC`` or ``--lsuv``), audits its weights, runs :func:`initlab.diagnose` on a batch of
N(0, 1) inputs, prints the tables and findings, and writes ``config.json``, ``results.json``
(schema: docs/results-diagnose.md) and ``std_per_layer.png``/``.svg``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import Any

import torch
from rich import box
from torch import nn

from ..core.errors import InitlabError, closest
from ..schemes import init_
from ..tools import Audit, Diagnosis, audit, auto_init_, diagnose, lsuv_
from ._console import console, table
from ._runfolder import RunFolder

#: The ``"schema"`` of results.json (JSON Schema: initlab/studies/schemas/diagnose.schema.json).
SCHEMA_ID = "initlab.diagnose/1"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diagnose",
        help="per-layer signal report, init audit and findings for any PyTorch model",
        description="Build a model from PACKAGE.MODULE:FACTORY (called with no arguments), run one "
        "forward and one backward pass on N(0, 1) inputs, and report per-layer statistics with "
        "flags (vanishing/exploding, dead, saturated, non-finite) and which scheme each weight "
        "came from. Example: initlab diagnose initlab.examples:mlp20_relu --input-shape 100 --out runs/d",
    )
    p.add_argument("target", metavar="PACKAGE.MODULE:FACTORY", help="e.g. initlab.examples:small_cnn")
    p.add_argument("--input-shape", required=True, help="shape of ONE sample, e.g. 100 or 1,28,28")
    p.add_argument("--batch", type=int, default=256, help="batch size of the N(0, 1) input (default 256)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--init", metavar="auto|SPEC", help="re-initialise first: 'auto' or a scheme spec")
    how.add_argument(
        "--lsuv", action="store_true", help="re-initialise first with LSUV (orthogonal + scaling)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed for the factory, the init and the input (default 0)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="run folder to write")
    p.set_defaults(run=run)


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,28,28"`` -> ``(1, 28, 28)``; every entry a positive integer."""
    ok = re.fullmatch(r"\s*\d+(\s*,\s*\d+)*\s*", text) is not None
    dims = tuple(int(t) for t in text.split(",")) if ok else ()
    if not dims or any(d <= 0 for d in dims):
        raise InitlabError(
            f"--input-shape {text!r} must be positive integers separated by commas, e.g. 1,28,28"
        )
    return dims


def load_model(target: str, seed: int) -> nn.Module:
    """Import ``PACKAGE.MODULE:FACTORY``, call it with the global RNG seeded (then restored)."""
    mod_name, sep, attr = target.partition(":")
    if not sep or not mod_name or not attr:
        raise InitlabError(
            f"target {target!r} must look like PACKAGE.MODULE:FACTORY, e.g. initlab.examples:mlp20_relu"
        )
    added = os.getcwd() not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(mod_name)
    except ImportError as err:
        raise InitlabError(f"cannot import module {mod_name!r} of {target!r}: {err}") from err
    except Exception as err:
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
        torch.manual_seed(seed)
        try:
            model = obj()
        except Exception as err:
            raise InitlabError(f"calling {target}() failed: {type(err).__name__}: {err}") from err
    if not isinstance(model, nn.Module):
        raise InitlabError(f"{target}() returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def run(args: argparse.Namespace) -> int:
    shape = parse_shape(args.input_shape)
    if args.batch < 2:
        raise InitlabError(
            f"--batch {args.batch} must be at least 2 (dead units and signal std need a batch)"
        )
    model = load_model(args.target, args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    out = console()
    config = {k: getattr(args, k) for k in ("target", "batch", "init", "lsuv", "seed", "out")}
    config["input_shape"] = list(shape)
    folder = RunFolder(args.out)
    folder.write_config("diagnose", config)
    results: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "target": args.target,
        "input_shape": list(shape),
        "batch": args.batch,
    }
    results.update(seed=args.seed, init=None, lsuv=None)
    if args.init is not None:
        results["init"] = _init(out, model, args.init, gen)
    if args.lsuv:
        batch = torch.randn((args.batch, *shape), generator=gen)
        res = lsuv_(model, batch, generator=gen)
        rows = [[la.name, la.type, la.iterations, la.std, la.scale, la.skipped or ""] for la in res.layers]
        out.print(table("LSUV", ["layer", "type", "iterations", "final std", "scale", "skipped"], rows))
        results["lsuv"] = res.to_dict()
    aud = audit(model)
    diag = diagnose(model, input_shape=shape, batch_size=args.batch, generator=gen)
    _print(out, args.target, aud, diag)
    results["audit"] = aud.to_dict()
    results["diagnosis"] = diag.to_dict()
    folder.write_json("results.json", results)
    from ..viz.diagnose import std_per_layer

    folder.save_figure(std_per_layer(diag), "std_per_layer")
    out.print(f"wrote {', '.join(folder.files)} to {folder.path}")
    return 0


def _init(out: Any, model: nn.Module, spec: str, gen: torch.Generator) -> dict[str, Any]:
    if spec.strip() == "auto":
        plan = auto_init_(model, generator=gen)
        rows = [[s.layer, s.scheme, s.reason] for s in plan.steps]
        title = "init auto" + ("" if plan.traced else f" ({plan.note})")
        out.print(table(title, ["layer", "scheme", "why"], rows))
        return {"spec": "auto", **plan.to_dict()}
    records = init_(model, spec, generator=gen)
    return {"spec": spec, "records": [r.to_dict() for r in records]}


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def _right(t: Any, first: int) -> Any:
    """Right-align columns ``first`` onwards (numbers pre-formatted as strings); no inner lines."""
    for col in t.columns[first:]:
        col.justify = "right"
    t.box = box.SIMPLE_HEAD
    t.pad_edge = False
    return t


def _print(out: Any, target: str, aud: Audit, diag: Diagnosis) -> None:
    rows = []
    for la in diag.layers:
        sat = "-" if la.saturated_fraction is None else f"{la.saturated_fraction:.0%}"
        shape = "x".join(map(str, la.shape[1:])) or "-"
        nums = [la.mean, la.std, la.signal_std, la.grad_std, la.weight_grad_std]  # grad_norm: results.json
        rows.append([la.name, la.type, shape, *map(_g, nums), f"{la.dead_fraction:.0%}", sat])
        rows[-1].append(",".join(la.flags))
    cols = ["layer", "type", "shape", "mean", "std", "signal std", "grad std", "w grad"]
    cols += ["dead", "sat", "flags"]
    t = _right(table(f"diagnose {target}", cols, rows), 2)
    t.columns[0].min_width = min(40, max((len(la.name) for la in diag.layers), default=5))
    t.columns[1].max_width = 11
    t.columns[-1].justify = "left"
    out.print(t)
    wrows = [
        [
            w.name,
            "x".join(map(str, w.shape)),
            w.scheme,
            f"{w.confidence:.2f}",
            _g(w.std),
            w.followed_by or "-",
        ]
        for w in aud.weights
    ]
    cols = ["weight", "shape", "scheme", "confidence", "std", "followed by"]
    out.print(_right(table("audit: which scheme the weights came from", cols, wrows), 3))
    notes = [f"! {f.message}" for f in diag.findings] + [f"! {w.message}" for w in aud.warnings]
    out.print(
        "\n".join(notes)
        if notes
        else "no findings: no vanishing/exploding, dead, saturated or non-finite layers"
    )
