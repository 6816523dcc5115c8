"""ASCII confusion matrix: rows are true classes, columns predicted ones.

Each cell is shaded by its share of the row (so rare and common classes read
alike): a background colour in colour terminals, and a shade character
(``· ░ ▒ ▓ █``) in monochrome ones (``NO_COLOR=1``), where colour is gone.
The diagonal (correct predictions) is bold and green; errors are red.

The matrix fits the panel: when not every class fits in its width or height, the
least accurate classes are shown; when not even two fit, a one-line note asks for
a larger terminal instead of a clipped matrix.
"""
from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from .. import format as fmt

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


def render_confusion(
    matrix: list[list[int]], names: list[str], *, normalized: bool = False, monochrome: bool = False,
    width: int = 80, height: int | None = None,
) -> Text:
    """The matrix as styled text fitting ``width`` columns and ``height`` lines (a subset of classes when
    too small; a note when not even two classes fit)."""
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
        _row(out, matrix[i], i, shown, normalized, monochrome)
    return out


def _row(out: Text, row: list[int], i: int, shown: list[int], normalized: bool, monochrome: bool) -> None:
    """The cells of one true class, appended to out."""
    total = sum(row) or 1
    for j in shown:
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


def _note(text: str) -> Text:
    """A dim note in place of the matrix (wrapped by the widget; a line that does not fit is cut)."""
    return Text(text, style="dim", overflow="ellipsis")


class ConfusionMatrix(Widget):
    """Renders the latest confusion matrix; ``n`` (on the dashboard) toggles counts/normalised."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.matrix: list[list[int]] = []
        self.names: list[str] = []
        self.normalized = False

    def set_matrix(self, matrix: list[list[int]], names: list[str]) -> None:
        self.matrix, self.names = matrix, names
        self.refresh(layout=True)

    def toggle_normalized(self) -> bool:
        self.normalized = not self.normalized
        self.refresh()
        return self.normalized

    @property
    def total(self) -> int:
        """Sum of every cell: the number of test images evaluated."""
        return sum(sum(row) for row in self.matrix)

    def render(self) -> Text:
        width, height = self.size
        return render_confusion(self.matrix, self.names, normalized=self.normalized,
                                monochrome=self.app.no_color, width=width, height=height)
