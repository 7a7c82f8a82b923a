"""Progress bars: drawn on a terminal, silent when stderr is not one or BAREGRAD_QUIET=1."""
from __future__ import annotations

import io
import time

import pytest

from baregrad.profile import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def instant(monkeypatch):
    monkeypatch.setattr(progress, "MIN_SECONDS", 0.0)
    monkeypatch.delenv("BAREGRAD_QUIET", raising=False)


def test_bar_on_a_terminal(instant) -> None:
    out = Terminal()
    sizes = [300, 500, 200]
    items = list(progress.tracked(sizes, sum(sizes), "loading", "B", size=lambda s: s, stream=out))
    assert items == sizes
    last = out.getvalue().split("\r")[-1]
    assert "loading 100%" in last and "1.0 KB/1.0 KB" in last and last.endswith("\n")


def test_silent_when_not_a_terminal_or_quiet(instant, monkeypatch) -> None:
    plain = io.StringIO()
    assert list(progress.tracked([1, 2], 3, "loading", stream=plain)) == [1, 2] and plain.getvalue() == ""
    monkeypatch.setenv("BAREGRAD_QUIET", "1")
    term = Terminal()
    assert list(progress.tracked([1, 2], 3, "loading", stream=term)) == [1, 2] and term.getvalue() == ""


def test_working_is_drawn_then_erased(instant) -> None:
    out = Terminal()
    with progress.working("processing prompt (7 tokens)", out):
        time.sleep(0.6)
    text = out.getvalue()
    assert "processing prompt (7 tokens) ..." in text
    assert text.endswith("\r")  # erased: the answer that follows starts on a clean line


def test_precompile_counts_cache_hits(instant, monkeypatch) -> None:
    class Step:
        program, source = None, ""
    monkeypatch.setattr(progress, "enabled", lambda stream=None: True)
    monkeypatch.setattr(progress, "COMPILE_BAR_MIN", 2)
    steps, seen = [Step() for _ in range(3)], []
    progress.precompile(steps, seen.append)
    assert seen == steps
    assert progress.compile_bar_wanted(2) and not progress.compile_bar_wanted(1)  # fewer than COMPILE_BAR_MIN: no bar
