"""The chart widget on textual-plot (tui/widgets/plot.py) on its own: scatters on a log or a named x axis,
a note in place of an empty or too small chart, and NO_COLOR through resizes (textual-hires-canvas's first
frames made Textual's NO_COLOR filter fail)."""
from __future__ import annotations

from textual.app import App, ComposeResult
from textual_plot import LegendLocation

from tests.helpers.pilot import shown_text
from tui.widgets.plot import TOO_SMALL, Axes, Chart, Series

QUADRANTS = set("▖▗▘▙▚▛▜▝▞▟▀▄▌▐█")


class ChartApp(App):
    def compose(self) -> ComposeResult:
        yield Chart(id="chart")


def _bottom_row(chart: Chart) -> str:
    return shown_text(chart).splitlines()[-1]


async def test_a_scatter_on_a_log_x_axis_reads_in_the_values() -> None:
    app = ChartApp()
    async with app.run_test(size=(60, 16)) as pilot:
        chart = app.query_one(Chart)
        chart.show([Series([0.001, 0.01, 0.1], [50.0, 60.0, 70.0], "green", "done", marker="●", line=False)],
                   Axes("log", legend=LegendLocation.BOTTOMRIGHT))
        await pilot.pause(0.1)
        text = shown_text(chart)
        ticks = _bottom_row(chart).split()
        assert ticks == ["0.001", "0.003", "0.01", "0.03", "0.1"], text
        frame = text.splitlines()[-2]
        marks = [i for i, c in enumerate(frame) if c == "┳"]  # the ticks' columns: decades evenly spaced
        assert len(marks) == 5, frame
        decade = marks[2] - marks[0]
        assert abs((marks[4] - marks[2]) - decade) <= 1 and abs((marks[1] - marks[0]) / decade - 0.477) < 0.1, frame
        assert text.count("●") == 4 and not QUADRANTS & set(text), text  # 3 points and the legend's, no line


async def test_named_x_values_sit_at_their_names() -> None:
    app = ChartApp()
    async with app.run_test(size=(60, 16)) as pilot:
        chart = app.query_one(Chart)
        chart.show([Series([1.0, 2.0, 3.0], [50.0, 55.0, 52.0], "cyan", marker="x", line=False)],
                   Axes("names", x_names=("mlp", "cnn", "resnet18")))
        await pilot.pause(0.1)
        assert _bottom_row(chart).split() == ["mlp", "cnn", "resnet18"]


async def test_a_note_stands_in_for_an_empty_or_too_small_chart() -> None:
    app = ChartApp()
    async with app.run_test(size=(60, 16)) as pilot:
        chart = app.query_one(Chart)
        chart.show([], note="nothing to draw yet")
        await pilot.pause(0.1)
        assert "nothing to draw yet" in shown_text(chart)
        chart.show([Series([1.0, 2.0], [1.0, 2.0], "cyan")])
        await pilot.resize_terminal(15, 4)
        await pilot.pause(0.1)
        assert TOO_SMALL.split()[0] in shown_text(chart)
        await pilot.resize_terminal(60, 16)
        await pilot.pause(0.1)
        assert "┏" in shown_text(chart)


async def test_no_color_survives_first_frames_and_resizes(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = ChartApp()
    async with app.run_test(size=(40, 12)) as pilot:
        chart = app.query_one(Chart)
        chart.show([Series([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], "cyan", "train", marker="•", fill=True)])
        for size in ((80, 24), (30, 8), (160, 48)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.1)
        assert app.no_color and app.is_running
        assert "•  train" in shown_text(chart) and shown_text(chart).count("•") > 10
