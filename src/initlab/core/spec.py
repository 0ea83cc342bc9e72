"""Parser for spec strings: ``[label:] name[(arg, key=value, ...)]``.

Used for schemes (``he_normal(mode=fan_out)``, ``Xavier: lecun_normal``) and activations
(``leaky_relu(negative_slope=0.2)``). Values are numbers, ``true``/``false``, bare identifiers or
quoted strings. Every malformed input raises :class:`InitlabError` quoting the spec.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InitlabError

Value = float | int | str | bool

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z0-9_.])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<str>'[^']*'|"[^"]*")
    | (?P<punct>[=,()])
    )""",
    re.VERBOSE,
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ParsedSpec:
    """A spec string split into its parts; ``text`` is the input as written (stripped)."""

    text: str
    label: str | None
    name: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]


def _split_label(text: str) -> tuple[str | None, str]:
    depth = 0
    cut = -1
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == ":" and depth == 0:
            cut = i
    if cut < 0:
        return None, text
    label, rest = text[:cut].strip(), text[cut + 1 :].strip()
    if not label:
        raise InitlabError(f"empty label before ':' in spec {text!r}")
    return label, rest


def _tokens(text: str, body: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    body = body.rstrip()
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if m is None or m.end() == pos:
            bad = body[pos:].strip()[:10]
            raise InitlabError(f"unexpected {bad!r} in spec {text!r}")
        kind = m.lastgroup
        assert kind is not None  # one group always matches
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _value(kind: str, tok: str) -> Value:
    if kind == "num":
        return float(tok) if any(c in tok for c in ".eE") else int(tok)
    if kind == "str":
        return tok[1:-1]
    low = tok.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("inf", "nan"):
        return float(low)
    return tok


def parse_spec(spec: str) -> ParsedSpec:
    """Parse ``[label:] name[(args)]``; raise :class:`InitlabError` on anything malformed."""
    if not isinstance(spec, str):
        raise InitlabError(f"a spec must be a string, got {type(spec).__name__}: {spec!r}")
    text = spec.strip()
    if not text:
        raise InitlabError("empty spec string")
    label, rest = _split_label(text)
    m = _NAME.match(rest)
    if m is None:
        raise InitlabError(f"spec {text!r} must start with a name, e.g. 'he_normal' or 'normal(std=0.01)'")
    name = m.group(0)
    tail = rest[m.end() :].strip()
    args: list[Value] = []
    kwargs: dict[str, Value] = {}
    if tail:
        if not tail.startswith("("):
            raise InitlabError(f"expected '(' after {name!r} in spec {text!r}")
        if not tail.endswith(")"):
            raise InitlabError(f"missing ')' at the end of spec {text!r}")
        toks = _tokens(text, tail[1:-1])
        i = 0
        while i < len(toks):
            if toks[i][0] == "punct":
                raise InitlabError(f"unexpected {toks[i][1]!r} in spec {text!r}")
            if i + 1 < len(toks) and toks[i + 1] == ("punct", "="):
                if toks[i][0] != "name":
                    raise InitlabError(f"bad parameter name {toks[i][1]!r} in spec {text!r}")
                key = toks[i][1]
                if i + 2 >= len(toks) or toks[i + 2][0] == "punct":
                    raise InitlabError(f"missing value for {key!r} in spec {text!r}")
                if key in kwargs:
                    raise InitlabError(f"parameter {key!r} given twice in spec {text!r}")
                kwargs[key] = _value(*toks[i + 2])
                i += 3
            else:
                if kwargs:
                    raise InitlabError(f"positional value after keyword in spec {text!r}")
                args.append(_value(*toks[i]))
                i += 1
            if i < len(toks):
                if toks[i] != ("punct", ","):
                    raise InitlabError(f"expected ',' before {toks[i][1]!r} in spec {text!r}")
                i += 1
                if i == len(toks):
                    raise InitlabError(f"trailing ',' in spec {text!r}")
    return ParsedSpec(text, label, name, tuple(args), tuple(kwargs.items()))


def format_value(v: Value) -> str:
    """Render a parameter value the way the parser reads it back."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v if _NAME.fullmatch(v) else repr(v)
    return repr(v)


def signature_params(fn: Callable[..., Any], skip: frozenset[str]) -> dict[str, inspect.Parameter]:
    """The keyword parameters of a registered function (its spec parameters), in order."""
    sig = inspect.signature(fn)
    return {n: p for n, p in sig.parameters.items() if n not in skip and p.kind is p.KEYWORD_ONLY}


def bind_params(
    spec: ParsedSpec, kind: str, fn: Callable[..., Any], skip: frozenset[str]
) -> dict[str, Value]:
    """Bind a parsed spec's values to ``fn``'s keyword parameters, checking names and types.

    Types come from the annotations: ``float`` accepts ints, ``Literal[...]`` lists the choices.
    """
    params = signature_params(fn, skip)
    names = list(params)
    if len(spec.args) > len(names):
        raise InitlabError(
            f"{kind} {spec.name!r} takes {len(names)} parameter(s) ({', '.join(names) or 'none'}), "
            f"got {len(spec.args)} in {spec.text!r}"
        )
    given: dict[str, Value] = dict(zip(names, spec.args, strict=False))
    for key, val in spec.kwargs:
        if key not in params:
            hint = f"; it takes: {', '.join(names)}" if names else "; it takes no parameters"
            raise InitlabError(f"{kind} {spec.name!r} has no parameter {key!r} in {spec.text!r}{hint}")
        if key in given:
            raise InitlabError(f"parameter {key!r} given twice in {spec.text!r}")
        given[key] = val
    hints = typing.get_type_hints(fn)
    out: dict[str, Value] = {}
    for key, val in given.items():
        out[key] = _coerce(spec, key, val, hints.get(key))
    return out


def _coerce(spec: ParsedSpec, key: str, val: Value, hint: Any) -> Value:
    where = f"{key}={format_value(val)} in {spec.text!r}"
    if typing.get_origin(hint) is typing.Literal:
        choices = typing.get_args(hint)
        if val not in choices:
            raise InitlabError(f"{where}: must be one of {', '.join(map(str, choices))}")
        return val
    if hint is float:
        if isinstance(val, bool) or not isinstance(val, int | float):
            raise InitlabError(f"{where}: must be a number")
        f = float(val)
        if f != f or f in (float("inf"), float("-inf")):
            raise InitlabError(f"{where}: must be finite")
        return f
    if hint is int:
        if isinstance(val, bool) or not isinstance(val, int):
            raise InitlabError(f"{where}: must be an integer")
        return val
    if hint is bool:
        if not isinstance(val, bool):
            raise InitlabError(f"{where}: must be true or false")
        return val
    if hint is str:
        if not isinstance(val, str):
            raise InitlabError(f"{where}: must be a name")
        return val
    return val


def canonical(name: str, params: Mapping[str, Value]) -> str:
    """``name(k=v, ...)`` or just ``name`` when there are no parameters."""
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={format_value(v)}' for k, v in params.items())})"
