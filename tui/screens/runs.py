"""The runs browser: every saved run in one sortable, filterable table.

Keys: 1-9/0 or s sort (again: reverse), / filter, home / end first / last run,
space select the cursor's run and move down (a: all shown),
c compare the selection, enter open the run's dashboard, u resume a stopped run
(interrupted, stale, failed, diverged) live, e rename, n note, t tags,
d delete, x export, r refresh. n, t, d, x and c act on the selected runs the
filter shows (else on the run under the cursor), never on one it hides.

The table re-reads the runs directory every couple of seconds, so a run started
elsewhere (``--no-ui`` in tmux, a batch job) shows up as running, advances, and
ends as completed — or as stale when its writer dies.
"""
from __future__ import annotations

import threading
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from engine.runs.index import RunEntry, RunIndex
from engine.runs.status import RunStatus

from tui import format as fmt
from tui.screens import runs_actions
from tui.screens.runs_table import COLUMNS, SORT_KEYS, info_text, matches, row_cells, sort_entries, tell_apart

class RunsScanned(Message):
    """A background scan of the runs directory finished (error: it could not read the directory)."""

    def __init__(self, entries: list[RunEntry], number: int, error: str | None = None) -> None:
        super().__init__()
        self.entries, self.number, self.error = entries, number, error


REFRESH_S = 2.0  # polling a directory is cheap; 2 s keeps a followed run's row current without busy work


class RunsTable(DataTable):
    """The runs table: Home / End go to the first / last run (a DataTable's own Home / End scroll sideways)."""

    BINDINGS = [
        Binding("home", "scroll_top", "First run", show=False),
        Binding("end", "scroll_bottom", "Last run", show=False),
    ]


