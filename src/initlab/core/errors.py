"""The one exception type initlab raises for bad input.

Messages repeat what the user wrote (the spec string, the parameter, the shape) so that a single
line on the command line is enough to fix the mistake.
"""

from __future__ import annotations

import difflib
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
