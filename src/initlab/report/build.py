"""Build the reproduce report -- ``report.html`` (self-contained) and ``report.md`` -- from a results
document and the figure files next to it.

Wiring only: :func:`build` derives the findings from the measurements in ``doc``
(:func:`initlab.report.findings.derive`; a stored ``findings`` entry is ignored), lets
``templates/sections.j2`` lay them out as sections of paragraphs, lists, tables and figures (all the
prose is there), and renders that one layout twice: ``report.html.j2`` (autoescaped, CSS inline,
each figure an inline base64 PNG with alt text, no JavaScript, no external URL) and
``report.md.j2`` (figures referenced as the PNG files beside it).
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings import derive
from .render import environment, inline_html, oneline, say

__all__ = [
    "DEEP_FIGURES",
    "FIGURES",
    "Report",
    "Section",
    "build",
    "inline_html",
    "png_size",
    "render_html",
    "render_markdown",
]

#: Figure stems, in the order the report shows them (``<stem>.png`` in the figure folder).
FIGURES = (
    "symmetry_units",
    "symmetry_training",
    "histograms_sigmoid",
    "histograms_relu",
    "histograms_tanh",
    "std_per_layer",
    "glorot_vs_xavier",
    "mnist_compare",
)
#: The figure of the depth part, after those, in a run with ``--deep``.
DEEP_FIGURES = ("depth",)


@dataclass(frozen=True)
class Figure:
    stem: str
    caption: str
    alt: str


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]
    numeric: list[bool]


@dataclass
class Section:
    """One section of the report: blocks ``(kind, value)`` in order, filled by ``sections.j2``.
    Prose arrives as written in the template and is kept as one line (:func:`oneline`)."""

    id: str
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def p(self, text: str) -> None:
        self.blocks.append(("p", oneline(text)))

    def items(self, texts: list[str]) -> None:
        if texts:
            self.blocks.append(("list", [oneline(t) for t in texts]))

    def h3(self, text: str) -> None:
        self.blocks.append(("h3", oneline(text)))

    def note(self, text: str) -> None:
        self.blocks.append(("note", oneline(text)))

    def table(self, caption: str, header: list[str], rows: list[list[str]], numeric: list[bool]) -> None:
        self.blocks.append(("table", Table(oneline(caption), list(header), rows, list(numeric))))

    def figure(self, stem: str, caption: str, alt: str) -> None:
        self.blocks.append(("figure", Figure(stem, oneline(caption), oneline(alt))))


@dataclass(frozen=True)
class Report:
    html: str
    markdown: str
    findings: dict[str, Any]


def sections(doc: dict[str, Any], findings: dict[str, Any], figures: set[str]) -> list[Section]:
    """The report's sections, in the study's order; the references last."""
    out: list[Section] = []

    def section(id: str, title: str) -> Section:
        sec = Section(id, title)
        out.append(sec)
        return sec

    command = f"initlab reproduce --seed {doc['config']['seed']}" + (" --quick" if findings["quick"] else "")
    command += " --deep" if "depth" in findings else ""
    environment().get_template("sections.j2").render(
        f=findings, env=doc["environment"], command=command, figs=figures, section=section
    )
    return out


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (from its IHDR chunk)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _title(findings: dict[str, Any]) -> str:
    return say("title", findings["quick"])


def render_markdown(doc: dict[str, Any], figures: set[str]) -> tuple[str, dict[str, Any]]:
    """``report.md`` (figures as ``<stem>.png`` beside it) and the findings it was built from."""
    findings = derive(doc)
    text: str = (
        environment("md")
        .get_template("report.md.j2")
        .render(
            title=_title(findings), partial=findings["partial"], sections=sections(doc, findings, figures)
        )
    )
    return text, findings


def render_html(doc: dict[str, Any], figure_dir: str | Path) -> str:
    """``report.html``: one self-contained file, figures inline."""
    findings = derive(doc)
    images = {}
    for stem in FIGURES + DEEP_FIGURES:
        path = Path(figure_dir) / f"{stem}.png"
        if path.is_file():
            data = path.read_bytes()
            w, h = png_size(data)
            images[stem] = {
                "src": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
                "w": w,
                "h": h,
            }
    out: str = (
        environment("html")
        .get_template("report.html.j2")
        .render(
            title=_title(findings),
            partial=findings["partial"],
            sections=sections(doc, findings, set(images)),
            images=images,
        )
    )
    return out


def build(doc: dict[str, Any], figure_dir: str | Path) -> Report:
    """Both renderings from ``doc`` and the PNGs in ``figure_dir`` (missing figures are left out)."""
    present = {stem for stem in FIGURES + DEEP_FIGURES if (Path(figure_dir) / f"{stem}.png").is_file()}
    markdown, findings = render_markdown(doc, present)
    return Report(html=render_html(doc, figure_dir), markdown=markdown, findings=findings)
