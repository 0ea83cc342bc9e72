"""Reading a result's ``_repr_html_`` back in tests: its rows, its inline figures, its escaping."""

from __future__ import annotations

import base64
import html
import io
import re

EVIL = "<script>alert('x')</script>"  #: a label that must show as text, never run
_IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)


def rows(page: str) -> list[list[str]]:
    """Every table row's cells, as the reader sees them (HTML entities decoded)."""
    return [[html.unescape(c) for c in _CELL.findall(r)] for r in _ROW.findall(page)]


def has_row(page: str, *cells: str) -> bool:
    """Whether one row starts with ``cells`` (as text)."""
    return any(r[: len(cells)] == list(cells) for r in rows(page))


def pngs(page: str) -> list[tuple[int, int]]:
    """The size of every inline PNG (each must decode as a PNG image)."""
    from PIL import Image

    sizes = []
    for data in _IMG.findall(page):
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            img.load()
            assert img.format == "PNG"
            sizes.append(img.size)
    return sizes


def escaped(page: str) -> bool:
    """``EVIL`` appears only escaped: as text, never as a tag."""
    return "<script" not in page and html.escape(EVIL) in page
