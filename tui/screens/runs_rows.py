"""The runs table kept current at thousands of runs: each run's values, filter text and cells are made once per
version of the run, the DataTable is changed only where its rows changed, and a rebuild draws its first rows
before it adds the thousands after them.

RunIndex hands back the same RunEntry object while a run's files are unchanged, so RowCache remembers what
it computed for an entry until a scan brings a new one (or the row's selection mark, name hint, columns or
live progress change). TableRows then compares the rows the screen wants with those on the table: changed
cells are updated in place (a running run's progress, a selection mark, a renamed run); the table is rebuilt
only when the rows' order, the columns or a column's width change (a run added or deleted, a new sort or
filter): FIRST_ROWS rows at once, the rest in chunks after the table is drawn. Column widths are set from the
cells' own widths (runs_table.Cell), never measured by the table.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from textual.binding import Binding
from textual.widgets import DataTable

from engine.runs.index import RunEntry

from tui.screens.runs_table import Cell, Column, apart_texts, haystack, matches, row_cells, row_values, \
    sort_entries, tell_apart


class RowCache:
    """Per run id: what was computed for the RunEntry object last seen, reused while it is the same object."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[RunEntry, dict[str, Any]]] = {}
        self._hay: dict[str, tuple[RunEntry, str]] = {}
        self._cells: dict[str, tuple[tuple[Any, ...], list[Cell]]] = {}
        self._apart: dict[tuple[int, ...], tuple[list[dict[str, Any]], list[str]]] = {}

    def values(self, e: RunEntry) -> dict[str, Any]:
        return self._get(self._values, e, row_values)

    def hay(self, e: RunEntry) -> str:
        return self._get(self._hay, e, haystack)

    @staticmethod
    def _get(store: dict[str, Any], e: RunEntry, make: Callable[[RunEntry], Any]) -> Any:
        got = store.get(e.run_id)
        if got is None or got[0] is not e:
            got = store[e.run_id] = (e, make(e))
        return got[1]

    def shown(self, entries: list[RunEntry], query: str, key: str, descending: bool) -> list[RunEntry]:
        """The runs that pass the filter, in the chosen order."""
        passing = [e for e in entries if matches(e, query, self.hay)] if query.strip() else entries
        return sort_entries(passing, key, descending, self.values)

    def apart(self, entries: list[RunEntry]) -> dict[str, str]:
        """runs_table.tell_apart, each group's texts remembered while its runs' configs are the same objects."""
        used: dict[tuple[int, ...], tuple[list[dict[str, Any]], list[str]]] = {}

        def texts(configs: list[dict[str, Any]]) -> list[str]:
            key = tuple(id(c) for c in configs)  # the configs are kept below: an id is not reused meanwhile
            if key not in used:
                used[key] = self._apart.get(key) or (configs, apart_texts(configs))
            return used[key][1]

        out = tell_apart(entries, texts)
        self._apart = used
        return out

    def cells(self, e: RunEntry, selected: bool, apart: str, shown: Sequence[Column],
              live: dict[str, Any] | None) -> list[Cell]:
        """runs_table.row_cells, remembered (the same list object while nothing it depends on changed)."""
        got = self._cells.get(e.run_id)
        if got is not None:
            (entry, was_selected, was_apart, columns, was_live), cells = got
            if entry is e and was_selected == selected and was_apart == apart and columns is shown and \
                    was_live == live:
                return cells
        cells = row_cells(e, selected, apart, shown, live, self.values(e))
        self._cells[e.run_id] = ((e, selected, apart, shown, live), cells)
        return cells

    def keep_only(self, run_ids: set[str]) -> None:
        """Forget the runs no longer listed."""
        for store in (self._values, self._hay, self._cells):
            for gone in [k for k in store if k not in run_ids]:
                del store[gone]


FIRST_ROWS = 200
"""Rows a rebuild adds at once (more than a screen holds); the rest follow FILL_CHUNK at a time, one chunk after
each refresh: the table is on screen before thousands of rows are in it, and keys act between chunks."""
FILL_CHUNK = 1000


class TableRows:
    """What the DataTable holds, or is being filled with: row keys in order, each row's cells, the column labels
    and widths."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.rows: dict[str, list[Cell]] = {}
        self.labels: list[str] = []
        self.widths: list[int] = []
        self._pending: list[tuple[str, list[Cell]]] = []  # the rows still to add, in order
        self._fills = 0  # rebuilds started: a chunk of an older one is dropped

    @staticmethod
    def content_widths(rows: list[list[Cell]], columns: int) -> list[int]:
        """The widest cell of each column after the selection mark (0 for a table without rows)."""
        widths = [0] * columns
        for cells in rows:
            for i, cell in enumerate(cells[1:]):
                if cell.width > widths[i]:
                    widths[i] = cell.width
        return widths

    def show(self, table: DataTable, rows: list[tuple[str, list[Cell]]], columns: Sequence[Column],
             labels: list[str], widths: list[int], force: bool = False, keep: str | None = None) -> bool:
        """Make the table hold these rows; True when it was rebuilt (the cursor is then the caller's to place:
        ``keep``, the run under it, is among the rows added at once)."""
        keys = [rid for rid, _ in rows]
        if force or self._pending or keys != self.keys or labels != self.labels or widths != self.widths:
            self._rebuild(table, rows, columns, labels, widths, keys.index(keep) + 1 if keep in keys else 0)
            return True
        column_keys = ["sel", *(c.key for c in columns)]
        for rid, cells in rows:
            old = self.rows[rid]
            if cells is old:
                continue
            for key, new, was in zip(column_keys, cells, old):
                if new != was:
                    table.update_cell(rid, key, new)
            self.rows[rid] = cells
        return False

    def _rebuild(self, table: DataTable, rows: list[tuple[str, list[Cell]]], columns: Sequence[Column],
                 labels: list[str], widths: list[int], at_least: int) -> None:
        # Columns too: their widths follow the cells shown now, narrower as well as wider.
        table.clear(columns=True)
        table.add_column(" ", key="sel", width=1)
        for col, label, width in zip(columns, labels, widths):
            table.add_column(label, key=col.key, width=max(len(label), width))
        first = max(FIRST_ROWS, at_least)
        for rid, cells in rows[:first]:
            table.add_row(*cells, key=rid)
        self.keys, self.rows = [rid for rid, _ in rows], dict(rows)
        self.labels, self.widths = labels, widths
        self._pending, self._fills = rows[first:], self._fills + 1
        if self._pending:
            table.call_after_refresh(self._fill, table, self._fills)

    def _fill(self, table: DataTable, fill: int) -> None:
        if fill != self._fills:
            return  # a later rebuild took over
        chunk, self._pending = self._pending[:FILL_CHUNK], self._pending[FILL_CHUNK:]
        for rid, cells in chunk:
            table.add_row(*cells, key=rid)
        if self._pending:
            table.call_after_refresh(self._fill, table, fill)

    def finish(self, table: DataTable) -> None:
        """Add every row still to come now (End goes to the last run, not the last one added yet)."""
        pending, self._pending = self._pending, []
        for rid, cells in pending:
            table.add_row(*cells, key=rid)


class RunsTable(DataTable):
    """The runs table: Home / End go to the first / last run (a DataTable's own Home / End scroll sideways)."""

    BINDINGS = [
        Binding("home", "scroll_top", "First run", show=False),
        Binding("end", "scroll_bottom", "Last run", show=False),
    ]

    def __init__(self, rows: TableRows, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows_shown = rows

    def action_scroll_bottom(self) -> None:
        self.rows_shown.finish(self)
        super().action_scroll_bottom()
