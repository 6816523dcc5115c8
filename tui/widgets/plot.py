"""A chart on textual-plot's PlotWidget, set up for this app: keyboard-driven, small terminals, NO_COLOR.

What it changes in PlotWidget, and why:
- no pan, zoom or keys of its own, and never focused: its keys (arrows, r, + and -) are the dashboard's and
  the app's (the confusion matrix's cursor, the runs screen), and the curves are redrawn from the run anyway;
- margins only as wide as the tick labels, no rows above the plot and one below it (the widget's owner puts
  the title and the x axis's name in its border): at 80×24 every row goes to the curves;
- ticks computed here (tui.widgets.plot_axes) for the rows and columns there are: whole epochs and steps,
  durations with a unit, names (categories at x = 1, 2...), and log axes (x or y; textual-plot has none),
  drawn on log10 of the values with the values themselves as labels;
- a borderless legend of our own in a corner the owner picks, hidden on a few rows (it would cover the
  curves), and set again only when it changes: PlotWidget's rebuilds its legend on every curve added, and
  each rebuild lays the whole screen out again (the largest cost of a redraw, measured);
- below MIN_SIZE, or with nothing to draw, a one-line note instead of an empty frame;
- canvases that fill a line they have no buffer for yet (PlotWidget sizes them on its next render, a frame
  after a resize) with blanks: Textual's NO_COLOR filter fails on the unstyled line textual-hires-canvas
  returns there; and that work out their style once a frame, not once a line (a walk up the DOM each).
"""
from __future__ import annotations

import math
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.containers import Grid
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static
from textual_hires_canvas import Canvas
from textual_plot import HiResMode, LegendLocation, PlotWidget
from textual_plot.axis_formatter import AxisFormatter
from textual_plot.plot_widget import Legend

from tui.widgets import plot_axes

MIN_SIZE = (20, 5)  # columns, rows: a frame, two rows of curve and a row of x ticks
LEGEND_ROWS = 8  # from this height the legend is drawn
TOO_SMALL = "make the terminal larger to see this chart"
LINE = HiResMode.QUADRANT  # 2×2 blocks per cell: the epoch curves, as thick as before
FINE = HiResMode.BRAILLE  # 2×4 dots per cell: the step loss, many points under the epoch curves
SAMPLES = {False: "▀▀▀", True: "⠒⠒⠒"}  # the legend's sample of a line, thick (LINE) or fine (FINE)


@dataclass(frozen=True)
class Series:
    """One curve: points (x ascending), a rich colour, its legend text (None: not in the legend), and a glyph
    (``marker``) drawn at each point, or with ``fill`` all along the line instead of a line (told apart
    without colour); ``fine``: a thin braille line (many noisy points); ``line`` False: the points alone
    (a scatter, in any x order)."""

    xs: Sequence[float]
    ys: Sequence[float]
    colour: str
    label: str | None = None
    marker: str = ""
    fill: bool = False
    fine: bool = False
    line: bool = True


@dataclass(frozen=True)
class Axes:
    """How the axes read: x 'linear', 'whole' (integers: epochs, steps), 'time' (seconds, labelled with a
    unit), 'log' (a log scale) or 'names' (x_names at x = 1, 2, 3...: categories); y on a log scale or not;
    a fixed y range (None: the data's); the legend's corner (None: none)."""

    x: str = "linear"
    log_y: bool = False
    y_range: tuple[float, float] | None = None
    legend: LegendLocation | None = LegendLocation.TOPRIGHT
    x_names: tuple[str, ...] = ()


class FixedTicks(AxisFormatter):
    """The ticks and labels computed in Chart._draw, handed to PlotWidget as they are."""

    def __init__(self, ticks: list[float], labels: list[str]) -> None:
        self.ticks, self.labels = ticks, dict(zip(ticks, labels))

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        return self.ticks

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        return [self.labels.get(t, "") for t in ticks]


class ChartCanvas(Canvas):
    """A Canvas whose lines are never unstyled, with its style worked out once a frame (the module's docstring)."""

    _frame_style: Style | None = None

    @property
    def rich_style(self) -> Style:
        return self._frame_style if self._frame_style is not None else super().rich_style

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_style = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def render_line(self, y: int) -> Strip:
        size = self._canvas_size
        if y >= size.height or size.width < self.size.width:
            return Strip.blank(self.size.width, self.rich_style)
        return super().render_line(y)


