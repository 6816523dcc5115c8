"""The log panel: epoch summaries, warnings and errors, newest at the bottom.

A Static inside a scroll view, re-rendered from the state's lines when they
change (at most a few times a second), rather than a RichLog: RichLog wraps a
line once, at the width it had when written, and the panel changes width when
the layout switches between tabs and the wide grid.

Lines wrap where they read apart (``wrap_fields``): an epoch's summary between its
fields ("gap +0.2 pts" stays whole), a continuation indented, and inside a field
only at a space.
"""
from __future__ import annotations

import textwrap

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

LEVEL_STYLES = {"info": "", "warning": "yellow", "error": "bold red"}
LEVEL_TAGS = {"info": "", "warning": "warn: ", "error": "ERROR: "}  # tags keep levels visible without colour
SHOWN = 300  # lines rendered; the state keeps more
FIELD_GAP = "  "  # what separates the fields of a log line (run_state.epoch_summary)
INDENT = "  "  # a wrapped line's continuation


def wrap_fields(line: str, width: int) -> list[str]:
    """``line`` in rows at most ``width`` cells wide: whole fields (FIELD_GAP apart) per row while they fit,
    continuations indented; a field wider than a row wraps at its spaces, a word wider than that is cut."""
    width = max(8, width)
    rows: list[str] = []  # fields packed into rows, without the continuation indent
    for field in line.split(FIELD_GAP):
        if rows and cell_len(INDENT * (len(rows) > 1) + rows[-1] + FIELD_GAP + field) <= width:
            rows[-1] += FIELD_GAP + field
        else:
            rows.append(field)
    out: list[str] = []
    for row in rows:
        first = INDENT if out else ""
        out.extend(textwrap.wrap(row, width, initial_indent=first, subsequent_indent=INDENT, break_on_hyphens=False)
                   or [first])
    return out


class LogLines:
    """The log's (level, message) lines as a renderable that wraps them at the width it is drawn at."""

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for level, message in self.lines:
            for row in wrap_fields(LEVEL_TAGS.get(level, "") + message, options.max_width):
                yield Text(row, style=LEVEL_STYLES.get(level, ""), no_wrap=True, overflow="crop")


class LogPanel(VerticalScroll):
    """Shows (level, message) lines; follows the bottom unless the user scrolled up."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shown = 0
        self._plain = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="log-text")

    def sync(self, lines: list[tuple[str, str]], total: int) -> None:
        """Re-render when lines were added; ``total`` counts every line ever added."""
        if total == self.shown:
            return
        at_bottom = self.scroll_y >= self.max_scroll_y - 1
        kept = lines[-SHOWN:]
        self._plain = "\n".join(LEVEL_TAGS.get(level, "") + message for level, message in kept)
        self.query_one("#log-text", Static).update(LogLines(kept))
        self.shown = total
        if at_bottom:
            self.call_after_refresh(self.scroll_end, animate=False)

    @property
    def text(self) -> str:
        """The plain text shown, one log line a line (tests read it)."""
        return self._plain
