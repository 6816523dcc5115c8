"""Half-block pixel art (exact glyphs and colours, NO_COLOR shades, fitting) and the lazy image grid."""
from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult

from tui.widgets.image_grid import GridItem, ImageGrid, tile_box
from tui.widgets.pixels import fit_size, render_pixels, resize_area

# Pixel (r, c) = (64 r, 64 c, 200): every pixel differs, so each cell's two colours are checkable.
IMAGE = np.array([[[64 * r, 64 * c, 200] for c in range(4)] for r in range(4)], dtype=np.uint8)


def cells(text) -> list[tuple[str, str, str | None]]:
    """(glyph, fg hex, bg hex) of each styled cell, in order."""
    out = []
    for span in sorted(text.spans, key=lambda s: s.start):
        bg = span.style.bgcolor
        out.append((text.plain[span.start:span.end], span.style.color.get_truecolor().hex,
                    bg.get_truecolor().hex if bg else None))
    return out


def test_full_size_cells_are_top_over_bottom_pixels() -> None:
    text = render_pixels(IMAGE, 80, 24)
    assert text.plain == "▀▀▀▀\n▀▀▀▀"
    assert cells(text) == [
        ("▀", "#0000c8", "#4000c8"), ("▀", "#0040c8", "#4040c8"),
        ("▀", "#0080c8", "#4080c8"), ("▀", "#00c0c8", "#40c0c8"),
        ("▀", "#8000c8", "#c000c8"), ("▀", "#8040c8", "#c040c8"),
        ("▀", "#8080c8", "#c080c8"), ("▀", "#80c0c8", "#c0c0c8"),
    ]


def test_monochrome_is_shades_of_mean_luminance_without_colour() -> None:
    text = render_pixels(IMAGE, 80, 24, monochrome=True)
    assert text.plain == " ░▒▒\n░▒▒▓" and not text.spans and not text.style
    ramp = np.array([[0, 60, 110, 170, 255]] * 2, dtype=np.uint8)  # one grey per level, dark to light
    assert render_pixels(ramp, 80, 24, monochrome=True).plain == " ░▒▓█"


def test_fit_keeps_aspect_and_never_upscales_unless_asked() -> None:
    assert fit_size(32, 32, 16, 8) == (16, 8)  # CIFAR at half size: 16 columns x 8 rows of 2 pixels
    assert fit_size(32, 32, 80, 24) == (32, 16)  # full size, not stretched to the box
    assert fit_size(28, 28, 80, 24) == (28, 14)
    assert fit_size(28, 28, 80, 40, upscale=True) == (56, 28)  # whole factor 2 only
    assert fit_size(100, 200, 80, 24) == (80, 20)  # a 200x100 photo: 80 px across, 40 down (2:1)
    assert fit_size(200, 100, 80, 24) == (24, 24)  # the same photo standing: height-bound
    assert fit_size(1, 1, 80, 24) == (1, 1) and fit_size(32, 32, 0, 8) == (0, 0)


def test_renderings_have_exact_rows_and_columns() -> None:
    for image, box, size in [(np.zeros((32, 32, 3), np.uint8), (16, 8), (16, 8)),
                             (np.full((28, 28), 128, np.uint8), (80, 24), (28, 14)),
                             (np.zeros((100, 200, 3), np.uint8), (80, 24), (80, 20))]:
        for mono in (False, True):
            lines = render_pixels(image, *box, monochrome=mono).plain.split("\n")
            assert (len(lines[0]), len(lines)) == size and {len(line) for line in lines} == {size[0]}


def test_one_pixel_has_no_bottom_half() -> None:
    text = render_pixels(np.array([[[255, 0, 0]]], np.uint8), 10, 10)
    assert text.plain == "▀" and cells(text) == [("▀", "#ff0000", None)]
    assert render_pixels(np.array([[255]], np.uint8), 10, 10, monochrome=True).plain == "█"


def test_resize_averages_areas_and_repeats_grey() -> None:
    grey = np.array([[0, 0, 255, 255], [0, 0, 255, 255]], np.uint8)
    assert resize_area(grey, 1, 2).tolist() == [[[0] * 3, [255] * 3]]
    assert resize_area(grey, 1, 3)[0, :, 0].tolist() == [0, 128, 255]  # the middle box straddles the edge
    up = resize_area(grey, 2, 8)
    assert up.shape == (2, 8, 3) and up[0, :, 0].tolist() == [0] * 4 + [255] * 4  # nearest, no blur
    assert resize_area(IMAGE, 4, 4).tolist() == IMAGE.tolist()


# ------------------------------------------------------------------ the grid

class GridApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.selected: list[tuple[int, int]] = []

    def compose(self) -> ComposeResult:
        yield ImageGrid()

    def on_image_grid_selected(self, message: ImageGrid.Selected) -> None:
        self.selected.append((message.index, message.item.key))


def items(n: int, h: int = 32) -> list[GridItem]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, h, h, 3), dtype=np.uint8)
    return [GridItem(images[i], [(f"airplane → ship #{i}", "red"), ("p 0.91", "dim")], key=1000 + i) for i in range(n)]


def test_tile_size_rule() -> None:
    assert tile_box(32, 32, 80, 1000) == (16, 8)  # a grid at 80 columns: half size, 4 across
    assert tile_box(32, 32, 80, 2) == (32, 16)  # a few items: full size
    assert tile_box(32, 32, 160, 1000) == (32, 16)  # wide enough for 4 full tiles
    assert tile_box(28, 28, 80, 1000) == (14, 7)
    assert tile_box(224, 224, 200, 10) == (32, 16)  # a photo: at most 32 x 16
    assert tile_box(32, 32, 80, 1000, tile_cols=8) == (8, 4)


async def test_thousand_images_open_rendering_only_visible_tiles() -> None:
    # What keeps opening 1,000 images fast is that only what is on screen is drawn (the cache below); the
    # time itself is measured by benchmarks/inspect_cost.py, where a loaded machine cannot fail a test.
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(ImageGrid)
        grid.set_items(items(1000))
        lines = [grid.render_line(y) for y in range(24)]
        assert len(grid._cache) <= 12  # 4 across x 3 rows on screen: the other 988 never rendered
        # 16-column images in cells widened to 18 by the row's spare columns: the caption is whole
        assert lines[8].text.startswith("airplane → ship #0 airplane → ship #1")
        assert lines[10].text.strip() == ""  # a blank line between tile rows
        await pilot.pause()
        assert grid.virtual_size.height == 250 * 11 - 1


async def test_keys_move_the_cursor_and_enter_selects() -> None:
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(ImageGrid)
        grid.set_items(items(30))
        grid.focus()
        await pilot.pause()
        assert grid.cursor_index == 0
        await pilot.press("down", "down", "right")
        assert grid.cursor_index == 9
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [(9, 1009)]
        await pilot.press("end")
        assert grid.cursor_index == 29 and grid.scroll_offset.y > 0  # scrolled to keep it in view
        await pilot.press("up", "right")  # the row above is full: up then right lands on 26
        assert grid.cursor_index == 26
        await pilot.press("pageup")
        assert grid.cursor_index == 18  # two tile rows fit the 24 lines
        await pilot.press("home")
        assert grid.cursor_index == 0 and grid.scroll_offset.y == 0


async def test_click_moves_the_cursor_then_selects() -> None:
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(ImageGrid)
        grid.set_items(items(30))
        await pilot.pause()
        await pilot.click(ImageGrid, offset=(19 + 3, 2))  # the second tile (an 18-column cell + a gap)
        assert grid.cursor_index == 1 and app.selected == []
        await pilot.click(ImageGrid, offset=(19 + 3, 2))
        await pilot.pause()
        assert app.selected == [(1, 1001)]
        await pilot.click(ImageGrid, offset=(18, 2))  # the gap between tiles: nothing
        assert grid.cursor_index == 1


async def test_cursor_reads_without_colour_and_empty_grid_says_so() -> None:
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.no_color = True
        grid = app.query_one(ImageGrid)
        grid.set_items(items(2))
        await pilot.pause()
        image_line = grid.render_line(0)
        assert set(image_line.text) <= set(" ░▒▓█")
        assert {seg.style for seg in image_line} == {grid.rich_style}  # the panel's own style, no pixel colour
        caption = grid.render_line(16)  # 2 items fit one row: full size, image rows 0-15
        reversed_ = [seg.text for seg in caption if seg.style and seg.style.reverse]
        assert reversed_ == [f"{'airplane → ship #0':<38}"]  # only the cursor tile's caption, its cell's width
        grid.set_items([], empty="no images in this cell")
        await pilot.pause()
        assert grid.cursor_index is None and grid.render_line(0).text.startswith("no images in this cell")


async def test_resize_reflows_tiles_and_keeps_the_cursor_visible() -> None:
    app = GridApp()
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.query_one(ImageGrid)
        grid.set_items(items(200))
        grid.cursor_index = 150
        await pilot.pause()
        assert grid._geometry is not None and grid._geometry.per_row == 4
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert grid._geometry.per_row == 4 and grid._geometry.img_cols == 32  # now full size, 4 across
        top = (150 // 4) * grid._geometry.pitch
        assert grid.scroll_offset.y <= top < grid.scroll_offset.y + grid.size.height
