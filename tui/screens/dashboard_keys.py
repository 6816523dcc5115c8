"""The dashboard's own keys: pause, stop (asked first), counts/%, sort, panels, back.

Functions of the ``DashboardScreen`` whose actions call them. p and x exist only while the run can
still be paused or stopped: this app trains it and no stop was asked, or another process writes it
and it runs (then they ask that process: dashboard_remote). The screen's ``check_action`` hides them
from the footer otherwise, and the screen refreshes the footer on every phase change.

The footer is ordered by what a glance needs, so 80 columns keep the panels (1-5), help and quit:
p and x, the panels, the key of the panel shown (n, s), ? and q, then the images.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from textual.binding import Binding
from textual.widgets import Tabs

from tui.messages import OpenLauncher, OpenRuns
from tui.state.chart_view import ChartView
from tui.widgets.charts import MetricChart
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.per_class import PerClassTable
from tui.screens import dashboard_inspect, dashboard_remote
from tui.screens.confirm import TRAINED_HERE, ConfirmStop

if TYPE_CHECKING:
    from tui.screens.dashboard import DashboardScreen

PANEL_KEYS = Binding.Group("Panels", compact=True)
KEYS = [
    Binding("p", "pause", "Pause"),
    Binding("x", "stop", "Stop"),
    *[Binding(str(n), f"tab('{pid}')", label, group=PANEL_KEYS)
      for n, (pid, label) in enumerate((("loss", "Loss"), ("acc", "Accuracy"), ("classes", "Classes"),
                                        ("matrix", "Confusion"), ("log", "Log")), start=1)],
    Binding("n", "normalise", "Counts/%"),
    Binding("s", "sort", "Sort"),
    # The charts' view: out of the footer (80 columns are spoken for); ? lists them.
    Binding("m", "smoothing", "Smoothing", show=False),
    Binding("y", "log_y", "Log y", show=False),
    Binding("a", "x_axis", "X axis", show=False),
    # The app's help and quit, placed here so the footer shows them before the images' keys.
    Binding("question_mark", "app.help", "Help"),
    Binding("q", "app.quit_app", "Quit"),
    *dashboard_inspect.KEYS,
    Binding("escape", "back", "Back", show=False),
]
PANEL_OF = {"normalise": "matrix", "sort": "classes"}
"""Keys about one panel: in the footer only while that panel is on screen (all of them, on a wide one)."""


def shown(screen: DashboardScreen, action: str) -> bool:
    """n and s while their panel is on screen; every other key always."""
    panel = PANEL_OF.get(action)
    return panel is None or not screen.has_class("narrow") or screen.active == panel


def pause(screen: DashboardScreen) -> None:
    """p: pause or resume at the next step; the elapsed clock stops meanwhile."""
    if screen.follows_live:
        dashboard_remote.pause(screen)
        return
    if not screen.can_control:
        return
    if screen.state.resume():
        screen.control.resume()
        screen.show_phase_change("info", "resumed")
    elif screen.state.pause():
        screen.control.pause()
        screen.show_phase_change("info", "paused (p resumes)")


def stop(screen: DashboardScreen) -> None:
    """x: ask first (a stray key must not end hours of training); Enter, n and Escape keep training."""
    if screen.follows_live:
        dashboard_remote.stop(screen, stop_question(screen))
        return
    if not screen.can_control:
        return

    def answer(yes: bool | None) -> None:
        if not yes:
            return
        if screen.can_control:
            screen.request_stop()
        else:
            screen.notify(f"the run already ended ({screen.state.phase})", timeout=4)

    screen.app.push_screen(ConfirmStop(stop_question(screen), about=TRAINED_HERE), answer)


def stop_question(screen: DashboardScreen) -> str:
    """The stop dialog's text: what happens to the run, and the command that continues it."""
    return (f"Stop training? The run is saved as interrupted and can be resumed "
            f"({resume_command(screen)}, or R on the runs screen).")


def resume_command(screen: DashboardScreen) -> str:
    """`cifar-tui --resume RUN` for this run (the run id in the default store, else its folder)."""
    run_id, run_dir = screen.state.run_id, screen.state.run_dir or screen.resume_dir or screen.run_dir or ""
    runs_dir = screen.config.runs_dir if screen.config is not None else str(Path(run_dir).parent)
    if run_id and Path(runs_dir) == Path("saved_runs"):
        return f"cifar-tui --resume {run_id}"
    if run_dir:
        return f"cifar-tui --resume {run_dir}"
    return "cifar-tui --resume RUN"  # stopped before the run folder exists: nothing to name yet


def normalise(screen: DashboardScreen) -> None:
    normalised = screen.query_one(ConfusionMatrix).toggle_normalized()
    screen.notify("confusion matrix: row-normalised %" if normalised else "confusion matrix: counts", timeout=2)


def sort(screen: DashboardScreen) -> None:
    screen.query_one(PerClassTable).action_cycle_sort()


def tab(screen: DashboardScreen, pid: str) -> None:
    screen.active = pid
    screen.query_one(Tabs).active = f"tab-{pid}"
    screen.apply_layout()
    screen.refresh_bindings()  # n and s come and go with their panel
    if pid == "matrix":  # enter then opens the cell under the cursor: the most confused pair at first
        screen.query_one(ConfusionMatrix).focus()
        if screen.state.epoch_x:
            screen.preload_images()


def back(screen: DashboardScreen) -> None:
    """Escape: back to the previous screen, unless this is the only one or a run is training here."""
    if screen.is_training:
        screen.notify("training: x stops the run, q quits", timeout=3)
    elif len(screen.app.screen_stack) > 2:
        screen.app.pop_screen()
    elif screen.config is None and screen.run_dir is not None:  # `cifar-tui watch RUN`: the runs beside it
        screen.post_message(OpenRuns(str(Path(screen.run_dir).parent)))
    else:  # `cifar-tui train` ended here: the launcher, with this run's settings, to start another
        runs_dir = screen.config.runs_dir if screen.config is not None else None
        screen.post_message(OpenLauncher(runs_dir, screen.config))


def _change_view(screen: DashboardScreen, change: Callable[[ChartView], ChartView]) -> ChartView:
    """Both charts take the new view (they share an x axis) and redraw now."""
    charts = list(screen.query(MetricChart))
    view = change(charts[0].view)
    for chart in charts:
        chart.view = view
    screen.redraw.flush(force_charts=True)
    return view


def smoothing(screen: DashboardScreen) -> None:
    """m: the step loss's smoothing, 0 -> 0.6 -> 0.9 -> 0.99 (the chart's title says which)."""
    _change_view(screen, ChartView.next_smoothing)


def log_y(screen: DashboardScreen) -> None:
    """y: the loss on a log scale, or back."""
    _change_view(screen, ChartView.toggle_log)


def x_axis(screen: DashboardScreen) -> None:
    """a: the charts' x axis by epoch, global step or training time."""
    _change_view(screen, ChartView.next_axis)
