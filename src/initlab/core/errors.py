"""The one exception type initlab raises for bad input.

Messages repeat what the user wrote (the spec string, the parameter, the shape) so that a single
line on the command line is enough to fix the mistake.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Iterable


class InitlabError(ValueError):
    """Bad input: an unknown name, a malformed spec, an invalid parameter, a corrupt file."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return a ``" (did you mean: a, b?)"`` hint with the closest valid names, or ``""``."""
    pool = sorted(candidates)
    found = difflib.get_close_matches(name, pool, n=n, cutoff=0.5)
    if not found:
        found = [c for c in pool if name and (name in c or c in name)][:n]
    return f" (did you mean: {', '.join(found)}?)" if found else ""


def unknown(kind: str, name: str, candidates: Iterable[str]) -> InitlabError:
    """An ``InitlabError`` for an unknown registry name, with suggestions."""
    pool = sorted(candidates)
    hint = closest(name, pool)
    if not hint:
        hint = f"; known: {', '.join(pool)}"
    return InitlabError(f"unknown {kind} {name!r}{hint}")


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """``value`` as a Python int ``>= minimum`` (a bool is not an integer); ``InitlabError`` quoting it.

    >>> check_int(3, "layers"), check_int(0, "eval_every", minimum=0)
    (3, 0)
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InitlabError(f"{name} must be an integer, got {value!r}") from None
    if n < minimum:
        raise InitlabError(f"{name} must be >= {minimum}, got {n}")
    return n
