"""A Griffe extension for the API reference: initlab's docstrings, written for reading in the source
and for ``pytest --doctest-modules``, rendered as Markdown.

Doctest blocks (``>>>`` lines and their output, up to a blank line) become ``pycon`` code blocks, and
Sphinx roles (``:func:`x```) plain code spans. The docstrings themselves are not changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj|const):`~?([^`]+)`")


def fence_doctests(text: str) -> str:
    out: list[str] = []
    indent: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if indent is None and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
        elif indent is not None and not stripped:
            out.append(f"{indent}```")
            indent = None
        out.append(line)
    if indent is not None:
        out.append(f"{indent}```")
    return "\n".join(out)


def _markdown(obj: griffe.Object) -> None:
    if obj.docstring is not None:
        obj.docstring.value = _ROLE.sub(r"`\1`", fence_doctests(obj.docstring.value))


class DoctestFences(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        _markdown(obj)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _markdown(pkg)  # the package itself is no "object" event
