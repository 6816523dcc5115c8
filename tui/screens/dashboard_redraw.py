"""The dashboard's redraw: what changed since the last one, drawn on its widgets at a bounded rate.

Widgets are redrawn by a 2 Hz timer from what changed, never per event, so the UI costs the
training loop the same whether it emits 10 or 1000 events a second; keys redraw at once.
"""
from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING

from tui.widgets.charts import MetricChart
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.header import RunHeader
from tui.widgets.log_panel import LogPanel
from tui.widgets.per_class import PerClassTable

if TYPE_CHECKING:
    from tui.screens.dashboard import DashboardScreen

REDRAW_S = 0.5  # 2 redraws a second (4 at most); keys redraw at once. Each redraw costs training CPU
STEP_CHART_S = 5.0  # new steps alone redraw the loss chart every 5 s: a chart redraw costs ~10-20 ms of CPU
# (benchmarks/chart_redraw.py), the largest share of a steady dashboard's (the target: training with the app at
# >= 97% of --no-ui's speed); the header shows the newest loss twice a second


class Redraw:
    """The parts of a dashboard that changed (``mark``), drawn by ``flush``."""

    def __init__(self, screen: DashboardScreen) -> None:
        self.screen = screen
        self.dirty: set[str] = set()
        self.stale_charts: set[str] = set()
        self.charts_drawn_at = 0.0

    def mark(self, *parts: str) -> None:
        """header, log, epoch (per-class table and matrix), charts (both), step (the loss chart, rate-limited)."""
        self.dirty.update(parts)

    # Looked up once: flush runs twice a second and a query walks the whole screen.
    @cached_property
    def header(self) -> RunHeader:
        return self.screen.query_one(RunHeader)

    @cached_property
    def charts(self) -> list[MetricChart]:
        return list(self.screen.query(MetricChart))

    def flush(self, force_charts: bool = False) -> None:
        """Apply what changed to the widgets; called by a 2 Hz timer and after keys."""
        dirty, self.dirty = self.dirty, set()
        if not dirty and not force_charts and not self.stale_charts:
            return
        s = self.screen.state
        if "header" in dirty:
            self.header.update()
        self._flush_charts(dirty, force_charts)
        if "epoch" in dirty:
            if s.per_class:
                self.screen.query_one(PerClassTable).set_data(s.class_names, s.per_class, s.per_class_prev,
                                                              s.per_class_best)
            self.screen.query_one(ConfusionMatrix).set_matrix(s.confusion, s.class_names)
        if "log" in dirty:
            self.screen.query_one(LogPanel).sync(s.log, s.log_count)

    def _flush_charts(self, dirty: set[str], force: bool) -> None:
        """Epoch-level changes redraw both charts; steps only feed the loss chart, every STEP_CHART_S."""
        now = time.monotonic()
        if force or "charts" in dirty:
            self.stale_charts.update({"loss", "acc"})
        if "step" in dirty:
            if now - self.charts_drawn_at >= STEP_CHART_S:
                self.stale_charts.add("loss")
            else:
                self.dirty.add("step")  # keep it for the next chart slot
        for chart in self.charts:
            if chart.id in self.stale_charts and chart.display:  # hidden (a tab away): drawn when shown
                self.stale_charts.discard(chart.id)
                self.charts_drawn_at = now
                chart.update_from(self.screen.state)
