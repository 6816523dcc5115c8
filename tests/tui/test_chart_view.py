"""The charts' view: step-loss smoothing, log y, x axis by epoch / step / time (keys m, y, a)."""
from __future__ import annotations

import math

from engine.events import StepDone
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.state.chart_view import ChartView, ema, to_axis
from tui.state.run_state import RunState
from tui.widgets.charts import MetricChart
from tests.helpers.pilot import shown_text
from tests.helpers.tui_fixtures import dashboard_events


def test_view_cycles_and_says_so_in_the_title() -> None:
    view = ChartView()
    assert [view.smoothing, view.next_smoothing().smoothing, view.next_smoothing().next_smoothing().smoothing,
            view.next_smoothing().next_smoothing().next_smoothing().next_smoothing().smoothing] == [0.6, 0.9, 0.99, 0.6]
    assert view.next_axis().x_axis == "step" and view.next_axis().next_axis().next_axis().x_axis == "epoch"
    assert view.next_smoothing().toggle_log().next_axis().title_note("loss") == " · smoothing 0.9 · log y · x: step"
    assert view.toggle_log().title_note("acc") == ""  # accuracy is never on a log scale


def test_ema_smooths_and_zero_leaves_the_points() -> None:
    noisy = [2.0, 0.0, 2.0, 0.0]
    assert ema(noisy, 0.0) == noisy
    smooth = ema(noisy, 0.9)
    assert max(smooth) - min(smooth) < 0.5


def test_step_and_time_axes() -> None:
    state = RunState()
    for event in dashboard_events(done=2):
        state.apply(event)
    assert to_axis([1.0, 1.5], "step", state) == [state.steps_per_epoch, 1.5 * state.steps_per_epoch]
    times = to_axis([0.5, 1.0, 2.0], "time", state)
    assert times[0] == 0.5 * times[1] and times[1] < times[2]  # epoch ends at their recorded times
    assert times[2] == state.epoch_wall[1]


def test_step_loss_keeps_each_batch_for_the_chart_to_smooth() -> None:
    state = RunState()
    for i, loss in enumerate([2.0, 0.0, 2.0, 0.0]):
        state.apply(StepDone(1, i + 1, 4, loss, 0.1, 1.0, 1.0, 1.0))
    assert state.step_loss.y == [2.0, 0.0, 2.0, 0.0]


async def test_keys_change_both_charts() -> None:
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(dashboard_events()))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        loss, acc = app.screen.query_one("#loss", MetricChart), app.screen.query_one("#acc", MetricChart)
        assert "smoothing 0.6" in str(loss.border_title)
        await pilot.press("m", "y", "a")
        await pilot.pause(0.1)
        assert "smoothing 0.9 · log y · x: step" in str(loss.border_title)
        assert "x: step" in str(acc.border_title) and loss.log_scale and not acc.log_scale
        assert max(loss.curves["train"][0]) == 6 * app.screen.state.steps_per_epoch


def _y_labels(chart) -> list[float]:
    """The y tick labels the chart shows, top to bottom."""
    text = shown_text(chart, inner=True)
    return [float(line.split("┫")[0]) for line in text.splitlines() if "┫" in line and line.split("┫")[0].strip()]


def _round(value: float) -> bool:
    """1, 2, 3 or 5 times a power of ten: where a log axis puts its ticks."""
    mantissa = value / 10 ** math.floor(math.log10(value))
    return any(abs(mantissa - m) < 1e-6 for m in (1, 2, 3, 5))


async def test_log_y_reads_in_losses_though_drawn_on_their_logs() -> None:
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(dashboard_events()))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        loss = app.screen.query_one("#loss", MetricChart)
        linear = _y_labels(loss)
        await pilot.press("y")
        await pilot.pause(0.2)
        logged = _y_labels(loss)
        assert len(logged) >= 2 and logged == sorted(logged, reverse=True) and all(map(_round, logged)), logged
        assert min(linear) <= min(logged) * 1.5 and max(logged) <= max(linear) * 2  # the same losses' range
        rows = [line for line in shown_text(loss, inner=True).splitlines() if "┫" in line]
        assert len(rows) == len(logged)


async def test_the_charts_take_no_keys_and_no_focus() -> None:
    """textual-plot's pan and zoom keys (arrows, + -, r) stay the dashboard's and the app's: a click on a chart
    does not focus it, its keys move nothing, and the dashboard's keys still reach the charts."""
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(dashboard_events()))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        loss = app.screen.query_one("#loss", MetricChart)
        before = shown_text(loss)
        await pilot.click("#loss")
        await pilot.press("plus", "minus", "left", "up")
        await pilot.pause(0.1)
        assert app.focused is not loss and shown_text(loss) == before
        await pilot.press("y")
        await pilot.pause(0.1)
        assert loss.log_scale


async def test_an_empty_chart_says_it_waits() -> None:
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events([]))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        assert "waiting for the first epoch" in shown_text(app.screen.query_one("#acc", MetricChart))


def test_a_saved_runs_step_axis_counts_steps() -> None:
    """A saved run's steps per epoch come from steps.jsonl only: the step axis uses them, the header (a live
    run's step count) does not."""
    state = RunState()
    state.apply_record({"epoch": 1, "train_loss": 1.0, "train_acc": 0.5}, epochs=2)
    state.add_step_points([{"epoch": 1, "step": s, "steps_per_epoch": 16, "loss": 1.0} for s in (4, 8, 16)])
    assert to_axis([0.5, 1.0], "step", state) == [8.0, 16.0] and state.steps_per_epoch == 0
