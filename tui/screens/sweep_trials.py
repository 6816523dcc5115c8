"""The sweep screen's trials table: a row per trial, kept current at the least cost.

A poll where nothing changed touches nothing; one where only cells changed (a running trial's epoch,
a selection mark) updates those cells; only a change of the rows or their order, or a cell too wide for
its column, rebuilds the table. With hundreds of trials and a few running, each poll then costs the UI
thread a few cells, not hundreds of rows.
"""
from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual.widgets import DataTable

from tui.screens import sweep_view as view

Cells = Sequence[Text | str]


class TrialsTable(DataTable):
    """Rows keyed by trial number; ``show`` takes every row's cells (the mark first, then view.columns)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._keys: list[str] = []
        self._shown: dict[str, tuple[str, ...]] = {}
        self._widths: list[int] = []

    def show(self, params: list[str], rows: list[tuple[int, Cells]]) -> None:
        keys = ["sel", *(k for k, _ in view.columns(params))]
        texts = {str(n): tuple(str(c) for c in cells) for n, cells in rows}
        if keys == self._keys and list(texts) == list(self._shown):
            changed = [(key, i, cell) for key, cells in zip(texts, (c for _, c in rows))
                       for i, cell in enumerate(cells) if texts[key][i] != self._shown[key][i]]
            if all(view.cell_width(cell) <= self._widths[i] for _, i, cell in changed):
                for key, i, cell in changed:
                    self.update_cell(key, keys[i], cell)
                self._shown = texts
                return
        self._rebuild(params, keys, rows)
        self._shown = texts

    def _rebuild(self, params: list[str], keys: list[str], rows: list[tuple[int, Cells]]) -> None:
        current = self.current_key()
        self.clear(columns=True)  # columns too: a long cell once shown would keep its column wide
        # Widths given, not measured by the table: its own measure, done after the first paint of rows added
        # to an empty table, left the terminal showing cells cut to their headers' width.
        labels = [" ", *(label for _, label in view.columns(params))]
        self._widths = [1] + [max([len(label)] + [view.cell_width(c[i]) for _, c in rows])
                              for i, label in enumerate(labels) if i]
        for key, label, width in zip(keys, labels, self._widths):
            self.add_column(label, key=key, width=width)
        for number, cells in rows:
            self.add_row(*cells, key=str(number))
        self._keys = keys
        if current is not None and current in self.rows:
            self.move_cursor(row=self.get_row_index(current), animate=False)

    def current_key(self) -> str | None:
        """The row key (a trial number) under the cursor; None when there are no rows."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor beyond the rows while the table is rebuilt
            return None
