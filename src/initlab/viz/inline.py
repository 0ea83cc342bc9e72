"""Figures as PNG bytes for inline display (a result's ``_repr_html_`` in Jupyter)."""

from __future__ import annotations

import io
from typing import Any

from ._style import pyplot

#: Resolution of inline figures: small enough for a notebook (a figure of 12 x 4 inches is
#: 960 x 320 pixels, tens of kilobytes), sharp enough to read the labels.
INLINE_DPI = 80


def png(fig: Any, *, dpi: int = INLINE_DPI) -> bytes:
    """``fig`` (a matplotlib Figure) as PNG bytes; the figure is closed, so a notebook's inline
    backend does not show it a second time."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        pyplot().close(fig)
    return buf.getvalue()
