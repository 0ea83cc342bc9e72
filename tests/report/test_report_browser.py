"""The reproduce report in a real browser: headless Chromium (Debian's ``chromium`` package, which
``.ci/run`` installs) driven by Playwright. Every figure renders, nothing is logged to the console,
no request leaves the file, and a full-page screenshot is kept in ``test-artifacts/report.png``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from initlab.report import FIGURES

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
if not CHROMIUM.is_file():
    pytest.skip(
        f"{CHROMIUM} not found: install Debian's chromium package (listed in .ci/apt-packages)",
        allow_module_level=True,
    )


class _Visit:
    """What a page did: images (loaded, natural width, alt), console messages, blocked requests."""

    def __init__(self, browser: sync_api.Browser, path: Path, screenshot: Path | None = None) -> None:
        url = path.resolve().as_uri()
        self.messages: list[tuple[str, str]] = []
        self.blocked: list[str] = []
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: self.messages.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))

        def route(r: sync_api.Route) -> None:
            if r.request.url == url or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(url, wait_until="load")
        self.images = page.evaluate("Array.from(document.images, i => [i.complete, i.naturalWidth, i.alt])")
        self.headings = page.evaluate("Array.from(document.querySelectorAll('h2'), h => h.textContent)")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        page.close()

    @property
    def problems(self) -> list[str]:
        out = [
            f"image {i} did not render: {img}"
            for i, img in enumerate(self.images)
            if not (img[0] and img[1] > 0)
        ]
        out += [f"image {i} has no alt text" for i, img in enumerate(self.images) if not img[2]]
        out += [
            f"console {kind}: {text}"
            for kind, text in self.messages
            if kind in ("error", "warning", "pageerror")
        ]
        out += [f"network request: {u}" for u in self.blocked]
        return out


@pytest.mark.slow
def test_report_renders_in_chromium(reproduce_quick: Path, tmp_path: Path) -> None:
    report = reproduce_quick / "report.html"
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    bad = tmp_path / "bad.html"  # a negative control: the same checks must catch these
    bad.write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>x</title></head><body>'
        '<img src="http://127.0.0.1:9/x.png" alt="remote"><img src="missing.png">'
        "<script>console.error('boom')</script></body></html>"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            good = _Visit(browser, report, screenshot=shot)
            control = _Visit(browser, bad)
        finally:
            browser.close()
    assert good.problems == []
    assert len(good.images) == len(FIGURES)
    assert "Conclusion" in good.headings and "Training on MNIST" in good.headings
    assert shot.stat().st_size > 50_000
    shutil.copy(report, ARTIFACTS / "report.html")

    found = "\n".join(control.problems)
    assert "network request: http://127.0.0.1:9/x.png" in found
    assert "image 1 did not render" in found and "image 1 has no alt text" in found
    assert "console error: boom" in found
