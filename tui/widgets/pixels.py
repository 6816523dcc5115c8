"""Images in the terminal as half-block pixel art, from numpy arrays.

Each terminal cell shows two image pixels stacked: the glyph '▀' in the top
pixel's colour over a background of the bottom pixel's colour, so a cell is 1
pixel wide and 2 tall and a 32x32 CIFAR image at full size is 32 columns by 16
rows. Under NO_COLOR (monochrome) a cell is one shade glyph of its two pixels'
mean luminance instead, from " ░▒▓█" (dark to light), with no colour at all.

We render ourselves rather than use rich-pixels: we need that shade fallback,
numpy input (no PIL round trip) and exact control of the scaling (area-average
down, integer factors up) so a tile's size is predictable to the cell.
"""
from __future__ import annotations

import numpy as np
from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

HALF = "▀"
SHADES = " ░▒▓█"  # 5 luminance levels, dark -> light
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 weights

Cell = tuple[str, Style | None]


def _fit_pixels(h: int, w: int, max_cols: int, max_rows: int, upscale: bool = False) -> tuple[int, int]:
    """(out_h, out_w) in image pixels of the largest rendering that fits, aspect kept.

    The box holds max_cols pixels across and 2 * max_rows down. Full size (scale 1)
    when it fits; with ``upscale`` an integer factor k > 1 when k x the image fits;
    otherwise scaled down to the box's tighter side (floored, so it always fits).
    """
    if h <= 0 or w <= 0 or max_cols <= 0 or max_rows <= 0:
        return 0, 0
    box_h = 2 * max_rows
    if w <= max_cols and h <= box_h:
        k = min(max_cols // w, box_h // h) if upscale else 1
        return h * k, w * k
    scale = min(max_cols / w, box_h / h)
    out_w = max(1, min(max_cols, int(w * scale + 1e-9)))
    out_h = max(1, min(box_h, int(h * scale + 1e-9)))
    return out_h, out_w


def fit_size(h: int, w: int, max_cols: int, max_rows: int, upscale: bool = False) -> tuple[int, int]:
    """(cols, rows) of the largest rendering of an h x w image within max_cols x max_rows cells.

    Aspect kept, a cell being 1 pixel wide and 2 tall; never larger than full size
    unless ``upscale`` (then only by a whole factor). An odd pixel height leaves the
    last row's bottom half empty. (0, 0) when nothing fits.
    """
    out_h, out_w = _fit_pixels(h, w, max_cols, max_rows, upscale)
    return out_w, (out_h + 1) // 2


def _axis_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights resampling one axis: area averages down, nearest neighbour up."""
    if n_out > n_in:
        src = ((np.arange(n_out) + 0.5) * n_in / n_out).astype(int)
        weights = np.zeros((n_out, n_in), dtype=np.float32)
        weights[np.arange(n_out), np.minimum(src, n_in - 1)] = 1.0
        return weights
    # Output pixel i covers [i, i+1) * n_in / n_out of the input; weight = overlap / that length.
    edges = np.arange(n_out + 1, dtype=np.float64) * n_in / n_out
    j = np.arange(n_in, dtype=np.float64)
    lo = np.maximum(edges[:-1, None], j[None, :])
    hi = np.minimum(edges[1:, None], j[None, :] + 1)
    return (np.clip(hi - lo, 0, None) * n_out / n_in).astype(np.float32)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) from (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) (alpha dropped)."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {image.shape}")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[:, :, :3]


def resize_area(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """image resized to (out_h, out_w, 3) uint8: box/area average down, nearest up; grey -> 3 channels."""
    rgb = _as_rgb(np.asarray(image))
    h, w = rgb.shape[:2]
    if (h, w) == (out_h, out_w):
        return np.ascontiguousarray(rgb, dtype=np.uint8)
    rows, cols = _axis_weights(h, out_h), _axis_weights(w, out_w)
    out = np.einsum("ih,hwc,jw->ijc", rows, rgb.astype(np.float32), cols, optimize=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _shade(luma: float) -> str:
    return SHADES[min(len(SHADES) - 1, int(luma * len(SHADES) / 256))]


def _rgb(pixel: list[int]) -> Color:
    """Color.from_rgb without its overhead (equal to it): a full-size tile is 512 of these per row pair."""
    return Color("#%02x%02x%02x" % (pixel[0], pixel[1], pixel[2]), ColorType.TRUECOLOR, None,
                 ColorTriplet(pixel[0], pixel[1], pixel[2]))


def pixel_cells(image: np.ndarray, max_cols: int, max_rows: int, *, monochrome: bool = False,
                upscale: bool = False) -> list[list[Cell]]:
    """The rendering as rows of (glyph, style) cells: shared by render_pixels and the image grid."""
    rgb = _as_rgb(np.asarray(image))
    out_h, out_w = _fit_pixels(rgb.shape[0], rgb.shape[1], max_cols, max_rows, upscale)
    if not out_h:
        return []
    px = resize_area(rgb, out_h, out_w)
    if monochrome:
        luma = px.astype(np.float32) @ LUMA
        return [[(_shade(float(v)), None) for v in (luma[r:r + 2].mean(axis=0))] for r in range(0, out_h, 2)]
    pixels = px.tolist()  # plain ints: numpy scalars make the per-cell loop several times slower
    rows: list[list[Cell]] = []
    for r in range(0, out_h, 2):
        if r + 1 < out_h:
            rows.append([(HALF, Style.from_color(_rgb(t), _rgb(b))) for t, b in zip(pixels[r], pixels[r + 1])])
        else:  # odd height: the last row's bottom half is the panel's own background
            rows.append([(HALF, Style.from_color(_rgb(t))) for t in pixels[r]])
    return rows


def cells_to_segments(row: list[Cell], base: Style | None = None) -> list[Segment]:
    """One row of cells as rich Segments (styles combined with ``base``, e.g. a widget's own style)."""
    if base is None:
        return [Segment(glyph, style) for glyph, style in row]
    # A cell with both colours hides the base entirely: skip the Style addition (5x the cost of the rest).
    return [Segment(glyph, style if style is not None and style.bgcolor is not None
                    else (base + style if style else base)) for glyph, style in row]


def render_pixels(image: np.ndarray, max_cols: int, max_rows: int, *, monochrome: bool = False,
                  upscale: bool = False) -> Text:
    """The image as styled text: exactly ``rows`` lines of exactly ``cols`` cells (see fit_size)."""
    out = Text(no_wrap=True, overflow="crop")
    for n, row in enumerate(pixel_cells(image, max_cols, max_rows, monochrome=monochrome, upscale=upscale)):
        if n:
            out.append("\n")
        if monochrome:
            out.append("".join(glyph for glyph, _ in row))
            continue
        for glyph, style in row:
            out.append(glyph, style=style)
    return out
