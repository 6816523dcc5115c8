"""ASCII confusion matrix: rows are true classes, columns predicted ones.

Each cell is shaded by its share of the row (so rare and common classes read
alike): a background colour in colour terminals, and a shade character
(``· ░ ▒ ▓ █``) in monochrome ones (``NO_COLOR=1``), where colour is gone.
The diagonal (correct predictions) is bold and green; errors are red.

The matrix fits the panel: when not every class fits in its width or height, the
least accurate classes are shown; when not even two fit, a one-line note asks for
a larger terminal instead of a clipped matrix.

A cursor (reverse video and underlined, so it reads without colour too) marks one
cell for drill-down: it starts on the most confused pair, arrows move it among
the shown classes, and enter (or a click on it) asks for that cell's images.
"""
from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from tui import format as fmt

SHADES = " ░▒▓█"
CELL = 5  # 4 digits (1000 test images per CIFAR class) + the shade character
LABEL = 12  # a class name cut to 11 characters, then a space
HEAD = 2  # lines above the rows: the legend and the column labels
TOO_SMALL = "make the terminal larger to see the confusion matrix"


def shade_char(fraction: float) -> str:
    """A shade glyph for a share of the row: '·' for none, then ░ ▒ ▓ █."""
    if fraction <= 0:
        return "·"
    if fraction < 0.05:
        return SHADES[1]
    if fraction < 0.2:
        return SHADES[2]
    if fraction < 0.5:
        return SHADES[3]
    return SHADES[4]


def pick_classes(matrix: list[list[int]], limit: int) -> list[int]:
    """The classes to show when not all fit: the least accurate ones, in class order."""
    n = len(matrix)
    if n <= limit:
        return list(range(n))
    def recall(i: int) -> float:
        total = sum(matrix[i])
        return matrix[i][i] / total if total else 1.0
    worst = sorted(range(n), key=recall)[: max(1, limit)]
    return sorted(worst)


def _bg(fraction: float, diagonal: bool) -> Style:
    # Blend from the panel background toward green (correct) or red (errors); errors
    # saturate early because a 20% confusion is already a lot.
    strength = min(1.0, fraction if diagonal else fraction * 2.5)
    if strength <= 0:
        return Style(dim=True)
    level = int(40 + 160 * strength)
    colour = f"rgb(0,{level},40)" if diagonal else f"rgb({level},20,20)"
    return Style(bgcolor=colour, color="white", bold=diagonal)


def fit_classes(matrix: list[list[int]], width: int, height: int | None) -> list[int]:
    """The classes that fit ``width`` x ``height`` (None: any height), least accurate first to go in."""
    n = len(matrix)
    limit = (width - LABEL) // CELL
    if height is not None:
        limit = min(limit, height - HEAD)
        if limit < n:
            limit = min(limit, height - HEAD - 1)  # one more line says which classes are shown
    return pick_classes(matrix, limit) if limit >= 2 or (n == 1 and limit >= 1) else []


def first_row(matrix: list[list[int]], shown: list[int]) -> int:
    """The line of the first class row: the legend, the 'k of n classes' note when some are hidden, the labels."""
    return HEAD + (1 if len(shown) < len(matrix) else 0)


def most_confused(matrix: list[list[int]], among: list[int] | None = None) -> tuple[int, int]:
    """(true, predicted) of the largest off-diagonal count among those classes (ties: first in row-major
    order); the one diagonal cell when there is a single class."""
    classes = list(range(len(matrix))) if among is None else among
    best: tuple[int, int] = (classes[0], classes[0]) if classes else (0, 0)
    top = -1
    for i in classes:
        for j in classes:
            if i != j and matrix[i][j] > top:
                best, top = (i, j), matrix[i][j]
    return best


def cursor_hint(matrix: list[list[int]], names: list[str], cursor: tuple[int, int]) -> str:
    """The line under the matrix saying what enter opens."""
    i, j = cursor
    return f"enter: images of {names[i]} → {names[j]} ({fmt.count(matrix[i][j], 'image')})"


def render_confusion(
    matrix: list[list[int]], names: list[str], *, normalized: bool = False, monochrome: bool = False,
    width: int = 80, height: int | None = None, cursor: tuple[int, int] | None = None,
) -> Text:
    """The matrix as styled text fitting ``width`` columns and ``height`` lines (a subset of classes when
    too small; a note when not even two classes fit). ``cursor`` (true, predicted) is drawn reversed and
    underlined, with a line under the matrix naming it when the height has room."""
    if not matrix:
        return _note("no confusion matrix yet: it appears after the first evaluation")
    shown = fit_classes(matrix, width, height)
    if not shown:
        return _note(TOO_SMALL)
    names = names if len(names) == len(matrix) else [str(i) for i in range(len(matrix))]
    short = fmt.abbreviations(names)
    mode = "row-normalised %" if normalized else "counts"
    out = Text(fmt.truncate(f"true ↓ / predicted → ({mode}; n toggles)", width), style="dim")
    if len(shown) < len(matrix):
        out.append("\n" + fmt.truncate(f"{len(shown)} of {len(matrix)} classes: the least accurate", width),
                   style="dim")
    out.append("\n" + " " * LABEL)
    for j in shown:
        out.append(f"{short[j]:>{CELL - 1}} ", style="bold")
    for i in shown:
        out.append("\n")
        out.append(f"{fmt.truncate(names[i], LABEL - 1):<{LABEL}}", style="bold")
        _row(out, matrix[i], i, shown, normalized, monochrome, cursor[1] if cursor and cursor[0] == i else None)
    if cursor and (height is None or first_row(matrix, shown) + len(shown) < height):
        out.append("\n" + fmt.truncate(cursor_hint(matrix, names, cursor), width), style="dim")
    return out


