"""A sweep's grid: axes of values, their product as cells, and each cell's canonical key.

Axes: ``dataset``, ``model`` (family specs), ``activation``, ``init`` (scheme specs), ``optimizer``,
``lr``, ``iterations``, and the seeds. A family's or a scheme's parameters may be axes of their own:
``model_param`` / ``init_param`` entries ``NAME=V1,V2,...`` (or ``NAME=START:STOP:NUM``, ``NUM``
evenly spaced values, ends included) are applied to every ``model`` / ``init`` spec, so
``init=variance``, ``init_param=("w=1,1.5,2", "b=0.05")`` is three schemes. A parameter both written
in a spec and given as an axis, a parameter given twice, a repeated value or an axis without values
is an :class:`InitlabError` of one line.

A cell's **key** is the first 16 hex digits of SHA-256 over the canonical JSON (sorted keys) of
everything that determines its numbers: its grid values, its seed, and the fixed training settings
(:func:`cell_key`). Equal cells of two grids have equal keys, so a store skips what it holds.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import product
from typing import Any

from ..core.errors import InitlabError
from ..core.spec import Value, canonical, format_value, parse_spec

#: The axes whose values group cells into one ensemble (everything but the init and the seed).
GROUP_AXES = ("dataset", "model", "activation", "optimizer", "lr", "iterations")


@dataclass(frozen=True)
class Cell:
    """One trained model of the grid: its grid values (specs canonical) and its model seed."""

    dataset: str
    model: str
    activation: str
    init: str
    optimizer: str
    lr: float
    iterations: int
    seed: int

    def group(self) -> tuple[Any, ...]:
        """The values cells must share to be trained as one ensemble."""
        return tuple(getattr(self, a) for a in GROUP_AXES)

    def values(self) -> dict[str, Any]:
        return asdict(self)


def cell_key(cell: Cell, fixed: Mapping[str, Any]) -> str:
    """The canonical hash of ``cell`` under the fixed training settings ``fixed`` (module docstring)."""
    doc = {"cell": cell.values(), "fixed": dict(fixed)}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _one_value(name: str, text: str) -> Value:
    """``text`` as a spec value (number, bool or name), parsed exactly as a spec's parameter."""
    kwargs = parse_spec(f"x({name}={text})").kwargs
    return kwargs[0][1]


def parse_values(entry: str, flag: str) -> tuple[str, list[Value]]:
    """``NAME=V1,V2`` or ``NAME=START:STOP:NUM`` -> ``(NAME, values)``.

    >>> parse_values("w=1,1.5", "--init-param")
    ('w', [1, 1.5])
    >>> parse_values("b=0:0.1:3", "--init-param")
    ('b', [0.0, 0.05, 0.1])
    """
    name, sep, rest = entry.partition("=")
    name, rest = name.strip(), rest.strip()
    if not sep or not name.isidentifier():
        raise InitlabError(f"{flag} {entry!r} must be NAME=V1,V2,... (or NAME=START:STOP:NUM)")
    if not rest:
        raise InitlabError(f"the grid is empty: {flag} {name} has no values in {entry!r}")
    if ":" in rest:
        parts = rest.split(":")
        try:
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise InitlabError(f"{flag} {entry!r}: START:STOP:NUM needs two numbers and a count") from None
        if len(parts) != 3 or num < 1 or not (math.isfinite(start) and math.isfinite(stop)):
            raise InitlabError(f"{flag} {entry!r}: START:STOP:NUM needs two finite numbers and a count >= 1")
        step = (stop - start) / (num - 1) if num > 1 else 0.0
        values: list[Value] = [round(start + i * step, 12) for i in range(num)]
    else:
        values = [_one_value(name, v.strip()) for v in rest.split(",")]
    return name, unique(values, f"{flag} {name}")


def unique(values: Iterable[Any], what: str) -> list[Any]:
    """``values`` as a list; an empty axis or a repeated value is an error naming ``what``."""
    out = list(values)
    if not out:
        raise InitlabError(f"the grid is empty: {what} has no values")
    seen: set[str] = set()
    for v in out:
        shown = format_value(v) if isinstance(v, float | int | str | bool) else repr(v)
        if shown in seen:
            raise InitlabError(f"{what} repeats the value {shown}; give each value once")
        seen.add(shown)
    return out


def param_axes(entries: Sequence[str], flag: str) -> dict[str, list[Value]]:
    """The ``NAME=values`` entries as ``{NAME: values}``; a name given twice is an error."""
    axes: dict[str, list[Value]] = {}
    for entry in entries:
        name, values = parse_values(entry, flag)
        if name in axes:
            raise InitlabError(f"{flag} gives {name!r} twice; put all its values in one entry: {name}=V1,V2")
        axes[name] = values
    return axes


def expand_specs(specs: Sequence[str], axes: Mapping[str, list[Value]], what: str, flag: str) -> list[str]:
    """Every spec of ``specs`` with every combination of the parameter ``axes`` (spec texts)."""
    out: list[str] = []
    for text in unique(specs, f"--{what}"):
        parsed = parse_spec(text)
        if parsed.label is not None:
            raise InitlabError(f"a sweep names cells by their values: drop the label of {text!r}")
        if parsed.args and axes:
            raise InitlabError(f"give the parameters of {text!r} by name when {flag} adds others")
        written = dict(parsed.kwargs)
        for name in axes:
            if name in written:
                raise InitlabError(
                    f"conflicting values: {what} parameter {name!r} is both in {text!r} and in {flag}"
                )
        if not axes:
            out.append(text)
            continue
        names = list(axes)
        for combo in product(*(axes[n] for n in names)):
            out.append(canonical(parsed.name, {**written, **dict(zip(names, combo, strict=True))}))
    return out


__all__ = ["GROUP_AXES", "Cell", "cell_key", "expand_specs", "param_axes", "parse_values", "unique"]
