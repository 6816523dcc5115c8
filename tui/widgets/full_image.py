"""One image as large as a box allows: real pixels where the terminal can show them, else half blocks.

The app decides once how (``CifarApp.images``, from tui/terminal_images.py): ``kitty`` or ``sixel``
mount textual-image's widget for that protocol; ``halfblock`` (also under NO_COLOR, and whenever
textual-image is missing or the terminal answered neither) draws the half-block pixel art of
tui/widgets/pixels.py, shades under NO_COLOR, exactly as before.

With real pixels the picture handed to textual-image is the image resized to the whole cells it
fills, in the terminal's pixels: nearest neighbour up (a 32 px CIFAR image at 80x24 becomes 220 px
with 10x20-pixel cells, each source pixel a sharp square of 6 or 7), area average down, the rule of the half blocks
(pixels.resize_area). textual-image would otherwise scale it itself with Pillow's default bicubic
filter, which turns 32 px into a blur of in-between colours; here its resize is to the size the
picture already has, which Pillow skips. The drill-down is there to see the pixels the model was
given, so those are what is shown.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from tui.terminal_images import HALFBLOCK, KITTY, SIXEL
from tui.widgets.pixels import render_pixels, resize_area

if TYPE_CHECKING:
    from PIL.Image import Image as Picture

DEFAULT_CELL = (10, 20)  # textual-image's own guess (a VT340's cell) when the terminal does not say


def cell_pixels() -> tuple[int, int]:
    """(width, height) of a terminal cell in pixels, as textual-image sizes its images (cached by it
    before the app started: tui/terminal_images.detect)."""
    try:
        from textual_image._terminal import get_cell_size

        size = get_cell_size()
        return max(1, int(size.width)), max(1, int(size.height))
    except Exception:  # noqa: BLE001 - no textual-image, or stdout closed: its default guess
        return DEFAULT_CELL


def graphics_box(h: int, w: int, max_cols: int, max_rows: int, cell: tuple[int, int]) -> tuple[int, int]:
    """(cols, rows) of whole cells showing an h x w image as large as fits max_cols x max_rows, aspect kept
    to within half a cell (cells are ``cell`` = (width, height) pixels; upscaled by any factor)."""
    cw, ch = cell
    if h <= 0 or w <= 0 or max_cols <= 0 or max_rows <= 0:
        return 0, 0
    scale = min(max_cols * cw / w, max_rows * ch / h)
    return max(1, min(max_cols, round(w * scale / cw))), max(1, min(max_rows, round(h * scale / ch)))


def picture(image: np.ndarray, cols: int, rows: int, cell: tuple[int, int]) -> "Picture":
    """The RGB picture for a cols x rows box of ``cell``-pixel cells: nearest up, area average down."""
    from PIL import Image

    return Image.fromarray(resize_area(image, rows * cell[1], cols * cell[0]), "RGB")


def graphics_widget(renderer: str) -> Any:
    """textual-image's widget class for KITTY or SIXEL (imported here: only the probe imports it first)."""
    from textual_image.widget import SixelImage, TGPImage

    return {KITTY: TGPImage, SIXEL: SixelImage}[renderer]


class FullImage(Widget):
    """An (H, W[, C]) uint8 image; ``fit(cols, rows)`` draws it as large as that box allows."""

    DEFAULT_CSS = """
    FullImage { width: auto; height: auto; }
    FullImage > Static { width: auto; height: auto; }
    """

    def __init__(self, image: np.ndarray, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.image = image
        self.renderer = HALFBLOCK
        self._box: tuple[int, int] | None = None
        self.shown: Widget | None = None
        """The widget drawing the pixels (from compose on): a Static of half blocks, or textual-image's."""

    def compose(self) -> ComposeResult:
        self.renderer = str(getattr(self.app, "images", HALFBLOCK))
        self.shown = Static() if self.renderer == HALFBLOCK else graphics_widget(self.renderer)()
        yield self.shown

    def fit(self, max_cols: int, max_rows: int) -> None:
        """Draw the image as large as ``max_cols`` x ``max_rows`` cells allow (again only when that box changed)."""
        shown = self.shown
        if (max_cols, max_rows) == self._box or shown is None:
            return
        self._box = (max_cols, max_rows)
        if self.renderer == HALFBLOCK:
            assert isinstance(shown, Static)
            shown.update(render_pixels(self.image, max_cols, max_rows, monochrome=self.app.no_color, upscale=True))
            return
        cell = cell_pixels()
        h, w = self.image.shape[:2]
        cols, rows = graphics_box(h, w, max_cols, max_rows, cell)
        if not cols:
            return
        shown.styles.width, shown.styles.height = cols, rows
        shown.image = picture(self.image, cols, rows, cell)  # type: ignore[attr-defined]
