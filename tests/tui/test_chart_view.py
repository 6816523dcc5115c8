"""The charts' view: step-loss smoothing, log y, x axis by epoch / step / time (keys m, y, a)."""
from __future__ import annotations

from engine.events import StepDone
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.state.chart_view import ChartView, ema, to_axis
from tui.state.run_state import RunState
from tui.widgets.charts import MetricChart
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
