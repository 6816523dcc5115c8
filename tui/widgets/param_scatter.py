"""A sweep's trials as points: best validation accuracy (y) against one swept param (x), on tui.widgets.plot.

tui.widgets.scatter draws a density of thousands of labelled points with no axes (a feature space);
a sweep has a few dozen trials whose param values are the point, so this one has axes and ticks.
A list's values (a grid, models, on/off) are categories, one tick each in the order listed, evenly spaced
(a list of learning rates a factor apart reads as a log axis); a log range gets a log axis, any other range
a linear one. Each status has its own marker and colour, so NO_COLOR still tells them apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.sweeps.space import value_text
from tui.widgets.plot import Axes, Chart, Series

MARKS = {"completed": ("●", "green"), "running": ("+", "cyan"), "pruned": ("x", "yellow"),
         "interrupted": ("o", "yellow"), "failed": ("!", "red")}
"""Status -> (marker, rich colour); statuses without a value (waiting) are not drawn."""


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


def axis(points: ParamPoints) -> tuple[list[float], Axes]:
    """(x per trial, the axes): categories at 1, 2, 3... for a list (or values that are not all numbers),
    else the values themselves on a log axis (a log range) or a linear one."""
    values = points.values
    if points.kind != "list" and values and all(is_number(v) for v in values):
        return [float(v) for v in values], Axes(x="log" if points.kind == "log" else "linear", legend=None)
    names = [value_text(v) for v in points.order]
    for v in values:
        if value_text(v) not in names:
            names.append(value_text(v))
    xs = [float(names.index(value_text(v)) + 1) for v in values]
    return xs, Axes(x="names", x_names=tuple(names), legend=None)


class ParamScatter(Chart):
    """Validation accuracy against one param; ``show_points`` sets the points and draws them once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.points: ParamPoints | None = None

    def show_points(self, points: ParamPoints | None, note: str = "no trial has a validation accuracy yet") -> None:
        """Draw these points (None, or none with a value: ``note`` in their place)."""
        self.points = points
        if points is None or not points.values:
            self.show([], note=note)
            return
        xs, axes = axis(points)
        ys = [100 * a for a in points.accs]
        series = []
        for status, (marker, colour) in MARKS.items():
            chosen = [(x, y) for x, y, s in zip(xs, ys, points.statuses) if s == status]
            if chosen:
                series.append(Series([x for x, _ in chosen], [y for _, y in chosen], colour, status,
                                     marker=marker, line=False))
        self.show(series, axes)
