"""Per-class accuracy table: latest, change since the previous epoch, best, and a bar.

Rows are rebuilt once per epoch (cheap: one row per class). ``s`` cycles the
sort order; the cursor stays on the same class across rebuilds. A narrow panel
keeps the class, its latest accuracy and its change; the best accuracy and the
bar come back as the width allows (``fit_columns``). Class names take the width
there is before the bar grows ("orange-horizontal" whole, not "orange-horizont…").
"""
from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from tui import format as fmt

SORTS = ("class", "latest ↓", "latest ↑", "change ↓", "best ↓")
BAR = 12
NAME = 16  # class-name cells kept before the other columns give way; longer names use what is left
LATEST, CHANGE, BEST = 6, 5, 5  # column widths ("latest", "▲ 5.0", "85.0%"); each cell adds 2 of padding


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


def fit_columns(width: int, longest: int = NAME) -> tuple[int, bool, int]:
    """(class name width, best shown, bar width) for a table ``width`` cells wide whose longest class name
    is ``longest`` cells: names whole where they fit, then the bar."""
    spare = width - (LATEST + 2) - (CHANGE + 2)
    if spare >= min(longest, NAME) + 2 + BEST + 2 + 4 + 2:  # every column, the bar at least 4 cells
        name = min(longest, spare - 2 - (BEST + 2) - (4 + 2))
        return name, True, min(BAR, spare - (name + 2) - (BEST + 2) - 2)
    if spare >= 12 + 2 + BEST + 2:  # names of at least 12, and the best accuracy
        return min(longest, spare - (BEST + 2) - 2), True, 0
    return max(4, min(longest, spare - 2)), False, 0


class PerClassTable(DataTable):
    """One row per class; ``s`` changes the sort."""

    BINDINGS = [Binding("s", "cycle_sort", "Sort")]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.class_order = SORTS[0]
        self._rows_data: tuple[list[str], list[float], list[float], list[float]] = ([], [], [], [])
        self._layout: tuple[int, bool, int] | None = None

    def on_mount(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        if self._fit() != self._layout:
            self._rebuild()

    def set_data(self, names: list[str], latest: list[float], prev: list[float], best: list[float]) -> None:
        self._rows_data = (names, latest, prev, best)
        self._rebuild()

    def action_cycle_sort(self) -> None:
        self.class_order = SORTS[(SORTS.index(self.class_order) + 1) % len(SORTS)]
        self._rebuild()

    def _sync_title(self) -> None:
        self.border_title = f"per-class accuracy (sort: {self.class_order}; s)"

    def _fit(self) -> tuple[int, bool, int]:
        rows = len(self._rows_data[1])
        scrollbar = self.styles.scrollbar_size_vertical if rows + 1 > self.size.height else 0
        longest = max((len(name) for name in self._rows_data[0]), default=NAME)
        return fit_columns(self.size.width - scrollbar, longest)

    def _rebuild(self) -> None:
        names, latest, prev, best = self._rows_data
        current = None
        if self.row_count and self.cursor_row < self.row_count:
            current = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        self._layout = self._fit()
        self.clear(columns=True)  # columns too: their widths follow the layout
        self._add_columns()
        for i in sort_order(self.class_order, latest, prev, best):
            name = names[i] if i < len(names) else f"class {i}"
            self.add_row(*self._cells(name, latest[i], prev[i] if i < len(prev) else None,
                                      best[i] if i < len(best) else None), key=str(i))
        if current is not None and current in {str(i) for i in range(len(latest))}:
            self.move_cursor(row=self.get_row_index(current))
        self._sync_title()

    def _add_columns(self) -> None:
        _, with_best, bar_width = self._layout or fit_columns(80)
        self.add_column("class", key="class")
        self.add_column("latest", key="latest")
        self.add_column("Δ", key="change")
        if with_best:
            self.add_column("best", key="best")
        if bar_width:
            self.add_column("", key="bar")

    def _cells(self, name: str, acc: float, prev: float | None, best: float | None) -> list[Text]:
        name_width, with_best, bar_width = self._layout or fit_columns(80)
        cells = [
            Text(fmt.truncate(name, name_width)),
            Text(fmt.class_pct(acc), style=acc_style(acc), justify="right"),
            _change(acc - prev) if prev is not None else Text("   -", style="dim"),
        ]
        if with_best:
            cells.append(Text(fmt.class_pct(best), justify="right"))
        if bar_width:
            cells.append(Text(bar(acc, bar_width), style=acc_style(acc)))
        return cells


def _change(delta: float) -> Text:
    """Signed change in points, with an arrow so the sign reads without colour."""
    points = 100 * delta
    if abs(points) < 0.05:
        return Text("  0.0", style="dim", justify="right")
    arrow, style = ("▲", "green") if points > 0 else ("▼", "red")
    return Text(arrow + fmt.points(abs(delta)).lstrip("+").rjust(4), style=style, justify="right")
