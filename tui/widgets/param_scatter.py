"""A sweep's trials as points: best validation accuracy (y) against one swept param (x), in plotext.

tui.widgets.scatter draws a density of thousands of labelled points with no axes (a feature space);
a sweep has a few dozen trials whose param values are the point, so this one has axes and ticks.
Numbers go on a linear axis, or a log one for a log range or a list spanning a factor of 10 or more
(learning rates); anything else (models, on/off) gets one tick per value, in the order listed.
Each status has its own marker and colour, so NO_COLOR still tells them apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from engine.sweeps.space import value_text

MARKS = {"completed": ("●", "green"), "running": ("+", "cyan"), "pruned": ("x", "yellow"),
         "interrupted": ("o", "yellow"), "failed": ("!", "red")}
"""Status -> (marker, plotext colour); statuses without a value (waiting) are not drawn."""
MIN_SIZE = (20, 6)
LOG_SPAN = 10.0
MAX_TICKS = 5


@dataclass
class ParamPoints:
    """What to draw: the param, its kind (list, int, float, log), the values it may take in order (a list),
    and per trial its value, validation accuracy (0..1) and status."""

    param: str
    kind: str
    order: tuple[Any, ...]
    values: list[Any]
    accs: list[float]
    statuses: list[str]


def is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def legend(statuses: list[str]) -> str:
    """'● completed  x pruned': the markers of the statuses drawn, for the panel's border."""
    return "  ".join(f"{MARKS[s][0]} {s}" for s in MARKS if s in statuses)


def axis(points: ParamPoints) -> tuple[list[float], list[float], list[str]]:
    """(x per trial, tick positions, tick labels; no ticks: plotext's own). A log axis is drawn as log10 of
    the values with the values as labels: plotext's own log scale takes the log again on each redraw."""
    values = points.values
    if values and all(is_number(v) for v in values):
        listed = [float(v) for v in points.order if is_number(v)]
        numbers = [float(v) for v in values]
        low, high = min(listed or numbers), max(listed or numbers)
        log = low > 0 and (points.kind == "log" or high / low >= LOG_SPAN)
        at = listed if 1 < len(listed) <= MAX_TICKS else []  # a list's own values, where they fit
        if not log:
            return numbers, at, [value_text(v) for v in points.order if is_number(v)] if at else []
        if not at:
            step = (math.log10(high) - math.log10(low)) / (MAX_TICKS - 1)
            at = [10 ** (math.log10(low) + i * step) for i in range(MAX_TICKS)] if step else [low]
        return [math.log10(x) for x in numbers], [math.log10(t) for t in at], [f"{t:.3g}" for t in at]
    labels = [value_text(v) for v in points.order]
    for v in values:
        if value_text(v) not in labels:
            labels.append(value_text(v))
    return [float(labels.index(value_text(v)) + 1) for v in values], [float(i + 1) for i in range(len(labels))], labels


class ParamScatter(PlotextPlot):
    """Validation accuracy against one param; ``show`` sets the points and redraws once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.points: ParamPoints | None = None
        self.note = "no trial has a validation accuracy yet"

    def show(self, points: ParamPoints | None, note: str = "") -> None:
        """Draw these points (None or none with a value: ``note`` instead)."""
        self.points, self.note = points, note or self.note
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        points = self.points
        if points is None or not points.values:
            plt.text(self.note, 0.5, 0.5, alignment="center")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            self.refresh()
            return
        xs, ticks, labels = axis(points)
        ys = [100 * a for a in points.accs]
        for status, (marker, colour) in MARKS.items():
            chosen = [(x, y) for x, y, s in zip(xs, ys, points.statuses) if s == status]
            if chosen:
                plt.scatter([x for x, _ in chosen], [y for _, y in chosen], marker=marker, color=colour)
        if ticks:
            plt.xticks(ticks, labels)
        span = [*xs, *ticks]
        pad = 0.05 * (max(span) - min(span)) or 0.5  # no point on the frame
        plt.xlim(min(span) - pad, max(span) + pad)
        low, high = min(ys), max(ys)
        pad = max(1.0, 0.1 * (high - low))
        plt.ylim(max(0.0, low - pad), min(100.0, high + pad))
        self.refresh()

    def on_resize(self) -> None:
        self._draw()

    def render(self) -> RenderResult:
        width, height = self.size
        if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
            return Text("make the terminal larger to see this plot", style="dim", overflow="ellipsis")
        self.plt.xfrequency(max(2, min(5, width // 12)))
        self.plt.yfrequency(max(2, min(5, height // 3)))
        return super().render()
