"""Loss and accuracy charts (textual-plotext) fed from a RunState.

plotext rebuilds the whole canvas on every render, so the charts never refresh
themselves: ``update_from`` stores the data and the dashboard calls it at most
a few times a second. Curves are downsampled to the chart's width first, so a
long run costs the same to draw as a short one.

Small panels degrade in steps instead of garbling: the in-plot title (the border
says it too) and the x label go first, then tick labels thin out; below
MIN_SIZE a one-line note replaces the plot.
"""
from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from tui import format as fmt
from tui.state.chart_view import AXIS_LABELS, ChartView, ema, to_axis
from tui.state.run_state import RunState
from tui.state.series import bucket_means

# plotext colour names; distinct in 16-colour terminals too.
COLOURS = {"train": "cyan", "val": "magenta", "test": "green", "step": "gray"}
# Under NO_COLOR every colour is the same grey: each split then draws with its own glyph (the legend shows it).
MONO_MARKERS = {"train": "•", "val": "x", "test": "+", "step": "braille"}
ACC_PAD = 2.0  # points of accuracy kept above and below the curves (at least)
MIN_SIZE = (20, 5)  # columns, rows: a frame, two rows of curve and a row of x ticks
TITLE_ROWS, XLABEL_ROWS, LEGEND_ROWS = 14, 10, 8  # from these heights the title / x label / legend are drawn
TOO_SMALL = "make the terminal larger to see this chart"


class MetricChart(PlotextPlot):
    """One chart: several named curves; x by epoch, step or time, y linear or log (``view``, the keys'
    choice, with the step loss's smoothing)."""

    def __init__(self, title: str, kind: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.kind = kind  # "loss" or "acc"
        self.curves: dict[str, tuple[list[float], list[float]]] = {}
        self.border_title = title
        self.view = ChartView()

    def on_resize(self) -> None:
        if self.curves:
            self._draw()  # the legend comes and goes with the height; the data stays

    def points(self, label: str) -> int:
        """How many points the curve called label holds (0 if absent)."""
        return len(self.curves.get(label, ([], []))[0])

    def update_from(self, state: RunState) -> None:
        """Take the curves from state and redraw once."""
        width = max(10, self.size.width - 12)  # y-axis labels take ~10 columns
        curves: dict[str, tuple[list[float], list[float]]] = {}
        view = self.view
        if self.kind == "loss" and len(state.step_loss):
            # Smoothed before thinning to the width: the EMA's factor then means the same at any width.
            step_xs, step_ys = bucket_means(state.step_loss.x, ema(state.step_loss.y, view.smoothing), width)
            curves["step"] = (to_axis(step_xs, view.x_axis, state), step_ys)
        for split in ("train", "val", "test"):
            values = state.epoch_series.get(f"{split}_{self.kind}", [])
            pts = [(float(x), 100 * y if self.kind == "acc" else y) for x, y in zip(state.epoch_x, values)
                   if y is not None]
            if pts:
                ex, ev = _thin([x for x, _ in pts], [y for _, y in pts], width)
                curves[split] = (to_axis(ex, view.x_axis, state), ev)
        if self.log_scale:  # a log axis has no room for 0 or less (a loss can reach 0 in fp16)
            curves = {k: _positive(xs, ys) for k, (xs, ys) in curves.items()}
        self.curves = curves
        self.border_title = self.title + view.title_note(self.kind) + gap_note(state, self.kind)
        self._draw()

    @property
    def log_scale(self) -> bool:
        """Log y: the loss only (accuracy spans a bounded range; a log of it reads worse)."""
        return self.view.log_y and self.kind == "loss"

    def _draw(self) -> None:
        """Set the data on the plot; sizes and decorations are settled in render (the size may change)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not self.curves:
            plt.text("waiting for the first epoch...", 0.5, 0.5, alignment="center")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        legend = self.size.height >= LEGEND_ROWS  # on a few rows the legend would hide the curves
        no_color = bool(getattr(self.app, "no_color", False))
        for label, (xs, ys) in self.curves.items():
            colour, marker = series_style(label, no_color)
            plt.plot(xs, ys, label=label if legend else None, color=colour, marker=marker)
        if self.kind == "acc" and self.curves:
            plt.ylim(*fit_range([y for _, ys in self.curves.values() for y in ys]))
        plt.yscale("log" if self.log_scale and self.curves else "linear")
        self.refresh()

    def render(self) -> RenderResult:
        width, height = self.size
        if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
            return Text(TOO_SMALL, style="dim", overflow="ellipsis")  # wrapped; what does not fit is cut
        plt = self.plt
        plt.title(self.title if height >= TITLE_ROWS else "")
        plt.xlabel(AXIS_LABELS[self.view.x_axis] if height >= XLABEL_ROWS else "")
        rows = height - 3 - (height >= TITLE_ROWS) - (height >= XLABEL_ROWS)  # rows of curve
        plt.yfrequency(max(2, min(5, rows // 3 + 1)))
        plt.xfrequency(max(2, min(5, width // 12)))
        return super().render()


def series_style(label: str, no_color: bool = False) -> tuple[str, str]:
    """(plotext colour, marker) of a curve: 'train', 'val', 'test' or 'step...'. One epoch is one point: a
    marker makes a single epoch visible at all; under NO_COLOR each split has its own glyph."""
    key = "step" if label.startswith("step") else label
    default = "braille" if key == "step" else "hd"
    return COLOURS.get(key, "white"), MONO_MARKERS.get(key, default) if no_color else default


def fit_range(values: list[float], lo: float = 0.0, hi: float = 100.0) -> tuple[float, float]:
    """The y range of an accuracy chart: the curves' own span, padded, within [lo, hi] (a run between 40%
    and 60% fills the chart instead of a fifth of a fixed 0-100%)."""
    if not values:
        return lo, hi
    low, high = min(values), max(values)
    pad = max(ACC_PAD, 0.1 * (high - low))
    return max(lo, low - pad), min(hi, high + pad)


def gap_note(state: RunState, kind: str) -> str:
    """The generalisation gap at the last epoch, for the chart's border (study 001 reports it)."""
    held_out = "val" if state.n_val else "test"
    if kind == "acc" and state.gap_acc is not None:
        return f" · gap {fmt.points(state.gap_acc)} pts (train − {held_out})"
    if kind == "loss" and state.gap_loss is not None:
        return f" · gap {fmt.loss_delta(state.gap_loss)} ({held_out} − train)"
    return ""


def _positive(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    kept = [(x, y) for x, y in zip(xs, ys) if y > 0]
    return [x for x, _ in kept], [y for _, y in kept]


def _thin(xs: list[float], ys: list[float], width: int) -> tuple[list[float], list[float]]:
    """Every k-th epoch point (keeping the last) when there are more epochs than columns."""
    if len(xs) <= width:
        return xs, ys
    k = -(-len(xs) // width)
    idx = list(range(0, len(xs), k))
    if idx[-1] != len(xs) - 1:
        idx.append(len(xs) - 1)
    return [xs[i] for i in idx], [ys[i] for i in idx]
