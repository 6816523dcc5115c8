"""A per-class 2-D scatter plot (e.g. a PCA projection of features) in braille.

Each terminal cell holds a 2 x 4 grid of braille dots (U+2800 plus one bit per
dot), so an 80 x 20 plot has 160 x 80 dot positions. A cell takes the colour of
the class with the most points in it (ties: the lower class index): at this
resolution a cell is one pixel of a density map, and its majority is what the eye
should read.

Axes are scaled to the data between the 1st and 99th percentile on each axis
(plus 5% margin), so a handful of outliers cannot squeeze every cluster into a
corner; the points beyond are left out (the title line, when there is one, says
how many). ``bounds`` fixes the axes instead (e.g. so a live plot does not jump).

Colours: the 10-colour Tableau palette (distinct in hue, readable on dark and
light backgrounds), then two extras; with more classes (CIFAR-100) colours repeat
and only the legend tells classes apart. Under NO_COLOR each cell is instead the
majority class's one-character key (0-9, a-z, then A-Z; '+' past 62 classes) and
the legend maps keys to names.
"""
from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

from tui import format as fmt

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
           "#17becf", "#bcbd22"]
KEYS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
OTHER_KEY = "+"
BRAILLE = 0x2800
# Bit of each dot, indexed [row][col] within a cell (Unicode braille: dots 1-3 and 7 left, 4-6 and 8 right).
DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
MIN_WIDTH, MIN_HEIGHT = 20, 6
TOO_SMALL = "make the terminal larger to see the scatter plot"
PERCENTILES = (1.0, 99.0)
MARGIN = 0.05

Bounds = tuple[float, float, float, float]  # xmin, xmax, ymin, ymax


def key_of(label: int) -> str:
    """The one-character key of a class under NO_COLOR."""
    return KEYS[label] if 0 <= label < len(KEYS) else OTHER_KEY


def colour_of(label: int) -> str:
    return PALETTE[label % len(PALETTE)]


def data_bounds(points: np.ndarray) -> Bounds:
    """Axis ranges: 1st..99th percentile of each axis plus a margin; a flat axis gets +-1."""
    lo = np.percentile(points, PERCENTILES[0], axis=0)
    hi = np.percentile(points, PERCENTILES[1], axis=0)
    out: list[float] = []
    for a, b in zip(lo.tolist(), hi.tolist()):
        pad = (b - a) * MARGIN if b > a else 1.0
        out += [a - pad, b + pad]
    return out[0], out[1], out[2], out[3]


def scatter_grid(points: np.ndarray, labels: np.ndarray, n_classes: int, cols: int, rows: int,
                 bounds: Bounds) -> tuple[np.ndarray, np.ndarray, int]:
    """(bits, majority, left_out): per cell the braille dot bits (rows x cols uint8), the class with the
    most points (-1: empty), and how many points fell outside ``bounds``."""
    xmin, xmax, ymin, ymax = bounds
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    dx = np.floor((pts[:, 0] - xmin) / (xmax - xmin) * 2 * cols)
    dy = np.floor((ymax - pts[:, 1]) / (ymax - ymin) * 4 * rows)  # screen rows grow downward
    # A point exactly on the max edge belongs to the last dot, not one past it.
    dx = np.where(pts[:, 0] == xmax, 2 * cols - 1, dx)
    dy = np.where(pts[:, 1] == ymin, 4 * rows - 1, dy)
    inside = (dx >= 0) & (dx < 2 * cols) & (dy >= 0) & (dy < 4 * rows) & (labels >= 0) & (labels < n_classes)
    dx, dy, labels = dx[inside].astype(np.int64), dy[inside].astype(np.int64), labels[inside]
    cell = (dy // 4) * cols + dx // 2
    bits = np.zeros(rows * cols, dtype=np.uint8)
    np.bitwise_or.at(bits, cell, DOT_BITS[dy % 4, dx % 2])
    counts = np.bincount(cell * n_classes + labels, minlength=rows * cols * n_classes)
    counts = counts.reshape(rows * cols, n_classes)
    majority = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)
    return bits.reshape(rows, cols), majority.reshape(rows, cols), int((~inside).sum())