def _row(out: Text, row: list[int], i: int, shown: list[int], normalized: bool, monochrome: bool,
         cursor_col: int | None = None) -> None:
    """The cells of one true class, appended to out (column ``cursor_col`` marked as the cursor)."""
    total = sum(row) or 1
    for j in shown:
        start = len(out)
        fraction = row[j] / total
        value = f"{round(100 * fraction):>3}%" if normalized else f"{row[j]:>{CELL - 1}}"
        if len(value) > CELL - 1:
            value = "9999"
        glyph = shade_char(fraction)
        diagonal = i == j
        if monochrome:
            style = Style(bold=True, reverse=diagonal) if diagonal else Style(dim=row[j] == 0)
            out.append(value, style=style)
            out.append(glyph, style=Style(bold=diagonal))
        else:
            out.append(value + (glyph if glyph == "·" else " "), style=_bg(fraction, diagonal))
        if j == cursor_col:
            # Reverse video flips the cell, except where monochrome already reverses the diagonal.
            flip = not (monochrome and diagonal)
            out.stylize(Style(reverse=flip, underline=True, bold=True), start, len(out))


def _note(text: str) -> Text:
    """A dim note in place of the matrix (wrapped by the widget; a line that does not fit is cut)."""
    return Text(text, style="dim", overflow="ellipsis")


class ConfusionMatrix(Widget, can_focus=True):
    """Renders the latest confusion matrix with a drill-down cursor; ``n`` (on the dashboard) toggles
    counts/normalised. Arrows/home/end move the cursor, enter (or a click on it) posts CellChosen."""

    BINDINGS = [
        Binding("enter", "choose", "Images of cell", show=True),
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("home", "row_end(0)", "Row start", show=False),
        Binding("end", "row_end(1)", "Row end", show=False),
    ]

    class CellChosen(Message):
        """The user asked for the images of one cell: true class, predicted class, their count."""

        def __init__(self, matrix: "ConfusionMatrix", true: int, pred: int, count: int) -> None:
            super().__init__()
            self.matrix, self.true, self.pred, self.count = matrix, true, pred, count

        @property
        def control(self) -> "ConfusionMatrix":
            return self.matrix

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.matrix: list[list[int]] = []
        self.names: list[str] = []
        self.normalized = False
        self.cursor: tuple[int, int] | None = None
        self.user_moved = False
        """The user put the cursor somewhere: a new epoch's matrix no longer moves it to the most confused pair."""

    def set_matrix(self, matrix: list[list[int]], names: list[str]) -> None:
        """A new matrix (each evaluation): the cursor follows the most confused pair until the user moves it,
        then stays on the cell the user chose."""
        self.matrix, self.names = matrix, names
        n = len(matrix)
        if not n:
            self.cursor = None
        elif self.cursor is None or max(self.cursor) >= n or not self.user_moved:
            self.cursor = most_confused(matrix)
        self.refresh(layout=True)

    def toggle_normalized(self) -> bool:
        self.normalized = not self.normalized
        self.refresh()
        return self.normalized

    @property
    def total(self) -> int:
        """Sum of every cell: the number of test images evaluated."""
        return sum(sum(row) for row in self.matrix)

    def _shown(self) -> list[int]:
        """The classes drawn at the current size; the cursor is moved onto them if it was off."""
        shown = fit_classes(self.matrix, self.size.width, self.size.height) if self.matrix else []
        if shown and (self.cursor is None or not set(self.cursor) <= set(shown)):
            self.cursor = most_confused(self.matrix, shown)
        return shown

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """(true, predicted) of the cell drawn at content offset (x, y), or None (labels, notes, outside)."""
        shown = self._shown()
        row, col = y - first_row(self.matrix, shown), (x - LABEL) // CELL if x >= LABEL else -1
        if not (0 <= row < len(shown) and 0 <= col < len(shown)):
            return None
        return shown[row], shown[col]

    def render(self) -> Text:
        width, height = self.size
        cursor = self.cursor if self._shown() else None
        return render_confusion(self.matrix, self.names, normalized=self.normalized,
                                monochrome=self.app.no_color, width=width, height=height, cursor=cursor)

    # ------------------------------------------------------------ input
    def _choose(self, cell: tuple[int, int]) -> None:
        self.post_message(self.CellChosen(self, cell[0], cell[1], self.matrix[cell[0]][cell[1]]))

    def action_choose(self) -> None:
        if self._shown() and self.cursor is not None:
            self._choose(self.cursor)

    def action_move(self, rows: int, cols: int) -> None:
        shown = self._shown()
        if not shown or self.cursor is None:
            return
        r, c = shown.index(self.cursor[0]), shown.index(self.cursor[1])
        r, c = max(0, min(len(shown) - 1, r + rows)), max(0, min(len(shown) - 1, c + cols))
        self.cursor, self.user_moved = (shown[r], shown[c]), True
        self.refresh()

    def action_row_end(self, last: int) -> None:
        shown = self._shown()
        if shown and self.cursor is not None:
            self.cursor, self.user_moved = (self.cursor[0], shown[-1] if last else shown[0]), True
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        cell = self.cell_at(offset.x, offset.y) if offset is not None else None
        if cell is None:
            return
        if cell == self.cursor:
            self._choose(cell)
        else:
            self.cursor, self.user_moved = cell, True
            self.refresh()
