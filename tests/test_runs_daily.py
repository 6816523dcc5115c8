"""The runs and compare screens as a daily user drives them, by Pilot over real run directories.

Selections under a filter, telling same-named runs apart at 80 columns, Home/End,
compare opened on its own, unreadable runs, background scans.
"""
from __future__ import annotations

from textual.widgets import DataTable

from test_runs_screens import ScreenApp, sync, table_ids
from tui.screens.runs import RunsScreen


@sync
async def test_visible_is_textuals_and_shown_entries_lists_the_rows(runs):
    """RunsScreen.visible is Textual's flag again (it was shadowed by a method); shown_entries() is the rows."""
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert screen.visible is True
        await pilot.press("slash", *"noval", "enter")
        assert [e.info.run_id for e in screen.shown_entries()] == table_ids(screen)
        assert len(table_ids(screen)) == 1 and screen.query_one("#runs-table", DataTable).visible
