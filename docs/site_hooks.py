"""MkDocs hooks: the README's sections become the site's guide pages, so their prose lives once.

The README is the source. Each of its ``## `` sections becomes a page ``guides/<name>.md`` (its
headings raised one level), in README order; what precedes the first section, with a list of the
guides, is the home page. Links are rewritten for the site: ``#anchor`` to the page that holds that
heading (GitHub's anchor, mapped to the site's), ``docs/X`` to ``X`` relative to the page. A link
that leads nowhere stays as it is, and the strict build reports it. ``notebooks.md`` lists the
notebooks in ``docs/notebooks/``. Nothing here is part of the package.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from markdown.extensions.toc import slugify
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NOTEBOOKS = ROOT / "docs" / "notebooks"
API = [  # (title, page): the public layers, top-down
    ("initlab (the facade)", "api/initlab.md"),
    ("schemes", "api/schemes.md"),
    ("activations", "api/activations.md"),
    ("theory", "api/theory.md"),
    ("ensemble", "api/ensemble.md"),
    ("measure", "api/measure.md"),
    ("train", "api/train.md"),
    ("data", "api/data.md"),
    ("tools", "api/tools.md"),
    ("studies", "api/studies.md"),
]
PAGES = {"notebooks.md"}  #: pages made here for a folder of docs/
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6}) +(.*?) *$")
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)\)")


def _lines_outside_fences(text: str) -> list[tuple[str, bool]]:
    """Each line with whether it is prose (outside a fenced code block)."""
    out, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            out.append((line, False))
            fenced = not fenced
            continue
        out.append((line, not fenced))
    return out


def _plain(title: str) -> str:
    return re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", title).strip()


def github_slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", _plain(title).lower()).replace(" ", "-")


def site_slug(title: str) -> str:
    return str(slugify(_plain(title), "-"))


def page_name(title: str) -> str:
    """``Probe: activation histograms and theory`` -> ``probe``; ``Set up (two ...)`` -> ``set-up``."""
    return site_slug(re.split(r"[:,(]", _plain(title))[0]) or site_slug(title)


def split_readme(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The lines before the first ``## `` section, and each section as (title, lines)."""
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line, prose in _lines_outside_fences(text):
        m = _HEADING.match(line) if prose else None
        if m and len(m.group(1)) == 2:
            sections.append((m.group(2), []))
        (sections[-1][1] if sections else intro).append(line)
    return intro, sections


class Site:
    """The pages made from the README, and the map from GitHub anchors to (page, site anchor)."""

    def __init__(self, text: str) -> None:
        intro, sections = split_readme(text)
        self.pages: dict[str, tuple[str, list[str]]] = {}  # uri -> (title, lines)
        for title, lines in sections:
            uri, n = f"guides/{page_name(title)}.md", 1
            while uri in self.pages:  # two sections with one short name: number the later ones
                n += 1
                uri = f"guides/{page_name(title)}-{n}.md"
            self.pages[uri] = (_plain(title), lines)
        self.anchors: dict[str, tuple[str, str]] = {}
        for uri, (_, lines) in self.pages.items():
            for line, prose in _lines_outside_fences("\n".join(lines)):
                m = _HEADING.match(line) if prose else None
                if m:
                    self.anchors.setdefault(github_slug(m.group(2)), (uri, site_slug(m.group(2))))
        guides = [f"- [{title}]({uri})" for uri, (title, _) in self.pages.items()]
        self.index = [
            *intro,
            "",
            "## Guides",
            "",
            *guides,
            "",
            "## Reference",
            "",
            "- [API reference](api/initlab.md), generated from the docstrings",
            "- [Notebooks](notebooks.md)",
            "",
        ]

    def render(self, uri: str, lines: list[str], raise_headings: bool) -> str:
        up = "../" * uri.count("/")
        out = []
        for line, prose in _lines_outside_fences("\n".join(lines)):
            if prose:
                m = _HEADING.match(line)
                if m and raise_headings and len(m.group(1)) > 1:
                    line = f"{m.group(1)[1:]} {m.group(2)}"
                line = _LINK.sub(lambda mm: self._link(uri, up, mm), line)
            out.append(line)
        return "\n".join(out) + "\n"

    def _link(self, uri: str, up: str, m: re.Match[str]) -> str:
        text, href = m[1], m[2]
        if href.startswith("#") and href[1:] in self.anchors:
            page, anchor = self.anchors[href[1:]]
            return f"{text}{'' if page == uri else up + page}#{anchor})"
        if href.startswith("docs/"):
            rel = href[len("docs/") :]
            if (ROOT / href).is_dir() and (rel.rstrip("/") + ".md") in PAGES:
                rel = rel.rstrip("/") + ".md"  # a folder of docs/ that has a page (docs/notebooks/)
            return f"{text}{up}{rel})"
        if "://" not in href and not href.startswith("#") and (ROOT / href.split("#")[0]).exists():
            return text[1:-2] if not text.startswith("!") else m[0]  # a repository file: its name, unlinked
        return m[0]


def notebooks_page() -> str:
    lines = ["# Notebooks", ""]
    found = sorted(NOTEBOOKS.glob("*.ipynb")) if NOTEBOOKS.is_dir() else []
    if not found:
        return "\n".join([*lines, "No notebook in `docs/notebooks/` yet.", ""])
    lines += ["Each study as a notebook (`docs/notebooks/`), executed in CI so that none goes stale.", ""]
    for nb in found:
        lines.append(f"- [{_notebook_title(nb)}](notebooks/{nb.name}) (`{nb.name}`)")
    return "\n".join([*lines, ""])


def _notebook_title(path: Path) -> str:
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return path.stem
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", [])).splitlines():
                if line.startswith("# "):
                    return _plain(line[2:])
    return path.stem


_SITE: Site | None = None


def on_config(config: Any) -> Any:
    global _SITE
    _SITE = Site(README.read_text())
    config["nav"] = [
        {"Home": "index.md"},
        {"Guides": [{title: uri} for uri, (title, _) in _SITE.pages.items()]},
        {"API reference": [{title: uri} for title, uri in API]},
        {"results.json schemas": [{p.stem: p.name} for p in sorted((ROOT / "docs").glob("results-*.md"))]},
        {"Notebooks": "notebooks.md"},
    ]
    listed = {"index.md", "notebooks.md", *(uri for _, uri in API)}
    listed |= {p.name for p in (ROOT / "docs").glob("results-*.md")}
    more = sorted(str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md"))
    more = [uri for uri in more if uri not in listed]
    if more:  # any other page in docs/ (a notebook folder's README, say) is in the nav, not dropped
        config["nav"].append({"More": more})
    return config


def on_files(files: Files, config: Any) -> Files:
    assert _SITE is not None
    files.append(File.generated(config, "index.md", content=_SITE.render("index.md", _SITE.index, False)))
    for uri, (_, lines) in _SITE.pages.items():
        files.append(File.generated(config, uri, content=_SITE.render(uri, lines, True)))
    files.append(File.generated(config, "notebooks.md", content=notebooks_page()))
    return files