class Chart(PlotWidget, can_focus=False, inherit_bindings=False):
    """Curves on axes; ``show`` sets what to draw and draws it once (again on each resize)."""

    DEFAULT_CSS = """
    Chart { background: $background 0%; }
    Chart > .plot--axis { color: $foreground 45%; }
    Chart > .plot--tick { color: $foreground 75%; text-style: none; }
    Chart #chart-legend { layer: legend; width: auto; height: auto; display: none; background: $background; }
    """

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled, allow_pan_and_zoom=False)
        self.series: list[Series] = []
        self.axes = Axes()
        self.note = ""  # shown where the chart has nothing to draw
        self._message: str | None = None  # the note on screen instead of the plot (None: the plot)
        self._legend = Text()  # what the legend shows
        self.set_reactive(Chart.margin_top, 0)
        self.set_reactive(Chart.margin_bottom, 1)

    def compose(self) -> ComposeResult:
        """PlotWidget's own layout, on ChartCanvas."""
        with Grid():
            for part in ("margin-top", "margin-left", "plot", "margin-bottom"):
                yield ChartCanvas(1, 1, id=part)
        yield Legend(id="legend")  # PlotWidget's, never shown (its rebuilds cost a layout each): ours below
        yield Static(id="chart-legend")

    def on_mount(self) -> None:
        # Textual calls PlotWidget's on_mount next (it clears the plot): what show() was given is drawn after it.
        self.call_later(self._draw)

    def on_resize(self) -> None:
        self._draw()  # ticks, margins and the legend follow the size; the data stays

    def on_canvas_resize(self, event: Canvas.Resize) -> None:
        """A canvas changed size (the chart's, or the margins'): PlotWidget gives each canvas a buffer of its
        size on a layout refresh only, and a panel shown again or a wider label column does not ask one."""
        event.stop()
        self.refresh(layout=True)

    def show(self, series: list[Series], axes: Axes = Axes(), note: str = "") -> None:
        """Draw these curves (those without a point are left out); with none, ``note`` in their place."""
        self.series = [s for s in series if len(s.xs)]
        self.axes, self.note = axes, note
        self._draw()

    def render(self) -> RenderResult:
        if self._message is not None:
            return Text(self._message, style="dim", overflow="ellipsis")  # wrapped; what does not fit is cut
        with ExitStack() as batch:  # one refresh per canvas, not one per cell drawn
            for canvas in self.query(ChartCanvas):
                batch.enter_context(canvas.batch_refresh())
            return super().render()

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        if not self.is_mounted:
            return  # on_mount draws
        width, height = self.size
        series = self._scaled(self.series)  # on a log axis, nothing may be left (every value <= 0)
        message = TOO_SMALL if width < MIN_SIZE[0] or height < MIN_SIZE[1] else None if series else self.note or " "
        self._set_message(message)
        self.clear()
        if message is not None:
            self._show_legend([])
            return
        self._set_axes(series, width, height)
        self._plot(series, width - self.margin_left - 2)
        self._show_legend(series if height >= LEGEND_ROWS else [])

    def _set_axes(self, series: list[Series], width: int, height: int) -> None:
        """Limits and ticks for this size, and the left margin their labels need."""
        axes = self.axes
        rows = height - self.margin_top - self.margin_bottom - 2  # the frame takes a row above and below
        ylo, yhi = _span([y for s in series for y in s.ys], axes.y_range, axes.log_y)
        if axes.log_y:
            yticks, ylabels = plot_axes.log_ticks(ylo, yhi, _max_ticks(rows, 3))
        else:
            yticks = plot_axes.nice_ticks(ylo, yhi, _max_ticks(rows, 3))
            ylabels = plot_axes.labels(yticks)
        self.margin_left = max((len(label) for label in ylabels), default=1) + 2
        names = axes.x_names if axes.x == "names" else ()
        xlo, xhi = (0.5, len(names) + 0.5) if names else _span([x for s in series for x in s.xs], None, False)
        xticks, xlabels = _x_ticks(xlo, xhi, width - self.margin_left - 2, axes.x, names)
        self.set_xlimits(xlo, xhi)
        self.set_ylimits(ylo, yhi)
        self.set_xticks(xticks)
        self.set_x_formatter(FixedTicks(xticks, xlabels))
        self.set_yticks(yticks)
        self.set_y_formatter(FixedTicks(yticks, ylabels))

    def _plot(self, series: list[Series], cols: int) -> None:
        """Lines first, then the glyphs, so that a glyph is never drawn over."""
        for s in series:
            if not s.fill and (s.line or not s.marker):
                mode = FINE if s.fine else LINE
                label = None if s.marker else s.label
                if len(s.xs) > 1 and s.line:
                    self.plot(s.xs, s.ys, line_style=s.colour, hires_mode=mode, label=label)
                else:  # a line needs two points: one epoch is a dot
                    self.scatter(s.xs, s.ys, marker_style=s.colour, hires_mode=mode, label=label)
        for s in series:
            if s.fill:
                xs, ys = _along(s.xs, s.ys, cols)
                self.scatter(xs, ys, marker=s.marker, marker_style=s.colour, label=s.label)
            elif s.marker:
                self.scatter(s.xs, s.ys, marker=s.marker, marker_style=s.colour, label=s.label)

    def _scaled(self, series: list[Series]) -> list[Series]:
        """On a log axis, each curve's log10 (a value <= 0 has none: a loss can reach 0 in fp16)."""
        log_x, log_y = self.axes.x == "log", self.axes.log_y
        if not (log_x or log_y):
            return series
        out = []
        for s in series:
            kept = [(math.log10(x) if log_x else x, math.log10(y) if log_y else y) for x, y in zip(s.xs, s.ys)
                    if (x > 0 or not log_x) and (y > 0 or not log_y)]
            if kept:
                out.append(replace(s, xs=[x for x, _ in kept], ys=[y for _, y in kept]))
        return out

    def _set_message(self, message: str | None) -> None:
        if message != self._message:
            self._message = message
            self.query_one(Grid).display = message is None
            self.refresh()

    def _show_legend(self, series: list[Series]) -> None:
        """A line per labelled curve (its glyph, or a sample of its line, and its label) inside the frame's
        corner; each of content, place and display set only when it changes (each costs a layout)."""
        legend = self.query_one("#chart-legend", Static)
        corner, labelled = self.axes.legend, [s for s in series if s.label]
        if corner is None or not labelled:
            if legend.display:
                legend.display = False
            return
        text = Text("\n").join(Text.assemble((s.marker.center(3) if s.marker else SAMPLES[s.fine], s.colour),
                                             f" {s.label}") for s in labelled)
        width, height = self.size
        wide = max(len(line) for line in text.plain.splitlines())
        right = corner in (LegendLocation.TOPRIGHT, LegendLocation.BOTTOMRIGHT)
        bottom = corner in (LegendLocation.BOTTOMLEFT, LegendLocation.BOTTOMRIGHT)
        x = width - 1 - wide if right else self.margin_left + 1  # inside the frame, next to its edge
        y = height - self.margin_bottom - 1 - len(labelled) if bottom else self.margin_top + 1
        if text != self._legend:
            self._legend = text
            legend.update(text)
        if (legend.styles.offset.x.value, legend.styles.offset.y.value) != (x, y):
            legend.styles.offset = (x, y)
        if not legend.display:
            legend.display = True

    @property
    def legend_text(self) -> str:
        """The legend as shown (empty when hidden): its lines, a glyph or a sample of the line, and the label."""
        return self._legend.plain if self.query_one("#chart-legend").display else ""


