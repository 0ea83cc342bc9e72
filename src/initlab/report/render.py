"""The report's Jinja2 environment: where its prose lives and how a template's text becomes a line.

Templates (``initlab/report/templates``): ``statements.j2`` (one macro per kind of finding
sentence), ``sections.j2`` (the report's sections: paragraphs, lists, tables, figures and their
captions), and the two page skeletons ``report.md.j2`` and ``report.html.j2``, which render the same
sections. Prose may be wrapped freely in a template: :func:`oneline` turns a rendered sentence or
paragraph into one line (runs of whitespace become one space, none before ``. , ; : )`` or after
``(``). Filters: ``fmt`` (:func:`~initlab.report.format.fmt`), ``pct`` (a stored percentage with its
sign), ``code``, ``names``, ``oneline``, ``inline`` (HTML: escape, then inline code, bold and
emphasis) and ``md_cell``.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

from . import decisions
from .format import code, fmt, names, percent

_SPACE = re.compile(r"\s+")
_BEFORE = re.compile(r" ([.,;:)])")
_AFTER = re.compile(r"\( ")


def oneline(text: Any) -> str:
    """One line of prose from wrapped template text.

    >>> oneline("  the std (\\n  ratio 2\\n) , then\\n.")
    'the std (ratio 2), then.'
    """
    out = _SPACE.sub(" ", str(text)).strip()
    return _AFTER.sub("(", _BEFORE.sub(r"\1", out))


_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<![\w*])\*([^*]+)\*(?![\w*])")


def inline_html(text: str) -> str:
    """Escape ``text`` and turn ```code```, ``**bold**`` and ``*emphasis*`` into HTML.

    >>> inline_html("`std=0.01` <b> **ok** *x*")
    '<code>std=0.01</code> &lt;b&gt; <strong>ok</strong> <em>x</em>'
    """
    pieces = _CODE.split(text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append(f"<code>{html.escape(piece)}</code>")
        else:
            esc = html.escape(piece, quote=False)
            esc = _BOLD.sub(r"<strong>\1</strong>", esc)
            out.append(_EM.sub(r"<em>\1</em>", esc))
    return "".join(out)


def md_cell(text: str) -> str:
    """A Markdown table cell: ``|`` escaped, on one line."""
    return text.replace("|", "\\|").replace("\n", " ")


@functools.cache
def environment(page: str | None = None) -> Any:
    """The report's Jinja2 environment: for prose (``statements.j2``, ``sections.j2``; whitespace is
    left as written, :func:`oneline` reads it), or for a ``page`` skeleton, ``"md"`` or ``"html"``
    (autoescaped)."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("initlab.report", "templates"),
        autoescape=page == "html",
        trim_blocks=page is not None,
        lstrip_blocks=page is not None,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(
        fmt=fmt,
        pct=percent,
        code=code,
        names=names,
        oneline=oneline,
        inline=lambda s: Markup(inline_html(str(s))),
        md_cell=md_cell,
    )
    env.globals.update(
        loss_target=decisions.LOSS_TARGET,
        std_ratio_limit=decisions.STD_RATIO_LIMIT,
        saturated_limit_pct=decisions.SATURATED_LIMIT_PCT,
        dead_limit_pct=decisions.DEAD_LIMIT_PCT,
        collapse_fraction=decisions.COLLAPSE_FRACTION,
        classic_fastest=decisions.CLASSIC_FASTEST,
    )
    return env


@functools.cache
def _statements() -> Any:
    return environment().get_template("statements.j2").module


def say(macro: str, *args: Any) -> str:
    """The sentence of ``statements.j2``'s ``macro`` for ``args``, as one line."""
    return oneline(getattr(_statements(), macro)(*args))
