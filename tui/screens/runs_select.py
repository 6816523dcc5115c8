"""The runs screen's sorting, selecting and state line: functions of the RunsScreen whose keys call them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import DataTable, Input

from engine.runs.status import RunStatus

from tui import format as fmt

if TYPE_CHECKING:
    from tui.screens.runs import RunsScreen


def state_line(screen: RunsScreen) -> str:
    """'6 runs, 2 shown · 1 selected · sorted by test acc ↓ · filter: 'cnn''."""
    entries = screen.entries
    if not entries:
        return f"no runs in {screen.runs_dir} yet — train one, or start 'cifar-tui --no-ui ...' elsewhere"
    col = next((c for c in screen.columns if c.key == screen.sort_key), None)
    n_shown = len(screen.table_rows.keys)  # the rows the table holds or is being filled with
    parts = [fmt.count(len(entries), "run") + (f", {n_shown} shown" if n_shown != len(entries) else "")]
    if screen.selected:
        hidden = screen.hidden_selected()
        parts.append(f"{len(screen.selected)} selected" + (f" ({hidden} hidden by the filter)" if hidden else ""))
    unreadable = sum(e.status is RunStatus.UNREADABLE for e in entries)
    if unreadable:
        parts.append(f"{unreadable} unreadable")
    if col is not None:
        parts.append(f"sorted by {col.label} {'↓' if screen.sort_desc else '↑'}")
    if screen.query_text:
        parts.append(f"filter: {screen.query_text!r}")
    return " · ".join(parts)


def sort(screen: RunsScreen, key: str) -> None:
    """Sort by a column shown; the same column again: the other way."""
    col = next((c for c in screen.columns if c.key == key), None)
    if col is None:
        return
    if key == screen.sort_key:
        screen.sort_desc = not screen.sort_desc
    else:
        screen.sort_key, screen.sort_desc = key, col.desc_first
    _resorted(screen)


def _resorted(screen: RunsScreen) -> None:
    screen.render_table()
    # After a sort the interesting runs are at the top: "3, space, space, c" compares the best two.
    screen.query_one("#runs-table", DataTable).move_cursor(row=0, animate=False)


def sort_by(screen: RunsScreen, index: int) -> None:
    """Digit n: the n-th column shown."""
    if index < len(screen.columns):
        sort(screen, screen.columns[index].key)


def sort_next(screen: RunsScreen) -> None:
    keys = [c.key for c in screen.columns]
    at = keys.index(screen.sort_key) if screen.sort_key in keys else -1
    nxt = screen.columns[(at + 1) % len(keys)]
    screen.sort_key, screen.sort_desc = nxt.key, nxt.desc_first
    _resorted(screen)


def back(screen: RunsScreen) -> None:
    """Escape: clear the filter, else the selection, else leave the screen."""
    box = screen.query_one("#runs-filter", Input)
    if box.has_focus or screen.query_text:
        screen.query_text = ""
        box.value = ""
        screen.set_focus(screen.query_one("#runs-table", DataTable))
        screen.render_table()
    elif screen.selected:
        screen.selected.clear()
        screen.render_table()
    elif len(screen.app.screen_stack) > 2:  # [default, this screen]: nothing of the app beneath
        screen.app.pop_screen()


def select_all(screen: RunsScreen) -> None:
    """Select every run shown (after the filter); again: unselect them."""
    shown = [e.info.run_id for e in screen.shown_entries()]
    if shown and all(rid in screen.selected for rid in shown):
        for rid in shown:  # a selected run the filter hides stays selected
            del screen.selected[rid]
    else:
        screen.selected.update({rid: None for rid in shown})
    screen.render_table()


def toggle_select(screen: RunsScreen) -> None:
    """Space: select or unselect the cursor's run and move down, as file managers do (space space space: a block)."""
    e = screen.current_entry()
    if e is None:
        return
    if e.info.run_id in screen.selected:
        del screen.selected[e.info.run_id]
    else:
        screen.selected[e.info.run_id] = None
    table = screen.query_one("#runs-table", DataTable)
    row = table.cursor_row
    screen.render_table()
    if row + 1 < table.row_count:
        table.move_cursor(row=row + 1, animate=False)