def _legend_entries(names: list[str], monochrome: bool, short: bool) -> list[Text]:
    labels = fmt.abbreviations(names) if short else names
    entries = []
    for i, name in enumerate(labels):
        if monochrome:
            entries.append(Text(f"{key_of(i)} {name}"))
        else:
            entries.append(Text.assemble(("■", colour_of(i)), f" {name}"))
    return entries


def _pack(entries: list[Text], width: int) -> list[Text]:
    """Entries laid out in lines of at most ``width`` cells, two spaces apart."""
    lines: list[Text] = []
    for entry in entries:
        if lines and lines[-1].cell_len + 2 + entry.cell_len <= width:
            lines[-1].append("  ")
            lines[-1].append_text(entry)
        else:
            entry.truncate(width, overflow="ellipsis")
            lines.append(entry.copy())
    return lines


def legend(names: list[str], width: int, max_lines: int, monochrome: bool = False) -> list[Text]:
    """Colour (or key) -> class name, in at most ``max_lines`` lines: full names, else abbreviations,
    else as many as fit and '+N more'."""
    for short in (False, True):
        lines = _pack(_legend_entries(names, monochrome, short), width)
        if len(lines) <= max_lines:
            return lines
    entries = _legend_entries(names, monochrome, True)
    while entries and len(_pack(entries + [Text(f"+{len(names) - len(entries)} more")], width)) > max_lines:
        entries.pop()
    return _pack(entries + [Text(f"+{len(names) - len(entries)} more", style="dim")], width)


def _plot_lines(bits: np.ndarray, majority: np.ndarray, monochrome: bool) -> list[Text]:
    lines = []
    for bit_row, class_row in zip(bits.tolist(), majority.tolist()):
        line = Text()
        for b, c in zip(bit_row, class_row):
            if c < 0:
                line.append(" ")
            elif monochrome:
                line.append(key_of(c))
            else:
                line.append(chr(BRAILLE + b), style=colour_of(c))
        lines.append(line)
    return lines


def _note(text: str) -> Text:
    return Text(text, style="dim", overflow="ellipsis", no_wrap=True)


def render_scatter(points: np.ndarray, labels: np.ndarray, names: list[str], width: int, height: int, *,
                   monochrome: bool = False, title: str = "", bounds: Bounds | None = None) -> Text:
    """The plot in ``width`` x ``height`` cells: an optional title line, the braille plot, the legend."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return _note(TOO_SMALL)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not len(pts):
        return _note("no points to plot yet")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(labels) and len(names) <= int(labels.max()):  # names missing: the class numbers stand in
        names = list(names) + [str(i) for i in range(len(names), int(labels.max()) + 1)]
    head = [Text(fmt.truncate(title, width), style="bold")] if title else []
    keys = legend(names, width, max(1, (height - len(head)) // 3), monochrome)
    rows = height - len(head) - len(keys)
    bits, majority, left_out = scatter_grid(pts, labels, len(names), width, rows,
                                            bounds or data_bounds(pts))
    if left_out and head:
        head[0] = Text(fmt.truncate(f"{title} ({fmt.count(left_out, 'outlier')} not shown)", width), style="bold")
    return Text("\n").join(head + _plot_lines(bits, majority, monochrome) + keys)


class ScatterPlot(Widget):
    """A scatter of labelled 2-D points that fills its size (redrawn on resize)."""

    DEFAULT_CSS = """
    ScatterPlot { width: 1fr; height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.points = np.zeros((0, 2))
        self.labels = np.zeros(0, dtype=np.int64)
        self.names: list[str] = []
        self.plot_title = ""
        self._cached: tuple[tuple[int, int, bool], Text] | None = None

    def set_points(self, points: np.ndarray, labels: np.ndarray, names: list[str], title: str = "") -> None:
        self.points, self.labels, self.names, self.plot_title = points, labels, names, title
        self._cached = None
        self.refresh()

    def render(self) -> Text:
        # Cached per size: render() runs on every repaint, the plot only changes with the data or the size.
        key = (self.size.width, self.size.height, bool(getattr(self.app, "no_color", False)))
        if self._cached is None or self._cached[0] != key:
            text = render_scatter(self.points, self.labels, self.names, key[0], key[1], monochrome=key[2],
                                  title=self.plot_title)
            self._cached = (key, text)
        return self._cached[1]
