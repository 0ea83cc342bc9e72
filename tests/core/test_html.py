"""initlab.core.html: the escaped fragments every result's ``_repr_html_`` is built from; and
``in_notebook``, which tells a Jupyter kernel (HTML output, inline figures) from other Python."""

from __future__ import annotations

import base64
import re
import sys
import types

import pytest

from initlab.core.env import in_notebook
from initlab.core.html import SCROLL_ROWS, Markup, bullets, card, escape, image, number, percent, table

EVIL = "<script>alert('x')</script>"


def test_every_value_is_escaped_and_markup_is_not_escaped_twice() -> None:
    out = card(EVIL, table([EVIL, "n"], [[EVIL, 1]]), bullets([EVIL]), EVIL, facts=[EVIL])
    assert "<script>" not in out and "</script>" not in out
    # title, facts, header, cell, list item, paragraph: each shown as text, once
    assert out.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") == 6
    # a Markup cell (a fragment this module made) is inserted as it is, once
    inner = bullets(["a & b"])
    assert table(["x"], [[inner]]).count("<ul><li>a &amp; b</li></ul>") == 1
    assert escape(inner) is inner and escape("a & b") == "a &amp; b"


def test_numbers_are_formatted_and_right_aligned_text_left() -> None:
    out = table(["layer", "std", "dead", "note"], [["0", 0.123456, percent(0.5), None], ["1", 2.0, "-", "x"]])
    heads = re.findall(r'<th style="text-align:(\w+)">', out)
    assert heads == ["left", "right", "right", "left"]  # a layer named "0" is text
    assert ">0.1235<" in out and ">50%<" in out and ">-<" in out
    assert number(float("inf")) == "inf" and number(3) == "3" and number(False) == "no"


def test_long_tables_scroll_short_ones_do_not() -> None:
    assert "overflow:auto" not in table(["i"], [[i] for i in range(SCROLL_ROWS)])
    assert "overflow:auto" in table(["i"], [[i] for i in range(SCROLL_ROWS + 1)])


def test_image_is_an_inline_data_uri_with_escaped_alt() -> None:
    png = b"\x89PNG\r\n\x1a\nrest"
    out = image(png, 'a "b" <c>')
    assert isinstance(out, Markup)
    data = re.fullmatch(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)".*>', out)
    assert data is not None
    assert base64.b64decode(data.group(1)) == png
    assert data.group(2) == "a &quot;b&quot; &lt;c&gt;"


def test_in_notebook_means_an_ipython_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    class Shell:
        def __init__(self, kernel: object) -> None:
            self.kernel = kernel

    fake = types.ModuleType("IPython")
    monkeypatch.setitem(sys.modules, "IPython", fake)
    for shell, expected in [(None, False), (Shell(None), False), (Shell(object()), True)]:
        fake.get_ipython = lambda shell=shell: shell  # type: ignore[attr-defined]
        assert in_notebook() is expected
    monkeypatch.delitem(sys.modules, "IPython")
    assert in_notebook() is False  # plain Python: IPython never imported
