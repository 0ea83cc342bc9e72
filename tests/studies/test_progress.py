"""``progress=True``: a bar drawn by initlab (HTML in a notebook, rich on stderr elsewhere); without
it the library prints nothing."""

from __future__ import annotations

import html
import re

import pytest

import initlab
from initlab.studies import NotebookBar, TerminalBar, progress_bar

SMALL = {"inits": ["he_normal"], "layers": 2, "width": 8, "samples": 16}


def test_silent_unless_asked(capfd: pytest.CaptureFixture[str]) -> None:
    initlab.probe(**SMALL)
    initlab.probe(**SMALL, progress=False)
    assert capfd.readouterr() == ("", "")


def test_download_progress_true_shows_a_bar_only_for_a_download(capfd: pytest.CaptureFixture[str]) -> None:
    r = initlab.compare(iterations=2, layers=1, width=4, eval_every=2, download_progress=True)
    assert r.dataset["name"] == "mnist" and capfd.readouterr() == ("", "")  # shipped: nothing to fetch


def test_progress_true_outside_a_notebook_is_a_terminal_bar_on_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    initlab.probe(**SMALL, progress=True)
    out, err = capfd.readouterr()
    assert out == "" and "probe" in err and "1/1" in err


def test_a_callable_is_called_and_bad_values_are_refused() -> None:
    ticks: list[tuple[int, int]] = []
    initlab.probe(**SMALL, progress=lambda done, total, **info: ticks.append((done, total)))
    assert ticks == [(1, 1)]
    with progress_bar(None, "x") as tick:
        assert tick is None
    with pytest.raises(initlab.InitlabError, match="progress must be True, False, None or a callable"):
        initlab.probe(**SMALL, progress="yes")


def test_progress_bar_chooses_the_terminal_bar_outside_a_notebook_and_closes_it() -> None:
    with progress_bar(True, "work") as tick:
        assert isinstance(tick, TerminalBar)
        tick(1, 2, loss=0.5)
        assert tick.bar.live.is_started
    assert not tick.bar.live.is_started


class Recorded(NotebookBar):
    """A notebook bar that records what it would display (no kernel in a test)."""

    def __init__(self, description: str, **kwargs: float) -> None:
        super().__init__(description, **kwargs)
        self.shown_html: list[str] = []

    def _show(self, text: str) -> None:
        self.shown_html.append(text)


def test_notebook_bar_escapes_counts_and_ends_at_its_final_state() -> None:
    bar = Recorded("<b>train</b>", interval=3600.0)
    for step in range(1, 101):
        bar(step, 100, loss=0.25, part="<i>")
    assert len(bar.shown_html) == 2  # the first tick, then (throttled) only the last one
    last = bar.shown_html[-1]
    assert "<b>" not in last and "<i>" not in last and html.escape("<b>train</b>") in last
    assert re.search(r'<progress value="100" max="100"', last) and "100/100" in last and "loss=0.25" in last
    bar.close()
    final = bar.shown_html[-1]
    assert len(bar.shown_html) == 3 and "left" not in final and re.search(r"100/100 \d+\.\d s", final)


def test_a_notebook_bar_that_stopped_early_says_so() -> None:
    bar = Recorded("train", interval=0.0)
    bar(3, 10)
    bar.close()
    assert "3/10" in bar.shown_html[-1] and "stopped after" in bar.shown_html[-1]
    quiet = Recorded("never ticked")
    quiet.close()
    assert quiet.shown_html == []  # a bar appears with its first tick, never before
