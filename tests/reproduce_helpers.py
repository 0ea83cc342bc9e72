"""Shared by the reproduce tests: the check that every number in the report is a measured value.

The ``--quick`` run they read is the session fixture ``reproduce_quick`` (tests/conftest.py)."""

from __future__ import annotations

import re
from typing import Any

#: A number as the report writes it: optional minus, digits, decimals, exponent ("1.31e-6").
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
CODE_SPAN = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
REFERENCES_HEADING = "\n## References\n"


def quoted_numbers(markdown: str) -> list[str]:
    """Every number in the report's prose and tables.

    Left out, on principle: the closing "References" section (bibliography: years, not
    measurements), inline code (labels such as `std=0.01`, specs, versions, commands) and link/image
    targets (file names). A ``-`` directly after a letter or digit is a hyphen ("layer-1"), not a
    minus sign.
    """
    body = markdown.split(REFERENCES_HEADING)[0]
    text = LINK_TARGET.sub("]", CODE_SPAN.sub(" ", body))
    out = []
    for m in NUMBER.finditer(text):
        token = m.group()
        before = text[m.start() - 1] if m.start() else " "
        if token.startswith("-") and (before.isalnum() or before in "_-"):
            token = token[1:]
        out.append(token)
    return out


def numeric_leaves(obj: Any) -> set[float]:
    """Every number (not boolean) anywhere in a JSON value."""
    found: set[float] = set()
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return found
    if isinstance(obj, int | float):
        found.add(float(obj))
    elif isinstance(obj, dict):
        for v in obj.values():
            found |= numeric_leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            found |= numeric_leaves(v)
    return found


def unquoted(markdown: str, findings: dict[str, Any]) -> list[str]:
    """Numbers of ``markdown`` that are not values of ``findings``."""
    values = numeric_leaves(findings)
    return [t for t in quoted_numbers(markdown) if float(t) not in values]
