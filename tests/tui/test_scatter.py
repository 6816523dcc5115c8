"""The braille scatter plot: class regions and colours, NO_COLOR keys, the dot bit mapping, small sizes."""
from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult

from tui.widgets.scatter import PALETTE, TOO_SMALL, ScatterPlot, render_scatter, scatter_grid

NAMES = ["airplane", "automobile", "bird"]
CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 8.0]])  # bottom left, bottom right, top middle


def clusters(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(c, 0.7, (n, 2)) for c in CENTRES])
    return points, np.repeat(np.arange(3), n)


def regions(lines: list, by_colour: bool) -> dict[str, set[tuple[int, int]]]:
    """Cells (row, col) of the plot lines grouped by their colour, or by their character."""
    out: dict[str, set[tuple[int, int]]] = {}
    for row, line in enumerate(lines):
        if by_colour:
            for span in line.spans:
                out.setdefault(str(span.style), set()).add((row, span.start))
        else:
            for col, ch in enumerate(line.plain):
                if ch != " ":
                    out.setdefault(ch, set()).add((row, col))
    return out


def assert_three_regions(found: dict[str, set[tuple[int, int]]], keys: list[str], width: int, rows: int) -> None:
    left, right, top = (found[k] for k in keys)
    assert all(c < width / 2 and r >= rows / 2 for r, c in left)
    assert all(c >= width / 2 and r >= rows / 2 for r, c in right)
    assert all(width / 4 <= c < 3 * width / 4 and r < rows / 2 for r, c in top)


def test_separated_clusters_land_in_their_own_regions_and_colours() -> None:
    points, labels = clusters()
    text = render_scatter(points, labels, NAMES, 60, 20, title="features")
    lines = text.split("\n")
    assert lines[0].plain.startswith("features") and len(lines) == 20
    plot = lines[1:-1]  # the title, the plot, one legend line
    found = regions(plot, by_colour=True)
    assert set(found) == set(PALETTE[:3])
    assert_three_regions(found, PALETTE[:3], 60, len(plot))
    assert all(0x2800 < ord(ch) <= 0x28FF for line in plot for ch in line.plain if ch != " ")
    legend = lines[-1]
    assert legend.plain == "■ airplane  ■ automobile  ■ bird"
    assert [str(s.style) for s in legend.spans] == PALETTE[:3]


def test_monochrome_shows_class_keys_and_a_key_legend() -> None:
    points, labels = clusters()
    text = render_scatter(points, labels, NAMES, 60, 20, monochrome=True)
    lines = text.split("\n")
    assert not text.spans and all(not line.spans for line in lines)
    plot = lines[:-1]
    found = regions(plot, by_colour=False)
    assert set(found) == {"0", "1", "2"}
    assert_three_regions(found, ["0", "1", "2"], 60, len(plot))
    assert lines[-1].plain == "0 airplane  1 automobile  2 bird"


def test_braille_dot_bits_for_each_of_the_eight_positions() -> None:
    expected = {(0, 0): "⠁", (0, 1): "⠂", (0, 2): "⠄", (0, 3): "⡀",  # left column, top to bottom
                (1, 0): "⠈", (1, 1): "⠐", (1, 2): "⠠", (1, 3): "⢀"}  # right column
    for (col, row), char in expected.items():
        point = np.array([[col + 0.5, 4 - (row + 0.5)]])  # one cell spanning x 0..2, y 0..4
        bits, majority, left_out = scatter_grid(point, np.array([0]), 1, 1, 1, (0.0, 2.0, 0.0, 4.0))
        assert chr(0x2800 + int(bits[0, 0])) == char and majority[0, 0] == 0 and left_out == 0
        # The same through the whole renderer: 20 x 5 plot cells = 40 x 20 dots of 1 unit, top-left cell.
        top_left = np.array([[col + 0.5, 20 - (row + 0.5)]])
        text = render_scatter(top_left, np.array([0]), ["one"], 20, 6, bounds=(0, 40, 0, 20))
        assert text.plain.split("\n")[0] == char + " " * 19
    every = np.array([[c + 0.5, 4 - (r + 0.5)] for c in range(2) for r in range(4)])
    bits, _, _ = scatter_grid(every, np.zeros(8, int), 1, 1, 1, (0.0, 2.0, 0.0, 4.0))
    assert chr(0x2800 + int(bits[0, 0])) == "⣿"


def test_majority_class_colours_a_shared_cell_and_outliers_are_counted() -> None:
    points = np.array([[0.5, 0.5]] * 3 + [[1.5, 0.5]] * 2)
    _, majority, _ = scatter_grid(points, np.array([1, 1, 1, 0, 0]), 2, 1, 1, (0.0, 2.0, 0.0, 4.0))
    assert majority[0, 0] == 1  # three points of class 1 beat two of class 0
    rng = np.random.default_rng(1)
    cloud = np.concatenate([rng.normal(0, 1, (500, 2)), [[1000.0, 1000.0]]])
    text = render_scatter(cloud, np.zeros(501, int), ["x"], 40, 12, title="pca")
    assert "not shown" in text.plain.split("\n")[0]


def test_small_sizes_ask_for_a_larger_terminal() -> None:
    points, labels = clusters(10)
    for width, height in [(19, 10), (40, 5), (0, 0)]:
        text = render_scatter(points, labels, NAMES, width, height)
        assert text.plain == TOO_SMALL and text.style == "dim"
    assert render_scatter(points, labels, NAMES, 20, 6).plain != TOO_SMALL


class PlotApp(App):
    def compose(self) -> ComposeResult:
        yield ScatterPlot()


async def test_widget_fills_its_size() -> None:
    app = PlotApp()
    async with app.run_test(size=(50, 14)) as pilot:
        plot = app.query_one(ScatterPlot)
        points, labels = clusters(50)
        plot.set_points(points, labels, NAMES, title="pca")
        await pilot.pause()
        lines = plot.render().plain.split("\n")
        assert len(lines) == 14 and lines[0].startswith("pca") and "bird" in lines[-1]
