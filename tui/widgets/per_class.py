"""Per-class accuracy table: latest, change since the previous epoch, best, and a bar.

Rows are rebuilt once per epoch (cheap: one row per class). ``s`` cycles the
sort order; the cursor stays on the same class across rebuilds.
"""
from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from .. import format as fmt

SORTS = ("class", "latest ↓", "latest ↑", "change ↓", "best ↓")
BAR = 12


def acc_style(acc: float) -> str:
    """Colour by accuracy band; bold/dim survive NO_COLOR so bands still differ a bit."""
    if acc >= 0.8:
        return "bold green"
    if acc >= 0.5:
        return "yellow"
    return "red"


def bar(acc: float, width: int = BAR) -> str:
    """A bar in eighths of a cell, so 1% steps show on a 12-cell bar."""
    eighths = round(max(0.0, min(1.0, acc)) * width * 8)
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest] if rest else ""
    return ("█" * full + partial).ljust(width, "·")


def sort_order(sort: str, latest: list[float], prev: list[float], best: list[float]) -> list[int]:
    """Row indices in the order the sort mode asks for."""
    idx = list(range(len(latest)))
    change = [latest[i] - prev[i] if i < len(prev) else 0.0 for i in idx]
    keys = {
        "class": lambda i: i,
        "latest ↓": lambda i: -latest[i],
        "latest ↑": lambda i: latest[i],
        "change ↓": lambda i: -change[i],
        "best ↓": lambda i: -best[i] if i < len(best) else 0.0,
    }
    return sorted(idx, key=keys[sort])


class PerClassTable(DataTable):
    """One row per class; ``s`` changes the sort."""

    BINDINGS = [Binding("s", "cycle_sort", "Sort")]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.class_order = SORTS[0]
        self._rows_data: tuple[list[str], list[float], list[float], list[float]] = ([], [], [], [])

    def on_mount(self) -> None:
        self.add_column("class", key="class")
        self.add_column("latest", key="latest")
        self.add_column("Δ", key="change")
        self.add_column("best", key="best")
        self.add_column("", key="bar")
        self._sync_title()

    def set_data(self, names: list[str], latest: list[float], prev: list[float], best: list[float]) -> None:
        self._rows_data = (names, latest, prev, best)
        self._rebuild()

    def action_cycle_sort(self) -> None:
        self.class_order = SORTS[(SORTS.index(self.class_order) + 1) % len(SORTS)]
        self._rebuild()

    def _sync_title(self) -> None:
        self.border_title = f"per-class accuracy (sort: {self.class_order}; s)"

    def _rebuild(self) -> None:
        names, latest, prev, best = self._rows_data
        current = None
        if self.row_count and self.cursor_row < self.row_count:
            current = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        self.clear()
        for i in sort_order(self.class_order, latest, prev, best):
            name = names[i] if i < len(names) else f"class {i}"
            acc = latest[i]
            cells: list[Text] = [
                Text(fmt.truncate(name, 16)),
                Text(fmt.class_pct(acc), style=acc_style(acc), justify="right"),
                _change(acc - prev[i]) if i < len(prev) else Text("   -", style="dim"),
                Text(fmt.class_pct(best[i]) if i < len(best) else fmt.MISSING, justify="right"),
                Text(bar(acc), style=acc_style(acc)),
            ]
            self.add_row(*cells, key=str(i))
        if current is not None and current in {str(i) for i in range(len(latest))}:
            self.move_cursor(row=self.get_row_index(current))
        self._sync_title()


def _change(delta: float) -> Text:
    """Signed change in points, with an arrow so the sign reads without colour."""
    points = 100 * delta
    if abs(points) < 0.05:
        return Text("  0.0", style="dim", justify="right")
    arrow, style = ("▲", "green") if points > 0 else ("▼", "red")
    return Text(f"{arrow}{abs(points):4.1f}", style=style, justify="right")
