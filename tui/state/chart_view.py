"""How the dashboard's charts show their curves: smoothing of the step loss, log-scale y, and the x axis
(epoch, global step or training time). Pure Python (no textual): the keys change it, the charts read it.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.state.run_state import RunState

SMOOTHING = (0.0, 0.6, 0.9, 0.99)
"""The factors the key cycles through: the weight an EMA gives the curve so far (TensorBoard's slider)."""
X_AXES = ("epoch", "step", "time")
AXIS_LABELS = {"epoch": "epoch", "step": "step", "time": "training time"}  # the time ticks carry their unit


@dataclass(frozen=True)
class ChartView:
    smoothing: float = 0.6
    log_y: bool = False
    x_axis: str = "epoch"

    def next_smoothing(self) -> ChartView:
        i = SMOOTHING.index(self.smoothing) if self.smoothing in SMOOTHING else -1
        return replace(self, smoothing=SMOOTHING[(i + 1) % len(SMOOTHING)])

    def toggle_log(self) -> ChartView:
        return replace(self, log_y=not self.log_y)

    def next_axis(self) -> ChartView:
        return replace(self, x_axis=X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)])

    def title_note(self, kind: str) -> str:
        """What the title says of the view: ' · smoothing 0.9 · log y · x: step' (the defaults say nothing)."""
        note = f" · smoothing {self.smoothing:g}" if kind == "loss" else ""
        note += " · log y" if self.log_y and kind == "loss" else ""
        return note + (f" · x: {self.x_axis}" if self.x_axis != "epoch" else "")


def ema(ys: list[float], factor: float) -> list[float]:
    """Exponential moving average; factor 0 returns the points as they are."""
    if factor <= 0 or not ys:
        return list(ys)
    out, last = [], ys[0]
    for y in ys:
        last = factor * last + (1 - factor) * y
        out.append(last)
    return out


def to_axis(xs: list[float], axis: str, state: RunState) -> list[float]:
    """Positions on the epoch axis (epoch 2, step 10 of 40: 1.25) on the chosen axis: the global step, or
    the training time (paused time left out), interpolated between the epochs' recorded times."""
    steps = state.steps_per_epoch or state.recorded_steps_per_epoch
    if axis == "step" and steps:
        return [x * steps for x in xs]
    if axis != "time":
        return list(xs)
    knots = time_knots(state)
    if len(knots) < 2:
        return list(xs)
    return [_interp(knots, x) for x in xs]


def time_knots(state: RunState) -> list[tuple[float, float]]:
    """(epoch position, seconds of training) known: the start, each epoch's end, and now for a live run."""
    knots = [(0.0, 0.0)]
    for x, t in zip(state.epoch_x, state.epoch_wall):
        if t is not None and x > knots[-1][0] and t >= knots[-1][1]:
            knots.append((float(x), t))
    here = (state.epoch - 1) + state.step / state.steps_per_epoch if state.steps_per_epoch and state.epoch else 0.0
    if state.phase.live and state.elapsed_s is not None and here > knots[-1][0]:
        knots.append((here, state.elapsed_s))
    return knots


def _interp(knots: list[tuple[float, float]], x: float) -> float:
    """Piecewise linear through knots; past the last one, the last stretch's pace goes on."""
    xs = [k[0] for k in knots]
    i = min(max(1, bisect.bisect_left(xs, x)), len(knots) - 1)
    (x0, t0), (x1, t1) = knots[i - 1], knots[i]
    return t0 + (t1 - t0) * (x - x0) / (x1 - x0)
