"""Shared figure style: a colour-blind-safe palette (Okabe & Ito 2008) and the Agg backend."""

from __future__ import annotations

from typing import Any

from ..core.env import in_notebook

#: Okabe-Ito colours, in the order series are drawn.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display needed) -- except in a
    Jupyter kernel, whose backend (inline by default) is kept, so that ``result.figure(name)``
    shows itself in the notebook."""
    import matplotlib

    if not in_notebook():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def color(i: int) -> str:
    """The ``i``-th palette colour (cycling)."""
    return PALETTE[i % len(PALETTE)]


#: Fixed colours for the classic study's labels, so an init keeps its colour in every figure.
KNOWN = {
    "std=1": PALETTE[0],
    "std=0.01": PALETTE[1],
    "Xavier": PALETTE[2],
    "He": PALETTE[3],
    "Glorot": PALETTE[4],
    "zeros": PALETTE[7],
    "constant(value=0.5)": PALETTE[5],
    "uniform(a=-2, b=2)": PALETTE[4],  # never beside Glorot in our figures; yellow is too pale
}


def colors_for(labels: list[str]) -> list[str]:
    """One colour per label: the classic labels' fixed colours, others the unused palette colours."""
    spare = [c for c in PALETTE if c not in {KNOWN[lb] for lb in labels if lb in KNOWN}]
    out, k = [], 0
    for lb in labels:
        if lb in KNOWN:
            out.append(KNOWN[lb])
        else:
            out.append(spare[k % len(spare)] if spare else color(k))
            k += 1
    return out
