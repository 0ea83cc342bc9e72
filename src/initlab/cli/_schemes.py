"""``initlab schemes``: the catalogue as a table, or one scheme resolved for given fans."""

from __future__ import annotations

import argparse
import inspect
import math
from typing import Any

from .. import scheme, schemes
from ..core.errors import InitlabError
from ..core.spec import signature_params
from ..schemes import Normal, SchemeInfo, TruncatedNormal, Uniform, scheme_info
from ._console import console, table


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "schemes",
        help="list the initialization schemes, or resolve one for given fans",
        description="Without SPEC: the catalogue (name, parameters with their defaults, "
        "distribution, std formula, reference). "
        "With SPEC (e.g. he_normal or 'normal(std=0.01)'): its std and bounds for a weight "
        "of shape (fan_out, fan_in).",
    )
    p.add_argument("spec", nargs="?", help="a scheme spec string, e.g. he_normal(mode=fan_out)")
    p.add_argument("--fan-in", type=int, default=100, help="fan_in for SPEC (default 100)")
    p.add_argument("--fan-out", type=int, default=100, help="fan_out for SPEC (default 100)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = console()
    if args.spec is None:
        infos = [scheme_info(name) for name in schemes()]
        catalogue = [[i.name, parameters(i), i.distribution, i.formula, i.reference] for i in infos]
        columns = ["name", "parameters", "distribution", "std", "reference"]
        out.print(table("initlab schemes", columns, catalogue))
        out.print("Resolve one: initlab schemes he_normal --fan-in 100 --fan-out 50")
        return 0
    if args.fan_in <= 0 or args.fan_out <= 0:
        raise InitlabError(f"--fan-in and --fan-out must be positive, got {args.fan_in} and {args.fan_out}")
    sch = scheme(args.spec)
    shape = (args.fan_out, args.fan_in)
    law = sch.law(shape)
    rows: list[list[Any]] = [
        ["spec", sch.spec],
        ["label", sch.label],
        ["distribution", sch.info.distribution],
        ["weight shape", f"{shape} (fan_in={args.fan_in}, fan_out={args.fan_out})"],
        ["std", law.std],
        ["mean", law.mean],
    ]
    if isinstance(law, Uniform):
        rows.append(["bounds", f"[{law.low:.6g}, {law.high:.6g}]"])
    if isinstance(law, TruncatedNormal):
        rows.append(["parent sigma", law.scale])
        rows.append(["truncated to", f"[{law.low:.6g}, {law.high:.6g}]"])
    if isinstance(law, Normal):
        rows.append(["99.7% within", f"[{law.mean - 3 * law.std:.6g}, {law.mean + 3 * law.std:.6g}]"])
    rows.append(["formula", sch.info.formula])
    rows.append(["reference", sch.info.reference])
    out.print(table(f"{sch.text}", ["field", "value"], [[k, _v(v)] for k, v in rows]))
    return 0


def parameters(info: SchemeInfo) -> str:
    """A scheme's spec parameters as it is written: ``mode='fan_in', gain=1.0``; a parameter
    without a default is bare (``value``); ``-`` for none."""
    parts = []
    for name, p in signature_params(info.law, frozenset({"shape"})).items():
        parts.append(name if p.default is inspect.Parameter.empty else f"{name}={p.default!r}")
    return ", ".join(parts) or "-"


def _v(v: object) -> object:
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:.6g}"
    return v
