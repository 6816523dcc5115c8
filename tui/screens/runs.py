"""The runs browser: every saved run in one sortable, filterable table.

Keys: 1-9/0 or s sort (again: reverse), / filter, home / end first / last run,
space select the cursor's run and move down (a: all shown),
c compare the selection, enter open the run's dashboard, S its sweep, R resume a stopped run
(interrupted, stale, failed, diverged) live, e rename, n note, t tags,
d delete (into the trash; u undoes it), w export, v choose the columns, r refresh,
p pause / resume and x stop a run another process trains. n, t, d, w and c act on the
selected runs the filter shows (else on the run under the cursor), never on one it hides.

The table re-reads the runs directory every couple of seconds, so a run started
elsewhere (``--no-ui`` in tmux, a batch job) shows up as running, advances (its
epoch, step and time from progress.json), and ends as completed — or as stale when
its writer dies.
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

from engine.runs.index import RunEntry, collector_paused, shared_index

from tui.screens import runs_actions, runs_columns, runs_control, runs_select
from tui.screens.runs_live import read_live
from tui.screens.runs_rows import RowCache, RunsTable, TableRows
from tui.screens.runs_table import SORT_KEYS, Column, header_labels, info_text, layout


class RunsScanned(Message):
    """A background scan of the runs directory finished (error: it could not read the directory).
    ``live``: the progress.json records of the running runs."""

    def __init__(self, entries: list[RunEntry], number: int, error: str | None = None,
                 live: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.entries, self.number, self.error, self.live = entries, number, error, live or {}


REFRESH_S = 2.0  # polling a directory is cheap; 2 s keeps a followed run's row current without busy work


class RunsScreen(Screen):
    """Browse, sort, filter, select, compare, rename, annotate, delete, export and control runs."""

    CSS_PATH = "runs.tcss"
    BINDINGS = [
        Binding("space", "toggle_select", "Select",
                tooltip="Select or unselect the run under the cursor and move down (space space space: a block). "
                        "n t d w c act on the selected runs the filter shows, else on the cursor's run."),
        Binding("c", "compare", "Compare"),
        Binding("R", "resume", "Resume"),
        Binding("l", "start_like", "Like this"),
        Binding("S", "sweep", "Sweep"),
        Binding("p", "pause_run", "Pause/resume"),
        Binding("x", "stop_run", "Stop"),
        Binding("u", "undo", "Undo delete"),
        # The same keys where they cannot act: one line says why (the footer does not offer them there).
        Binding("p", "cannot_control('pause')", show=False),
        Binding("x", "cannot_control('stop')", show=False),
        Binding("u", "nothing_to_undo", show=False),
        Binding("a", "select_all", "All", show=False),
        # Priority: the app runs it before handing on the keys typed after it (a fast "/cnn" arrives in one
        # read), so they reach the filter box, not the table's c and n.
        Binding("slash", "filter", "Filter", priority=True),
        Binding("s", "sort_next", "Sort"),
        Binding("e", "rename", "Rename"),
        Binding("n", "note", "Note"),
        Binding("t", "tags", "Tags"),
        Binding("d", "delete", "Delete"),
        Binding("w", "export", "Export"),
        Binding("v", "columns", "Columns"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "back", "Back"),
        *[Binding(k, f"sort_by({i})", show=False) for i, k in enumerate(SORT_KEYS)],
    ]

    def __init__(self, runs_dir: str = "saved_runs", **kwargs: Any):
        super().__init__(**kwargs)
        self.runs_dir = runs_dir
        self.index = shared_index(runs_dir)  # what an earlier visit or the app's warm-up read is read already
        self.entries: list[RunEntry] = []
        self.live: dict[str, dict[str, Any]] = {}
        """run id -> progress.json record of each running run (runs_live)."""
        self.selected: dict[str, None] = {}  # insertion-ordered: the first selected is A in "B − A"
        self.sort_key, self.sort_desc = "start", True
        self.query_text = ""
        self.shown_keys: list[str] = runs_columns.remembered()
        """The columns shown besides name and status (v changes them; remembered across sessions)."""
        self.columns: list[Column] = layout(self.shown_keys)
        self.row_cache = RowCache()
        self.table_rows = TableRows()  # what the table holds: compared with what a render wants
        self.apart: dict[str, str] = {}
        """run id -> what tells it from same-named runs listed (runs_table.tell_apart), as the name column shows."""
        self._offered: tuple = ()
        self._scan_lock = threading.Lock()
        self._scans = 0  # scans started, under the lock
        self._shown_scan = 0  # the number of the scan on screen: an older one arriving late is dropped
        self._scan_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="runs-state")
        table = RunsTable(self.table_rows, id="runs-table", cursor_type="row", zebra_stripes=True)
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
        # Here, so the screen opens with its rows and keys typed at once act on them: a whole scan the first time
        # the runs directory is listed, else what the index knows (the resume scan then looks at every run).
        self._apply(*self._scan())
        self.set_interval(REFRESH_S, self._tick)
        self.query_one("#runs-table", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.scan_in_background(full=True)  # opened, or back from a run or a dialog: anything may have changed

    def on_resize(self) -> None:
        # The headers' long or short names follow the width there is: after the resize's layout (a table
        # rebuilt inside it keeps the widths of its headers alone).
        self.call_after_refresh(self._relabel)

    def _relabel(self) -> None:
        if self.table_rows.labels != self._header_labels(self.table_rows.widths):
            self.render_table(force=True)

    def _tick(self) -> None:
        if self.is_current:  # under a dashboard or a dialog: the resume scan catches up
            self.scan_in_background()

    # ------------------------------------------------------------------ data

    def _scan(self, full: bool = False) -> tuple[list[RunEntry], int, dict[str, dict[str, Any]]]:
        """One scan (any thread): the entries, the scan's number in the order scans ran, the running runs' progress.
        ``full``: every run's files looked at now, not only the runs being written and the next finished ones."""
        with self._scan_lock:  # numbered in the order the scans ran
            self._scans += 1
            entries = self.index.scan(full=True) if full else self.index.scan()
            return entries, self._scans, read_live(entries)

    def refresh_runs(self) -> None:
        """Re-scan every run now, on the UI thread: on opening, and right after this screen changed the runs."""
        entries, number, live = self._scan(full=True)
        self._apply(entries, number, live)

    @work(thread=True, exclusive=True, group="runs-scan", exit_on_error=False)
    def scan_in_background(self, full: bool = False) -> None:
        """Re-scan in a thread (the timer, r, coming back): the UI thread does no file I/O for it."""
        try:
            entries, number, live = self._scan(full)
        except OSError as exc:  # the directory went away or became unreadable: keep the rows, say why
            self.post_message(RunsScanned([], 0, f"cannot read {self.runs_dir}: {exc}"))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(RunsScanned(entries, number, live=live))
        self.index.save()  # what was read, for the next process that lists these runs (at most every 30 s)

    def on_runs_scanned(self, message: RunsScanned) -> None:
        if message.error and message.error != self._scan_error:  # once, not every couple of seconds
            self.notify(message.error, severity="error")
        self._scan_error = message.error
        if not message.error:
            self._apply(message.entries, message.number, message.live)

    def _apply(self, entries: list[RunEntry], number: int, live: dict[str, dict[str, Any]]) -> None:
        """Show a scan's result, unless a later scan is already shown."""
        if number < self._shown_scan:
            return
        self._shown_scan = number
        if entries is self.entries and live == self.live:
            return  # the index returns the same list while nothing changed: an idle poll costs no UI work
        self.entries, self.live = entries, live
        ids = {e.run_id for e in entries}
        self.selected = {k: None for k in self.selected if k in ids}
        self.row_cache.keep_only(ids)
        self.render_table()

    def shown_entries(self) -> list[RunEntry]:
        """The runs that pass the filter, in the chosen order."""
        return self.row_cache.shown(self.entries, self.query_text, self.sort_key, self.sort_desc)

    def show_columns(self, keys: list[str]) -> None:
        """Show these columns (besides name and status) from now on; a sort by one taken away goes back to 'started'."""
        self.shown_keys, self.columns = keys, layout(keys)
        if self.sort_key not in {c.key for c in self.columns}:
            self.sort_key, self.sort_desc = "start", True
        self.render_table(force=True)

    def render_table(self, force: bool = False) -> None:
        """Show the runs that pass the filter, in order: cells made only for runs that changed (runs_rows), the
        table changed only where its rows did (``force``: rebuilt, e.g. after the columns changed)."""
        table = self.query_one("#runs-table", DataTable)
        with collector_paused():  # thousands of rows: see engine.runs.index.collector_paused
            shown = self.shown_entries()
            self.apart = self.row_cache.apart(shown)  # among the runs listed: what tells same-named ones apart
            rows = [(e.run_id, self.row_cache.cells(e, e.run_id in self.selected,
                                                         self.apart.get(e.run_id, ""), self.columns,
                                                         self.live.get(e.run_id))) for e in shown]
            widths = self.table_rows.content_widths([cells for _, cells in rows], len(self.columns))
            current = self.current_entry()
            keep = current.run_id if current is not None else None
            if self.table_rows.show(table, rows, self.columns, self._header_labels(widths), widths, force, keep) \
                    and keep is not None and keep in table.rows:
                table.move_cursor(row=table.get_row_index(keep), animate=False)
        self.query_one("#runs-state", Static).update(runs_select.state_line(self))
        self._update_info()

    def _header_labels(self, widths: list[int]) -> list[str]:
        arrow = {self.sort_key: " ↓" if self.sort_desc else " ↑"}
        return header_labels(self.columns, widths, self.size.width or 80, arrow)

    def current_entry(self) -> RunEntry | None:
        """The run under the cursor."""
        table = self.query_one("#runs-table", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # cursor beyond the rows while the table is rebuilt
            return None
        return next((e for e in self.entries if e.run_id == key), None)

    def targets(self) -> list[RunEntry]:
        """What a key acts on: the selected runs the filter shows (in the order selected), else the cursor's run.

        A selected run the filter hides is never a target (hidden_selected() counts them).
        """
        if self.selected:
            shown = {e.run_id: e for e in self.shown_entries()}
            return [shown[k] for k in self.selected if k in shown]
        cur = self.current_entry()
        return [cur] if cur else []

    def hidden_selected(self) -> int:
        """How many selected runs the filter hides."""
        shown = {e.run_id for e in self.shown_entries()}
        return sum(k not in shown for k in self.selected)

    def _update_info(self) -> None:
        e = self.current_entry()
        offered = tuple(self._offers(e))
        if offered != self._offered:  # R, p, x and u are offered for some runs only: the footer follows
            self._offered = offered
            self.refresh_bindings()
        info = self.query_one("#runs-info", Static)
        info.update(info_text(e, self.live.get(e.run_id)) if e is not None else "")

    def _offers(self, e: RunEntry | None) -> list[str]:
        """The keys that act on this run now (or on the runs deleted here)."""
        offers = ["resume"] if e is not None and e.status.resumable else []
        if e is not None and runs_control.offered(e):
            offers.append("control")
        return offers + (["undo"] if runs_control.can_undo(self.runs_dir) else [])

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_info()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key is not None and key != "sel":
            runs_select.sort(self, key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    # ------------------------------------------------------------------ sorting, filtering, selecting (runs_select)

    def action_sort_by(self, index: int) -> None:
        runs_select.sort_by(self, index)

    def action_sort_next(self) -> None:
        runs_select.sort_next(self)

    def action_filter(self) -> None:
        # Focus now, not via widget.focus() (deferred until after keys already queued).
        self.set_focus(self.query_one("#runs-filter", Input))

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runs-filter":
            self.query_text = event.value.strip()
            self.render_table()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "runs-filter":
            self.set_focus(self.query_one("#runs-table", DataTable))

    def action_back(self) -> None:
        runs_select.back(self)

    def action_select_all(self) -> None:
        runs_select.select_all(self)

    def action_toggle_select(self) -> None:
        runs_select.toggle_select(self)

    def action_columns(self) -> None:
        runs_columns.choose(self)

    # ------------------------------------------------------------------ actions on runs (runs_actions, runs_control)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """R, p, x and u are offered only where they act (the run's status says so; the engine has the last word);
        where they do not, the same key's hidden twin says why."""
        wanted = {"resume": "resume", "pause_run": "control", "stop_run": "control", "undo": "undo"}
        twins = {"cannot_control": "control", "nothing_to_undo": "undo"}
        if action in wanted or action in twins:
            offered = self._offers(self.current_entry())
            return (wanted[action] in offered) if action in wanted else (twins[action] not in offered)
        if action == "filter":  # in the filter box, / is text (focused, not has_focus: that one lags a message)
            return self.focused is not self.query_one("#runs-filter", Input)
        return True

    def action_resume(self) -> None:
        runs_actions.resume(self)

    def action_pause_run(self) -> None:
        runs_control.pause(self)

    def action_stop_run(self) -> None:
        runs_control.stop(self)

    def action_cannot_control(self, action: str) -> None:
        runs_control.why_not(self, action)

    def action_undo(self) -> None:
        runs_control.undo(self)

    def action_nothing_to_undo(self) -> None:
        runs_control.nothing_to_undo(self)

    def action_refresh(self) -> None:
        self.scan_in_background(full=True)

    def action_start_like(self) -> None:
        runs_actions.start_like(self)

    def action_open(self) -> None:
        runs_actions.open_run(self)

    def action_sweep(self) -> None:
        runs_actions.open_sweep(self)

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
