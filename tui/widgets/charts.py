"""Loss and accuracy charts (tui.widgets.plot, on textual-plot) fed from a RunState.

The charts never refresh themselves: ``update_from`` takes the curves and draws
them once, and the dashboard calls it at most a few times a second. Curves are
downsampled to the chart's width first, so a long run costs the same to draw as a
short one. The border says what the chart shows (title, the view's smoothing,
log y and x axis, the generalisation gap); its bottom edge names the x axis.
Small panels degrade in steps (tui.widgets.plot): the legend goes first, then
ticks thin out; below MIN_SIZE a one-line note replaces the plot.
"""
from __future__ import annotations

from textual_plot import LegendLocation

from tui import format as fmt
from tui.state.chart_view import AXIS_LABELS, ChartView, ema, to_axis
from tui.state.run_state import RunState
from tui.state.series import bucket_means
from tui.widgets.plot import LEGEND_ROWS, MIN_SIZE, TOO_SMALL, Axes, Chart, Series

# LEGEND_ROWS, MIN_SIZE and TOO_SMALL live in tui.widgets.plot now; still importable from here.
__all__ = ["ACC_PAD", "COLOURS", "LEGEND_ROWS", "MIN_SIZE", "MONO_MARKERS", "TOO_SMALL", "MetricChart", "fit_range",
           "gap_note", "series_style"]

# rich colour names; distinct in 16-colour terminals too.
COLOURS = {"train": "cyan", "val": "magenta", "test": "green", "step": "grey58"}
# Under NO_COLOR every colour is the same grey: each split then draws its line with its own glyph (the legend
# shows it); the step loss stays a thin braille line.
MONO_MARKERS = {"train": "•", "val": "x", "test": "+", "step": ""}
ACC_PAD = 2.0  # points of accuracy kept above and below the curves (at least)
WAITING = "waiting for the first epoch..."
X_KINDS = {"epoch": "whole", "step": "whole", "time": "time"}  # how each x axis's ticks read (tui.widgets.plot)


class MetricChart(Chart):
    """One chart: several named curves; x by epoch, step or time, y linear or log (``view``, the keys'
    choice, with the step loss's smoothing)."""

    def __init__(self, title: str, kind: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.kind = kind  # "loss" or "acc"
        self.curves: dict[str, tuple[list[float], list[float]]] = {}
        self.border_title = title
        self.border_subtitle = AXIS_LABELS["epoch"]
        self.view = ChartView()

    def points(self, label: str) -> int:
        """How many points the curve called label holds (0 if absent)."""
        return len(self.curves.get(label, ([], []))[0])

    def update_from(self, state: RunState) -> None:
        """Take the curves from state and redraw once."""
        width = max(10, self.size.width - 8)  # y tick labels take ~6 columns, the frame 2
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
        self.curves = curves
        self.border_title = self.title + view.title_note(self.kind) + gap_note(state, self.kind)
        self.border_subtitle = AXIS_LABELS[view.x_axis]
        self._show_curves()

    @property
    def log_scale(self) -> bool:
        """Log y: the loss only (accuracy spans a bounded range; a log of it reads worse)."""
        return self.view.log_y and self.kind == "loss"

    def _show_curves(self) -> None:
        no_color = bool(getattr(self.app, "no_color", False))
        series = []
        for label, (xs, ys) in self.curves.items():
            colour, marker = series_style(label, no_color)
            series.append(Series(xs, ys, colour, label, marker=marker, fill=bool(marker), fine=label == "step"))
        y_range = fit_range([y for _, ys in self.curves.values() for y in ys]) if self.kind == "acc" else None
        # The legend where the curves seldom are: a loss falls away from the top right, an accuracy rises
        # away from the bottom right.
        corner = LegendLocation.BOTTOMRIGHT if self.kind == "acc" else LegendLocation.TOPRIGHT
        self.show(series, Axes(X_KINDS[self.view.x_axis], self.log_scale, y_range, corner), WAITING)


def series_style(label: str, no_color: bool = False) -> tuple[str, str]:
    """(rich colour, glyph) of a curve: 'train', 'val', 'test' or 'step...'. The glyph ('' : none) draws
    the curve under NO_COLOR, where every colour is the same grey."""
    key = "step" if label.startswith("step") else label
    return COLOURS.get(key, "white"), MONO_MARKERS.get(key, "") if no_color else ""


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


def _thin(xs: list[float], ys: list[float], width: int) -> tuple[list[float], list[float]]:
    """Every k-th epoch point (keeping the last) when there are more epochs than columns."""
    if len(xs) <= width:
        return xs, ys
    k = -(-len(xs) // width)
    idx = list(range(0, len(xs), k))
    if idx[-1] != len(xs) - 1:
        idx.append(len(xs) - 1)
    return [xs[i] for i in idx], [ys[i] for i in idx]
