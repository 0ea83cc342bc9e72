"""Draw the figures the guides show (README sections and the documentation site): ``make docs-figures``.

Each comes from a real run of a study at its defaults (seed 0) and is written, as the run folder
writes it, to ``docs/figures/<study>-<figure>.png``. The PNGs are committed, so ``make docs`` only
reads them; run this again when a study or a figure changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import torch

import initlab
from initlab.studies import diagnose

OUT = Path(__file__).resolve().parent / "figures"


def save(study: str, figures: dict[str, object], names: tuple[str, ...] | None = None) -> None:
    for name, fig in figures.items():
        if names is not None and name not in names:
            continue
        path = OUT / f"{study}-{name}.png"
        fig.savefig(path, dpi=80)  # type: ignore[attr-defined]
        print(path.relative_to(OUT.parent.parent), file=sys.stderr)


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    sigmoid = ["std=1: normal(std=1)", "std=0.01: normal(std=0.01)", "Xavier: lecun_normal"]
    save("probe", initlab.probe(activation="sigmoid", inits=sigmoid).figures())
    save("symmetry", initlab.symmetry(activation="relu").figures(), ("distinct_units", "training"))
    save("compare", initlab.compare().figures())
    cfg = initlab.studies.DiagnoseConfig("initlab.examples:mlp20_relu", input_shape=(100,))
    save("diagnose", diagnose.run(cfg).figures())


if __name__ == "__main__":
    main()
