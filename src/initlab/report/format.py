"""Numbers in the report: how each is rounded (once, when it is stored) and how it is written.

Rounding: :func:`sig` (significant digits: stds, ratios, ``chi_1``), :func:`dec` (decimals: losses,
accuracies, seconds), :func:`pct` (a share in [0, 1] as a percentage). A rounded value is what the
findings store and what decisions compare, so the text never contradicts its own numbers.
Writing: :func:`fmt` is the one way a number becomes text (it parses back to the stored value);
:func:`code` writes a label or spec as inline code, never read as a number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any


def finite(x: Any) -> float | None:
    """``x`` as a float, or None if it is missing (``None``), a boolean, NaN or infinite."""
    if x is None or isinstance(x, bool):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def sig(x: Any, digits: int = 3) -> float | None:
    """``x`` rounded to ``digits`` significant digits (None if missing or not finite).

    >>> sig(0.0123456), sig(44512.0), sig(None)
    (0.0123, 44500.0, None)
    """
    v = finite(x)
    return None if v is None else float(f"{v:.{digits}g}")


def dec(x: Any, places: int) -> float | None:
    """``x`` rounded to ``places`` decimals (None if missing or not finite)."""
    v = finite(x)
    return None if v is None else round(v, places)


def pct(x: Any, places: int = 1) -> float | None:
    """A share in [0, 1] as a percentage rounded to ``places`` decimals.

    >>> pct(0.12345), pct(float("nan"))
    (12.3, None)
    """
    v = finite(x)
    return None if v is None else round(100 * v, places)


def plus_zero(v: float | None) -> float | None:
    """``-0.0`` as ``0.0`` (a rounded mean of about 0 is written 0)."""
    return None if v is None else v + 0.0


def fmt(v: float | int | None, places: int | None = None) -> str:
    """The text of a stored number. With ``places``: that many decimals (for values stored rounded to
    them). Otherwise the shortest round-trip form without a trailing ``.0``, and an unpadded exponent
    for values below 1e-3 or from 1e5 on. Either way the text parses back to the stored value.

    >>> fmt(93.4), fmt(420), fmt(2.0), fmt(1.31e-06), fmt(2600000.0), fmt(1.0, 2), fmt(None)
    ('93.4', '420', '2', '1.31e-6', '2.6e6', '1.00', '—')
    """
    if v is None:
        return "—"
    if isinstance(v, bool):
        raise TypeError("fmt takes numbers, not booleans")
    if isinstance(v, int):
        return str(v)
    if places is not None:
        return f"{v:.{places}f}"
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        sign, digits, exp = Decimal(repr(v)).normalize().as_tuple()
        text = "".join(map(str, digits))
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{len(digits) - 1 + int(exp)}"
    if v.is_integer():
        return str(int(v))
    return repr(v)


def percent(v: float | None, places: int = 1) -> str:
    """A stored percentage with its sign (``"—"`` if missing).

    >>> percent(97.5, 2), percent(None)
    ('97.50%', '—')
    """
    return "—" if v is None else f"{fmt(v, places)}%"


def code(label: str) -> str:
    """A label or spec as inline code (never read as a number)."""
    return f"`{label}`"


def names(labels: Sequence[str]) -> str:
    """Labels as code, joined as in a sentence.

    >>> names(["a"]), names(["a", "b"]), names(["a", "b", "c"])
    ('`a`', '`a` and `b`', '`a`, `b` and `c`')
    """
    quoted = [code(x) for x in labels]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]
