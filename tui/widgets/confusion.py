"""ASCII confusion matrix: rows are true classes, columns predicted ones.

Each cell is shaded by its share of the row (so rare and common classes read
alike): a background colour in colour terminals, and a shade character
(``· ░ ▒ ▓ █``) in monochrome ones (``NO_COLOR=1``), where colour is gone.
The diagonal (correct predictions) is bold and green; errors are red.
"""
from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from ..format import abbreviations

SHADES = " ░▒▓█"
CELL = 5  # 4 digits (1000 test images per CIFAR class) + the shade character
LABEL = 11


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


def render_confusion(
    matrix: list[list[int]], names: list[str], *, normalized: bool = False, monochrome: bool = False,
    width: int = 80,
) -> Text:
    """The matrix as styled text fitting ``width`` columns (a subset of classes when too wide)."""
    if not matrix:
        return Text("no confusion matrix yet: it appears after the first evaluation", style="dim")
    names = names if len(names) == len(matrix) else [str(i) for i in range(len(matrix))]
    fit = max(1, (width - LABEL) // CELL)
    shown = pick_classes(matrix, fit)
    short = abbreviations(names)
    out = Text()
    mode = "row-normalised %" if normalized else "counts"
    out.append(f"true ↓ / predicted → ({mode}; n toggles)", style="dim")
    if len(shown) < len(matrix):
        out.append(f"\n{len(shown)} of {len(matrix)} classes: the least accurate", style="dim")
    out.append("\n" + " " * LABEL)
    for j in shown:
        out.append(f"{short[j]:>{CELL - 1}} ", style="bold")
    for i in shown:
        row = matrix[i]
        total = sum(row) or 1
        out.append("\n")
        out.append(f"{names[i][:LABEL - 1]:<{LABEL}}", style="bold")
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
    return out


class ConfusionMatrix(Widget):
    """Renders the latest confusion matrix; ``n`` (on the dashboard) toggles counts/normalised."""

    DEFAULT_CSS = """
    ConfusionMatrix { height: auto; width: 1fr; }
    """

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
        return render_confusion(self.matrix, self.names, normalized=self.normalized,
                                monochrome=self.app.no_color, width=max(20, self.size.width))