class RunsScreen(Screen):
    """Browse, sort, filter, select, compare, rename, annotate, delete and export runs."""

    CSS_PATH = "runs.tcss"
    BINDINGS = [
        Binding("space", "toggle_select", "Select",
                tooltip="Select or unselect the run under the cursor and move down (space space space: a block). "
                        "n t d x c act on the selected runs the filter shows, else on the cursor's run."),
        Binding("c", "compare", "Compare"),
        Binding("u", "resume", "Resume"),
        Binding("a", "select_all", "All", show=False),
        # Priority: the app runs it before handing on the keys typed after it (a fast "/cnn" arrives in one
        # read), so they reach the filter box, not the table's c and n.
        Binding("slash", "filter", "Filter", priority=True),
        Binding("s", "sort_next", "Sort"),
        Binding("e", "rename", "Rename"),
        Binding("n", "note", "Note"),
        Binding("t", "tags", "Tags"),
        Binding("d", "delete", "Delete"),
        Binding("x", "export", "Export"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "back", "Back"),
        *[Binding(k, f"sort_by({i})", show=False) for i, k in enumerate(SORT_KEYS)],
    ]

    def __init__(self, runs_dir: str = "saved_runs", **kwargs: Any):
        super().__init__(**kwargs)
        self.runs_dir = runs_dir
        self.index = RunIndex(runs_dir)
        self.entries: list[RunEntry] = []
        self.selected: dict[str, None] = {}  # insertion-ordered: the first selected is A in "B − A"
        self.sort_key, self.sort_desc = "start", True
        self.query_text = ""
        self._shown: tuple = ()
        self.apart: dict[str, str] = {}
        """run id -> what tells it from same-named runs listed (runs_table.tell_apart), as the name column shows."""
        self._resume_offered = False
        self._scan_lock = threading.Lock()
        self._scans = 0  # scans started, under the lock
        self._shown_scan = 0  # the number of the scan on screen: an older one arriving late is dropped
        self._scan_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="runs-state")
        table = RunsTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.fixed_columns = 2  # mark and name stay put when the table scrolls sideways at 80 columns
        yield table
        yield Static(id="runs-info")
        # Always on screen (one line): a widget being shown cannot take focus until the next
        # layout, and keys typed straight after '/' would be lost.
        yield Input(placeholder="/ filter: words that must all appear (Enter keeps it, Escape clears)",
                    id="runs-filter")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Runs — {self.runs_dir}"
        self.refresh_runs()  # once here, so the screen opens with its rows and keys typed at once act on them
        self.set_interval(REFRESH_S, self._tick)
        self.query_one("#runs-table", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.scan_in_background()

    def _tick(self) -> None:
        if self.is_current:  # under a dashboard or a dialog: the resume scan catches up
            self.scan_in_background()

    # ------------------------------------------------------------------ data

    def _scan(self) -> tuple[list[RunEntry], int]:
        """One scan (any thread): the entries and the scan's number, in the order scans ran."""
        with self._scan_lock:  # the index's cache is not for two threads at once
            self._scans += 1
            return self.index.scan(), self._scans

    def refresh_runs(self) -> None:
        """Re-scan now, on the UI thread: on opening, and right after this screen changed the runs."""
        entries, number = self._scan()
        self._apply(entries, number)

    @work(thread=True, exclusive=True, group="runs-scan", exit_on_error=False)
    def scan_in_background(self) -> None:
        """Re-scan in a thread (the timer, r, coming back): the UI thread does no file I/O for it."""
        try:
            entries, number = self._scan()
        except OSError as exc:  # the directory went away or became unreadable: keep the rows, say why
            self.post_message(RunsScanned([], 0, f"cannot read {self.runs_dir}: {exc}"))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(RunsScanned(entries, number))

    def on_runs_scanned(self, message: RunsScanned) -> None:
        if message.error and message.error != self._scan_error:  # once, not every couple of seconds
            self.notify(message.error, severity="error")
        self._scan_error = message.error
        if not message.error:
            self._apply(message.entries, message.number)

    def _apply(self, entries: list[RunEntry], number: int) -> None:
        """Show a scan's result, unless a later scan is already shown."""
        if number < self._shown_scan:
            return
        self._shown_scan = number
        self.entries = entries
        ids = {e.info.run_id for e in entries}
        self.selected = {k: None for k in self.selected if k in ids}
        self._render_table()

    def shown_entries(self) -> list[RunEntry]:
        """The runs that pass the filter, in the chosen order."""
        shown = [e for e in self.entries if matches(e, self.query_text)]
        return sort_entries(shown, self.sort_key, self.sort_desc)

    def _render_table(self, force: bool = False) -> None:
        table = self.query_one("#runs-table", DataTable)
        shown = self.shown_entries()
        self.apart = tell_apart(shown)  # among the runs listed: what tells same-named ones apart
        rows = [(e.info.run_id, row_cells(e, e.info.run_id in self.selected, self.apart.get(e.info.run_id, "")))
                for e in shown]
        signature = (self.sort_key, self.sort_desc, *((rid, tuple(str(c) for c in cells)) for rid, cells in rows))
        if signature != self._shown or force:
            self._shown = signature
            current = self.current_entry()
            # Columns too: DataTable widths only grow, and one long cell (a reason) would stay wide.
            table.clear(columns=True)
            self._add_columns(table)
            for rid, cells in rows:
                table.add_row(*cells, key=rid)
            if current is not None and current.info.run_id in table.rows:
                table.move_cursor(row=table.get_row_index(current.info.run_id), animate=False)
        self._update_state()
        self._update_info()

    def _add_columns(self, table: DataTable) -> None:
        table.add_column(" ", key="sel", width=1)
        for col in COLUMNS:
            arrow = (" ↓" if self.sort_desc else " ↑") if col.key == self.sort_key else ""
            table.add_column(col.label + arrow, key=col.key)

    def current_entry(self) -> RunEntry | None:
        """The run under the cursor."""
        table = self.query_one("#runs-table", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # cursor beyond the rows while the table is rebuilt
            return None
        return next((e for e in self.entries if e.info.run_id == key), None)

    def targets(self) -> list[RunEntry]:
        """What a key acts on: the selected runs the filter shows (in the order selected), else the cursor's run.

        A selected run the filter hides is never a target (hidden_selected() counts them).
        """
        if self.selected:
            shown = {e.info.run_id: e for e in self.shown_entries()}
            return [shown[k] for k in self.selected if k in shown]
        cur = self.current_entry()
        return [cur] if cur else []

    def hidden_selected(self) -> int:
        """How many selected runs the filter hides."""
        shown = {e.info.run_id for e in self.shown_entries()}
        return sum(k not in shown for k in self.selected)

    def _update_state(self) -> None:
        col = next(c for c in COLUMNS if c.key == self.sort_key)
        n_shown = self.query_one("#runs-table", DataTable).row_count
        parts = [fmt.count(len(self.entries), "run") + (f", {n_shown} shown" if n_shown != len(self.entries) else "")]
        if self.selected:
            hidden = self.hidden_selected()
            parts.append(f"{len(self.selected)} selected" + (f" ({hidden} hidden by the filter)" if hidden else ""))
        unreadable = sum(e.status is RunStatus.UNREADABLE for e in self.entries)
        if unreadable:
            parts.append(f"{unreadable} unreadable")
        parts.append(f"sorted by {col.label} {'↓' if self.sort_desc else '↑'}")
        if self.query_text:
            parts.append(f"filter: {self.query_text!r}")
        if not self.entries:
            parts = [f"no runs in {self.runs_dir} yet — train one, or start 'cifar-tui --no-ui ...' elsewhere"]
        self.query_one("#runs-state", Static).update(" · ".join(parts))

    def _update_info(self) -> None:
        e = self.current_entry()
        info = self.query_one("#runs-info", Static)
        offered = e is not None and e.status.resumable
        if offered != self._resume_offered:  # u (resume) is offered for some runs only: the footer follows
            self._resume_offered = offered
            self.refresh_bindings()
        if e is None:
            info.update("")
            return
        info.update(info_text(e))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_info()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key is not None and key != "sel":
            self._sort(key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    # ------------------------------------------------------------------ sorting, filtering, selecting

    def _sort(self, key: str) -> None:
        col = next(c for c in COLUMNS if c.key == key)
        if key == self.sort_key:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_key, self.sort_desc = key, col.desc_first
        self._render_table()
        self._to_top()

    def _to_top(self) -> None:
        # After a sort the interesting runs are at the top: "3, space, space, c" compares the best two.
        self.query_one("#runs-table", DataTable).move_cursor(row=0, animate=False)

    def action_sort_by(self, index: int) -> None:
        if index < len(COLUMNS):
            self._sort(COLUMNS[index].key)

    def action_sort_next(self) -> None:
        keys = [c.key for c in COLUMNS]
        nxt = COLUMNS[(keys.index(self.sort_key) + 1) % len(keys)]
        self.sort_key, self.sort_desc = nxt.key, nxt.desc_first
        self._render_table()
        self._to_top()

    def action_filter(self) -> None:
        # Focus now, not via widget.focus() (deferred until after keys already queued).
        self.set_focus(self.query_one("#runs-filter", Input))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runs-filter":
            self.query_text = event.value.strip()
            self._render_table()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "runs-filter":
            self.set_focus(self.query_one("#runs-table", DataTable))

    def action_back(self) -> None:
        """Escape: clear the filter, else the selection, else leave the screen."""
        box = self.query_one("#runs-filter", Input)
        if box.has_focus or self.query_text:
            self.query_text = ""
            box.value = ""
            self.set_focus(self.query_one("#runs-table", DataTable))
            self._render_table()
        elif self.selected:
            self.selected.clear()
            self._render_table()
        elif len(self.app.screen_stack) > 2:  # [default, this screen]: nothing of the app beneath
            self.app.pop_screen()

    def action_select_all(self) -> None:
        """Select every run shown (after the filter); again: unselect them."""
        shown = [e.info.run_id for e in self.shown_entries()]
        if shown and all(rid in self.selected for rid in shown):
            for rid in shown:  # a selected run the filter hides stays selected
                del self.selected[rid]
        else:
            self.selected.update({rid: None for rid in shown})
        self._render_table()

    def action_toggle_select(self) -> None:
        e = self.current_entry()
        if e is None:
            return
        if e.info.run_id in self.selected:
            del self.selected[e.info.run_id]
        else:
            self.selected[e.info.run_id] = None
        table = self.query_one("#runs-table", DataTable)
        row = table.cursor_row
        self._render_table()
        if row + 1 < table.row_count:  # move on, as file managers do, so space-space-space selects a block
            table.move_cursor(row=row + 1, animate=False)

    # ------------------------------------------------------------------ actions on runs (runs_actions)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """u is offered only on a run that can continue (its status says so; prepare_resume has the last word)."""
        if action == "resume":
            e = self.current_entry()
            return e is not None and e.status.resumable
        if action == "filter":  # in the filter box, / is text (focused, not has_focus: that one lags a message)
            return self.focused is not self.query_one("#runs-filter", Input)
        return True

    def action_resume(self) -> None:
        runs_actions.resume(self)

    def action_refresh(self) -> None:
        self.scan_in_background()

    def action_open(self) -> None:
        runs_actions.open_run(self)

    def action_compare(self) -> None:
        runs_actions.compare(self)

    def action_rename(self) -> None:
        runs_actions.rename(self)

    def action_note(self) -> None:
        runs_actions.note(self)

    def action_tags(self) -> None:
        runs_actions.tags(self)

    def action_delete(self) -> None:
        runs_actions.delete(self)

    def action_export(self) -> None:
        runs_actions.export(self)
