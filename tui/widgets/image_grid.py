"""A scrollable, keyboard-navigable grid of image tiles with captions.

Built on the Line API (a ScrollView whose ``render_line`` draws one terminal
line at a time) so that thousands of images open at once: only the tiles on
visible lines are ever rendered, each once, into a bounded cache.

Tile size (when ``set_items`` is given no ``tile_cols``): the image at full
size (1 pixel per half cell, at most 32 x 16 cells: 32 x 16 for CIFAR, 28 x 14
for Fashion-MNIST) when every item fits on one row or when at least 4 full tiles
fit across the widget (about 130 columns for CIFAR); otherwise half size (16 x 8
for CIFAR, an exact 2 x 2 pixel average), which puts 4 tiles across 80 columns.
One blank column separates tiles, one blank line separates tile rows; up to
3 caption lines sit under each image, cut with '…' to the tile width. The columns
a row of tiles leaves over are shared out: each tile's cell widens (its image
centred), up to twice the image, so captions use the width there is.

The cursor (the selected tile) shows as its caption lines in reverse video,
which reads in colour and under NO_COLOR alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui import format as fmt
from tui.widgets.pixels import cells_to_segments, fit_size, pixel_cells

FULL_COLS, FULL_ROWS = 32, 16  # the largest "full size" tile image: a 224px photo is shrunk to this
MIN_ACROSS = 4  # full-size tiles only when at least this many fit across (or every item fits one row)
MAX_CAPTION = 3
CACHE_TILES = 512  # rendered tile images kept; a screenful is at most a few dozen
EMPTY = "no images"


@dataclass
class GridItem:
    """One tile: an (H, W[, C]) uint8 image, up to 3 caption lines of (text, rich style), and the caller's id."""

    image: np.ndarray
    caption: list[tuple[str, str]] = field(default_factory=list)
    key: int = 0


@dataclass(frozen=True)
class _Geometry:
    """Where tiles go for the current width: image box, caption lines, tiles per row."""

    img_cols: int
    img_rows: int
    captions: int
    per_row: int
    cell_cols: int
    """The tile's width: its image's, widened by the row's spare columns (captions use it)."""

    @property
    def tile_height(self) -> int:
        return self.img_rows + self.captions

    @property
    def pitch(self) -> int:
        """Lines from one tile row to the next (one blank line between)."""
        return self.tile_height + 1


def tile_box(h: int, w: int, width: int, n_items: int, tile_cols: int | None = None) -> tuple[int, int]:
    """(cols, rows) of the tile image area for h x w images in a widget ``width`` wide (rule: module doc)."""
    if tile_cols is not None:
        _, rows = fit_size(h, w, max(1, tile_cols), 10_000, upscale=True)
        return max(1, tile_cols), rows
    full = fit_size(h, w, FULL_COLS, FULL_ROWS)
    across = (width + 1) // (full[0] + 1)
    if n_items <= across or across >= MIN_ACROSS:
        return full
    return fit_size(h, w, math.ceil(full[0] / 2), math.ceil(full[1] / 2))