def _max_ticks(cells: int, per_tick: int) -> int:
    return max(2, min(8, cells // per_tick + 1))


def _span(values: list[float], fixed: tuple[float, float] | None, log: bool) -> tuple[float, float]:
    """The axis range: ``fixed`` (log10 of it on a log axis) or the values' own; never empty."""
    if fixed is not None:
        lo, hi = (math.log10(max(v, 1e-12)) for v in fixed) if log else fixed
    else:
        lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        pad = max(abs(lo) * 0.05, 0.05)
        lo, hi = lo - pad, hi + pad
    # A hair wider: PlotWidget moves a tick that falls exactly on an end onto the frame's corner.
    pad = (hi - lo) * 1e-6
    return lo - pad, hi + pad


def _x_ticks(lo: float, hi: float, cols: int, kind: str, names: Sequence[str] = ()) -> tuple[list[float], list[str]]:
    """x ticks as many as their labels leave room for (a label and two spaces each); 'whole' ones where the
    axis holds an integer (inside the first epoch: 0.2, 0.4...); names: every k-th that fits."""
    count = max(6, len(names))
    while True:
        if names:
            step = -(-len(names) // count)
            ticks, labels = [float(i + 1) for i in range(0, len(names), step)], list(names[::step])
        elif kind == "time":
            ticks, labels = plot_axes.time_ticks(lo, hi, count)
        elif kind == "log":
            ticks, labels = plot_axes.log_ticks(lo, hi, count)
        else:
            ticks = plot_axes.nice_ticks(lo, hi, count, whole=kind == "whole")
            if not ticks:
                ticks = plot_axes.nice_ticks(lo, hi, count)
            labels = plot_axes.labels(ticks)
        need = len(ticks) * (max((len(t) for t in labels), default=0) + 2)
        if need <= cols or count <= 2:
            return ticks, labels
        count -= 1


def _along(xs: Sequence[float], ys: Sequence[float], cols: int) -> tuple[list[float], list[float]]:
    """Points all along a curve, about one per column: a glyph line (x ascending)."""
    if len(xs) < 2:
        return list(xs), list(ys)
    grid = np.linspace(xs[0], xs[-1], max(2, cols))
    return grid.tolist(), np.interp(grid, xs, ys).tolist()
