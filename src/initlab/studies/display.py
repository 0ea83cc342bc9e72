"""How a study's result displays itself in Jupyter: one card with its table and its main figure.

Each ``Result._repr_html_`` builds its tables and lists with :mod:`initlab.core.html` (which escapes
every value) and hands them to :func:`card` with the name of its main figure. The figure is drawn
by the result's own ``figure(name)`` and turned into an inline PNG by :func:`initlab.viz.inline.png`
-- viz imported lazily, inside the function, as a result's figure methods do (the layer rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core.html import Markup, image
from ..core.html import card as html_card


def figure_image(result: Any, name: str, alt: str) -> Markup:
    """``result.figure(name)`` as an inline ``<img>`` (PNG, base64); the figure is closed after."""
    from ..viz.inline import png

    return image(png(result.figure(name)), alt)


def card(
    title: str,
    *parts: Markup | str,
    facts: Iterable[str] = (),
    figure: tuple[Any, str, str] | None = None,
) -> str:
    """A study result's HTML: ``title``, ``facts``, the ``parts`` (tables, lists, text), then the
    figure ``(result, name, alt)`` if given."""
    shown = [*parts, figure_image(*figure)] if figure is not None else list(parts)
    return str(html_card(title, *shown, facts=facts))