class ImageGrid(ScrollView, can_focus=True):
    """Image tiles in rows; arrows/home/end/page keys move the cursor, enter (or a second click) selects."""

    # A stable gutter: the scrollbar appearing must not narrow the content and reflow the tiles under it.
    DEFAULT_CSS = """
    ImageGrid { overflow-x: hidden; scrollbar-gutter: stable; }
    """

    BINDINGS = [
        Binding("enter", "select", "Open image", show=True),
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    class Selected(Message):
        """The user chose a tile (enter, or a click on the selected tile)."""

        def __init__(self, grid: "ImageGrid", item: GridItem, index: int) -> None:
            super().__init__()
            self.grid, self.item, self.index = grid, item, index

        @property
        def control(self) -> "ImageGrid":
            return self.grid

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: list[GridItem] = []
        self.empty = EMPTY
        self._tile_cols: int | None = None
        self._cursor = 0
        self._geometry: _Geometry | None = None
        self._cache: dict[int, list[list[Segment]]] = {}

    # ------------------------------------------------------------ API
    def set_items(self, items: list[GridItem], tile_cols: int | None = None, empty: str | None = None) -> None:
        """Show ``items`` (cursor on the first); ``empty`` is the dim line shown when there are none."""
        self.items, self._tile_cols = list(items), tile_cols
        if empty is not None:
            self.empty = empty
        self._cursor = 0
        self._cache.clear()
        self._relayout()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    @property
    def cursor_index(self) -> int | None:
        """Index in ``items`` of the selected tile; None when the grid is empty."""
        return self._cursor if self.items else None

    @cursor_index.setter
    def cursor_index(self, index: int) -> None:
        if self.items:
            self._cursor = max(0, min(len(self.items) - 1, index))
            self.refresh()
            self._scroll_to_cursor()

    # ------------------------------------------------------------ layout
    def _relayout(self) -> None:
        """Tile geometry and virtual height for the current width (called on resize: tiles reflow)."""
        width = self.scrollable_content_region.width or self.size.width
        if not self.items or width <= 0:
            self._geometry = None
            self.virtual_size = Size(width, 1)
            return
        h, w = self.items[0].image.shape[:2]
        cols, rows = tile_box(h, w, width, len(self.items), self._tile_cols)
        captions = max(1, min(MAX_CAPTION, max(len(item.caption) for item in self.items)))
        per_row = max(1, (width + 1) // (cols + 1))
        cell_cols = min(2 * cols, max(cols, (width + 1) // per_row - 1))
        geometry = _Geometry(cols, rows, captions, per_row, cell_cols)
        if self._geometry is None or (geometry.img_cols, geometry.img_rows, geometry.cell_cols) != (
                self._geometry.img_cols, self._geometry.img_rows, self._geometry.cell_cols):
            self._cache.clear()
        self._geometry = geometry
        n_rows = math.ceil(len(self.items) / geometry.per_row)
        self.virtual_size = Size(width, n_rows * geometry.pitch - 1)

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        g = self._geometry
        if g is None:
            return
        top = (self._cursor // g.per_row) * g.pitch
        self.scroll_to_region(Region(0, top, 1, g.tile_height), animate=False, x_axis=False)

    # ------------------------------------------------------------ drawing
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        g = self._geometry
        line = y + int(self.scroll_offset.y)
        if g is None:
            if not self.items and y == 0:
                return Strip([Segment(fmt.truncate(self.empty, width), base + Style(dim=True))]).extend_cell_length(
                    width, base)
            return Strip.blank(width, base)
        row, sub = divmod(line, g.pitch)
        if sub >= g.tile_height:
            return Strip.blank(width, base)
        segments: list[Segment] = []
        for col in range(g.per_row):
            index = row * g.per_row + col
            if index >= len(self.items):
                break
            if col:
                segments.append(Segment(" ", base))
            segments.extend(self._tile_line(index, sub, g, base))
        return Strip(segments).crop_extend(0, width, base)

    def _tile_line(self, index: int, sub: int, g: _Geometry, base: Style) -> list[Segment]:
        """Line ``sub`` of tile ``index``: an image line, else a caption line (reversed for the cursor)."""
        if sub < g.img_rows:
            return self._image_lines(index, g, base)[sub]
        k = sub - g.img_rows
        caption = self.items[index].caption
        text, style = caption[k] if k < len(caption) else ("", "")
        cell = Style.parse(style) if style else Style()
        if index == self._cursor:
            cell += Style(reverse=True, bold=True)
        return [Segment(f"{fmt.truncate(text, g.cell_cols):<{g.cell_cols}}", base + cell)]

    def _image_lines(self, index: int, g: _Geometry, base: Style) -> list[list[Segment]]:
        """The tile's image lines, each exactly cell_cols cells (centred, padded); rendered once, cached."""
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        mono = bool(getattr(self.app, "no_color", False))
        rows = pixel_cells(self.items[index].image, g.img_cols, g.img_rows, monochrome=mono)
        lines: list[list[Segment]] = []
        for n in range(g.img_rows):
            cells = rows[n] if n < len(rows) else []
            left = (g.cell_cols - len(cells)) // 2
            right = g.cell_cols - len(cells) - left
            lines.append([Segment(" " * left, base), *cells_to_segments(cells, base), Segment(" " * right, base)])
        if len(self._cache) >= CACHE_TILES:
            self._cache.pop(next(iter(self._cache)))  # oldest first: the view has moved on from it
        self._cache[index] = lines
        return lines

    # ------------------------------------------------------------ input
    def index_at(self, x: int, y: int) -> int | None:
        """The item under content offset (x, y) of the scrolled content, or None (gap, caption-less area)."""
        g = self._geometry
        if g is None or x < 0 or y < 0:
            return None
        row, sub = divmod(y, g.pitch)
        col, within = divmod(x, g.cell_cols + 1)
        if sub >= g.tile_height or within >= g.cell_cols or col >= g.per_row:
            return None
        index = row * g.per_row + col
        return index if index < len(self.items) else None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.index_at(offset.x + int(self.scroll_offset.x), offset.y + int(self.scroll_offset.y))
        if index is None:
            return
        if index == self._cursor:
            self.action_select()
        else:
            self.cursor_index = index

    def action_select(self) -> None:
        if self.items:
            self.post_message(self.Selected(self, self.items[self._cursor], self._cursor))

    def action_move(self, dx: int, dy: int) -> None:
        g = self._geometry
        if g is None:
            return
        target = self._cursor + dx + dy * g.per_row
        last = len(self.items) - 1
        if dy > 0 and target > last and self._cursor // g.per_row < last // g.per_row:
            target = last  # down into a short last row lands on its last tile
        if 0 <= target <= last:
            self.cursor_index = target

    def action_page(self, direction: int) -> None:
        g = self._geometry
        if g is None:
            return
        rows = max(1, (self.size.height + 1) // g.pitch)
        self.cursor_index = self._cursor + direction * rows * g.per_row

    def action_jump(self, where: int) -> None:
        self.cursor_index = where if where >= 0 else len(self.items) - 1
