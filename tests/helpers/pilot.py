"""Driving our screens with Pilot: a minimal host App, the launcher's form, the runs table."""
from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.widgets import DataTable, Static

from tests.helpers.waiting import pilot_wait_until
from tui.navigation import Navigator


def shown_text(widget, inner: bool = False) -> str:
    """What the screen shows where the widget is (its border and children too: a chart is drawn by its canvases
    and legend, which the widget's own render_lines leave out), as plain text; ``inner``: within its border."""
    region = widget.content_region if inner else widget.region
    strips = widget.screen._compositor.render_strips()
    return "\n".join(strip.crop(region.x, region.right).text for strip in strips[region.y:region.bottom])


class ScreenApp(Navigator):
    """Just enough App to host one of our screens, and its navigation (which opens the screens it asks for:
    compare, a run's dashboard)."""

    def __init__(self, screen_factory):
        super().__init__()
        self.screen_factory = screen_factory

    def on_mount(self) -> None:
        self.push_screen(self.screen_factory())


# ----------------------------------------------------------------------------- the launcher's form

async def workers_settled(pilot, timeout: float = 60.0) -> None:
    """Wait until no worker is running. An exclusive worker superseded by a newer one ends
    cancelled; waiting on it with workers.wait_for_complete() would raise WorkerCancelled."""
    await pilot_wait_until(pilot, lambda: all(w.is_finished for w in pilot.app.workers), timeout)


async def form_ready(pilot) -> None:
    """Wait for the launcher's whole form: its first frame has the first rows only (the rest mount right after)."""
    await pilot_wait_until(pilot, lambda: getattr(pilot.app.screen, "form_complete", True))


async def type_into(pilot, widget_id: str, text: str) -> None:
    """Focus a field and replace its text by typing, as a user would."""
    await form_ready(pilot)
    pilot.app.screen.query_one(f"#{widget_id}").focus()
    await pilot.pause()
    await pilot.press("end", *["backspace"] * 16, *text)


# ----------------------------------------------------------------------------- the runs screen

def table_ids(screen) -> list[str]:
    """The run ids in the runs table's row order (a RunsScreen)."""
    table = screen.query_one("#runs-table", DataTable)
    return [k.value for k in table.rows]


def cursor_to(screen, run: Path) -> DataTable:
    """Put the table's cursor on a run's row (as arrow keys would) and return the table."""
    table = screen.query_one("#runs-table", DataTable)
    table.move_cursor(row=table.get_row_index(run.name))
    return table


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text (strings, rich Text and rich Tables alike)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()
