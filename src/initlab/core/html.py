"""HTML fragments for results that display themselves in Jupyter (their ``_repr_html_``).

One rule: **every value is escaped here** (:func:`html.escape`), so a label such as
``"<script>alert(1)</script>"`` shows as text. Callers pass plain values; the functions return
:class:`Markup`, a ``str`` that is already HTML, and only ``Markup`` is ever inserted unescaped.
A result's card is a title, a line of facts, tables, lists and at most one inline PNG figure; the
look is left to the notebook's own stylesheet (light and dark themes alike), with the few inline
styles a table needs (numbers right-aligned, long tables scrolled instead of filling the page).

>>> print(bullets(["<script>alert(1)</script>"]))
<ul><li>&lt;script&gt;alert(1)&lt;/script&gt;</li></ul>
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

#: Above this many rows a table scrolls inside a box instead of growing the notebook output.
SCROLL_ROWS = 12


class Markup(str):
    """Text that is already HTML (made by this module): inserted as it is, never escaped again."""

    __slots__ = ()


def escape(value: Any) -> Markup:
    """``value`` as HTML: a :class:`Markup` unchanged, anything else ``str()``-ed and escaped."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value)))


def number(value: Any, digits: int = 4) -> str:
    """A table value as text: floats to ``digits`` significant digits, ``None`` as ``-``.

    >>> number(0.123456), number(1234567.0), number(None), number(float("nan")), number(True)
    ('0.1235', '1.235e+06', '-', 'nan', 'yes')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def percent(value: float | None) -> str:
    """A share in [0, 1] as a percentage (``None`` as ``-``).

    >>> percent(0.5834), percent(0.0), percent(None)
    ('58.3%', '0%', '-')
    """
    if value is None or math.isnan(value):
        return "-"
    return "0%" if value == 0 else f"{100 * value:.3g}%"


_PERCENT = re.compile(r"[-+]?\d[\d.]*(e[-+]?\d+)?%|nan")


def _numeric(value: Any) -> bool:
    """A number, or a share as :func:`percent` writes it (text such as a layer name ``"0"`` is not)."""
    if isinstance(value, bool | Markup):
        return False
    return isinstance(value, int | float) or (
        isinstance(value, str) and _PERCENT.fullmatch(value) is not None
    )


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None) -> Markup:
    """A table: one header row, then ``rows`` (numbers formatted by :func:`number` and right-aligned,
    other values escaped; a :class:`Markup` cell is inserted as it is). A column whose values are
    all numbers (or ``-``) is right-aligned. More than :data:`SCROLL_ROWS` rows scroll in a box of
    about that height."""
    body = [list(row) for row in rows]
    align = []
    for k in range(len(columns)):
        values = [row[k] for row in body if k < len(row) and row[k] is not None and row[k] != "-"]
        align.append("right" if values and all(_numeric(v) for v in values) else "left")
    head = "".join(
        f'<th style="text-align:{a}">{escape(c)}</th>' for c, a in zip(columns, align, strict=False)
    )
    lines = []
    for row in body:
        cells = "".join(
            f'<td style="text-align:{a}">{v if isinstance(v, Markup) else escape(number(v))}</td>'
            for v, a in zip(row, align, strict=False)
        )
        lines.append(f"<tr>{cells}</tr>")
    cap = f'<caption style="text-align:left">{escape(caption)}</caption>' if caption else ""
    out = f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    if len(body) > SCROLL_ROWS:
        out = f'<div style="max-height:{1.9 * SCROLL_ROWS:.0f}em;overflow:auto">{out}</div>'
    return Markup(out)


def bullets(items: Iterable[Any]) -> Markup:
    """An unordered list of escaped lines (empty string for no items)."""
    lines = "".join(f"<li>{escape(item)}</li>" for item in items)
    return Markup(f"<ul>{lines}</ul>" if lines else "")


def paragraph(text: Any) -> Markup:
    """One escaped paragraph."""
    return Markup(f"<p>{escape(text)}</p>")


def image(png: bytes, alt: str) -> Markup:
    """An ``<img>`` holding ``png`` inline as a base64 data URI (no file, no network), scaled down to
    the output's width when wider."""
    data = base64.b64encode(png).decode("ascii")
    return Markup(
        f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}" style="max-width:100%;height:auto">'
    )


def card(title: str, *parts: Markup | str, facts: Iterable[str] = ()) -> Markup:
    """A result's display: a heading (``title``), a line of ``facts`` separated by ``·``, then the
    ``parts`` in order (``Markup`` as it is, plain text as a paragraph; empty parts are skipped)."""
    line = " · ".join(html.escape(f) for f in facts)
    body = [f"<h4>{escape(title)}</h4>"]
    if line:
        body.append(f"<p><small>{line}</small></p>")
    body += [p if isinstance(p, Markup) else paragraph(p) for p in parts if p]
    return Markup(f'<div class="initlab-result">{"".join(body)}</div>')
