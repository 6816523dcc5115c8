"""The log panel: epoch summaries, warnings and errors, newest at the bottom.

A Static inside a scroll view, re-rendered from the state's lines when they
change (at most a few times a second), rather than a RichLog: RichLog wraps a
line once, at the width it had when written, and the panel changes width when
the layout switches between tabs and the wide grid.
"""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

LEVEL_STYLES = {"info": "", "warning": "yellow", "error": "bold red"}
LEVEL_TAGS = {"info": "", "warning": "warn: ", "error": "ERROR: "}  # tags keep levels visible without colour
SHOWN = 300  # lines rendered; the state keeps more


class LogPanel(VerticalScroll):
    """Shows (level, message) lines; follows the bottom unless the user scrolled up."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="log-text")

    def sync(self, lines: list[tuple[str, str]], total: int) -> None:
        """Re-render when lines were added; ``total`` counts every line ever added."""
        if total == self.shown:
            return
        at_bottom = self.scroll_y >= self.max_scroll_y - 1
        text = Text()
        for i, (level, message) in enumerate(lines[-SHOWN:]):
            if i:
                text.append("\n")
            text.append(LEVEL_TAGS.get(level, "") + message, style=LEVEL_STYLES.get(level, ""))
        self.query_one("#log-text", Static).update(text)
        self.shown = total
        if at_bottom:
            self.call_after_refresh(self.scroll_end, animate=False)

    @property
    def text(self) -> str:
        """The plain text shown (tests read it)."""
        return str(self.query_one("#log-text", Static).render())
