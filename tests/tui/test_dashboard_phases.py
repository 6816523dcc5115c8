"""The dashboard in daily use: one run phase, a clock that stops while paused, GPU memory, keys that
leave with the run, small terminals and resize storms, and the typed message the app receives.

Fabricated events (tests/helpers/tui_fixtures.py) feed the screen unless a real run is the point.
"""
from __future__ import annotations

import pytest

import asyncio
import io
import json
import threading
import time
from pathlib import Path

from rich.console import Console
from textual.geometry import Region

from engine.events import RunEnded, StepDone
import tui.app
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen, RunFinished, StartError
from tui.widgets.charts import TOO_SMALL, MetricChart
from tui.widgets.confusion import ConfusionMatrix
from tui.format import memory
from tui.widgets.header import header_text
from tui.widgets.per_class import PerClassTable
from tui.state.run_state import PauseClock, Phase, RunState
from tests.helpers.pilot import shown_text
from tests.helpers.tui_fixtures import CLASSES, dashboard_events, metrics_records, tiny_config
from tests.helpers.waiting import pilot_wait_until

SIZES = [(20, 6), (24, 8), (40, 12), (300, 100), (33, 17), (80, 24), (139, 35), (160, 48), (21, 7), (100, 11)]


def widget_text(widget) -> str:
    """What the widget shows on screen now (its border too), as plain text."""
    width, height = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


def footer_text(screen) -> str:
    """The footer's key hints as shown (each key is a widget of its own)."""
    return "  ".join(key.render().plain for key in screen.query_one("Footer").query("FooterKey"))


def header_plain(state: RunState, width: int = 160) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(header_text(state, width))
    return console.export_text()


def _step(elapsed: float, **kw) -> StepDone:
    return StepDone(1, 1, 10, 1.0, 0.1, 100.0, elapsed, 10.0, **kw)


# ---------------------------------------------------------------- 1. one explicit phase
def test_phase_moves_only_through_transitions() -> None:
    state = RunState()
    assert state.phase is Phase.STARTING and state.pause() and state.phase is Phase.PAUSED
    events = dashboard_events(done=1)
    state.apply(events[0])  # RunStarted while paused: still paused
    assert state.phase is Phase.PAUSED
    assert state.resume() and state.phase is Phase.TRAINING and not state.resume()
    assert state.stop() and state.phase is Phase.STOPPING
    assert not state.pause() and not state.stop()  # nothing left to pause or stop
    state.apply(RunEnded("interrupted", "r", "d"))
    assert state.phase is Phase.INTERRUPTED and not state.phase.live and not state.phase.controllable
    assert not state.pause() and not state.resume() and state.phase is Phase.INTERRUPTED
    assert state.status == "interrupted"  # a str enum: the words on disk compare equal


def test_phase_from_engine_and_store_status() -> None:
    assert Phase.from_status("running") is Phase.FOLLOWING
    assert [Phase.from_status(s) for s in ("completed", "interrupted", "failed", "diverged", "stale")] == [
        Phase.COMPLETED, Phase.INTERRUPTED, Phase.FAILED, Phase.DIVERGED, Phase.STALE]
    assert Phase.from_status("error") is Phase.ERROR and Phase.from_status("???") is Phase.UNKNOWN
    assert all(p.live for p in (Phase.STARTING, Phase.TRAINING, Phase.PAUSED, Phase.STOPPING, Phase.FOLLOWING))


# ---------------------------------------------------------------- 2. paused time
class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _paused_run(engine_counts_pause: bool) -> tuple[RunState, FakeTime, list[float]]:
    """10 s of training, a 60 s pause, 5 s more; the engine's clock counts the pause or not."""
    now = FakeTime()
    state = RunState(clock=PauseClock(now=now))
    state.apply(dashboard_events(done=1)[0])  # RunStarted: a new run, the engine's clock at 0
    shown = []
    now.t += 10
    state.apply(_step(10.0))
    state.pause()
    assert "(paused)" in header_plain(state) and "ETA" not in header_plain(state)
    now.t += 60
    state.resume()
    now.t += 5
    state.apply(_step(15.0 + (60.0 if engine_counts_pause else 0.0)))
    shown.append(state.elapsed_s)
    now.t += 5
    state.apply(_step(20.0 + (60.0 if engine_counts_pause else 0.0)))
    shown.append(state.elapsed_s)
    return state, now, shown


def test_elapsed_excludes_paused_time_whatever_the_engine_counts() -> None:
    for counts in (True, False):
        state, _, shown = _paused_run(counts)
        assert shown == [15.0, 20.0], counts  # no jump at resume, and it keeps going from there
        assert "(paused)" not in header_plain(state)


def test_pause_while_loading_is_not_taken_out() -> None:
    """A pause before the engine started its clock: nothing to subtract."""
    now = FakeTime()
    state = RunState(clock=PauseClock(now=now))
    state.pause()
    now.t += 30
    state.resume()
    state.apply(dashboard_events(done=1)[0])
    now.t += 4
    state.apply(_step(4.0))
    assert state.elapsed_s == 4.0


# ---------------------------------------------------------------- 3. GPU memory
def test_gpu_memory_in_the_header_only_on_cuda() -> None:
    assert memory(3_210_000_000, 4_130_000_000) == "3.2/4.1 GB"
    assert memory(310_000_000, 415_000_000) == "310/415 MB"
    assert memory(None, None) == "-"
    state = RunState()
    state.apply(_step(1.0, gpu_mem=3_210_000_000, gpu_peak=4_130_000_000))
    assert "GPU 3.2/4.1 GB" in header_plain(state)
    state.apply(_step(2.0))  # the CPU: the engine sends None
    assert "GPU" not in header_plain(state)


async def test_dashboard_header_shows_gpu_memory() -> None:
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(dashboard_events()))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        assert "GPU 3.2/4.1 GB" in widget_text(app.screen.query_one("#header"))


# ---------------------------------------------------------------- 4. keys leave with the run
def _fake_saved_run(root: Path) -> Path:
    run = root / "20260101-000000-mlp-scratch"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "mlp", "strategy": "scratch", "dataset": "cifar10",
                                                 "epochs": 3, "run_id": run.name}))
    (run / "summary.json").write_text(json.dumps({"run_id": run.name, "status": "completed", "epochs": 3,
                                                  "class_names": CLASSES, "device": "cpu"}))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in metrics_records(3)))
    return run


async def test_saved_run_offers_no_pause_or_stop(tmp_path: Path) -> None:
    app = CifarApp(runs_dir=str(tmp_path), start_screen=DashboardScreen.for_saved_run(_fake_saved_run(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        await pilot_wait_until(pilot, lambda: dash.state.phase is Phase.COMPLETED)
        await pilot.pause(0.1)
        assert "p" not in dash.active_bindings and "x" not in dash.active_bindings
        await pilot.press("4")  # n is offered where the confusion matrix shows
        assert "n" in dash.active_bindings
        await pilot_wait_until(pilot, lambda: "Counts/%" in footer_text(dash), timeout=5)  # the footer recomposes
        assert "Pause" not in footer_text(dash) and "Stop" not in footer_text(dash)
        await pilot.press("p", "x")
        await pilot.pause()
        assert app.screen is dash and dash.state.phase is Phase.COMPLETED and not dash.control.paused


# ---------------------------------------------------------------- 5. small terminals
def _labels_apart(chart_text: str) -> bool:
    """Every y label is a number (or blank) left of the frame, and the x tick row holds numbers."""
    lines = [line for line in chart_text.splitlines() if line.strip()]
    for line in lines[:-1]:
        cut = min((line.index(c) for c in "┏┗┫┃" if c in line), default=None)
        if cut is None:
            continue
        label = line[:cut].strip()
        if label and not _number(label):
            return False
    return all(_number(tick) for tick in lines[-1].split())


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.slow
async def test_small_terminal_degrades_cleanly() -> None:
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(dashboard_events()))
    async with app.run_test(size=(40, 12)) as pilot:
        dash = app.screen
        await pilot.pause(0.3)
        chart = dash.query_one("#loss", MetricChart)
        text = shown_text(chart, inner=True)
        assert len(text.splitlines()) == chart.size.height and "┫" in text and TOO_SMALL not in text and _labels_apart(text), text
        await pilot.press("3")
        await pilot.pause(0.2)
        table = dash.query_one(PerClassTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no sideways scrolling
        assert "best" in [str(c.label) for c in table.columns.values()]
        await pilot.press("4")
        await pilot.pause(0.2)
        matrix = dash.query_one(ConfusionMatrix)
        lines = matrix.render().plain.splitlines()
        assert len(lines) <= matrix.size.height and max(map(len, lines)) <= matrix.size.width, lines
        assert "2 of 10 classes" in lines[1]  # the least accurate ones: cat and dog
        await pilot.resize_terminal(30, 9)
        await pilot.pause(0.2)
        assert "larger" in widget_text(matrix)
        await pilot.press("1")
        await pilot.pause(0.2)
        assert "larger" in widget_text(chart)


def _feed(dash: DashboardScreen, events: list, stop: threading.Event) -> None:
    """The training thread's side: engine events posted while the UI resizes."""
    for event in events:
        if stop.is_set():
            return
        dash._on_event(event)
        time.sleep(0.002)


async def test_resize_storm_while_events_arrive() -> None:
    events = dashboard_events()
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(events[:30]))
    async with app.run_test(size=(80, 24)) as pilot:
        dash, stop = app.screen, threading.Event()
        feeder = threading.Thread(target=_feed, args=(dash, events[30:], stop), daemon=True)
        feeder.start()
        try:
            for i in range(3):
                for width, height in SIZES:
                    await pilot.resize_terminal(width, height)
                    if i == 1:
                        await pilot.press(str(1 + (width % 5)))
        finally:
            stop.set()
            feeder.join(5)
        await pilot.pause(0.6)
        for width, height in SIZES:
            await pilot.resize_terminal(width, height)
            await pilot.pause(0.05)
            assert app.screen is dash and dash.size == (width, height)
        assert dash.state.epoch == 7 and len(dash.state.epoch_x) == 6  # every event arrived


# ---------------------------------------------------------------- 6. a typed message to the app
class Host(CifarApp):
    """An app that records what the dashboard tells it."""

    CSS_PATH = str(Path(tui.app.__file__).with_name("app.tcss"))  # relative paths resolve next to this file

    def __init__(self, screen: DashboardScreen) -> None:
        super().__init__(runs_dir="tmp-runs", start_screen=screen)
        self.finished: list[RunFinished] = []

    def on_run_finished(self, message: RunFinished) -> None:
        self.finished.append(message)
        message.prevent_default()  # record only: CifarApp's own handler would exit on exit_app


async def test_run_end_reaches_the_app_as_a_typed_message() -> None:
    app = Host(DashboardScreen.for_events(dashboard_events()))
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        dash.request_stop(then_exit=True)  # as a quit does; a replay has nothing to stop
        dash._on_event(RunEnded("interrupted", "r1", "runs/r1", {"wall_time_s": 64.0}))
        await pilot_wait_until(pilot, lambda: app.finished, timeout=5)
        (message,) = app.finished
        assert message.phase is Phase.INTERRUPTED and message.exit_app and not message.sets_exit_code
        assert app.is_running  # the host decides; the dashboard never exits the app itself


async def test_bad_input_reaches_the_app_as_error() -> None:
    app = Host(DashboardScreen.for_events([]))
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.post_message(StartError("epochs must be at least 1"))
        await pilot_wait_until(pilot, lambda: app.finished, timeout=5)
        assert app.finished[0].phase is Phase.ERROR and app.screen.state.phase is Phase.ERROR
        assert "ERROR" in widget_text(app.screen.query_one("#header"))


# ---------------------------------------------------------------- a real run: pause, resume, stop
async def _pause_for(pilot, dash: DashboardScreen, seconds: float) -> tuple[float, float]:
    """p, wait, p; returns the elapsed time shown while paused and when (monotonic) p resumed."""
    await pilot_wait_until(pilot, lambda: dash.state.phase is Phase.TRAINING and dash.state.step > 2)
    await pilot.press("p")
    await pilot.pause(1.0)  # the engine pauses at its next step; the last reports land
    at_pause = dash.state.elapsed_s
    assert "(paused)" in widget_text(dash.query_one("#header"))
    await asyncio.sleep(seconds)
    assert dash.state.elapsed_s == at_pause  # the clock stands still
    resumed_at = time.monotonic()  # before the key: reports may land while press() waits for the UI
    await pilot.press("p")
    return at_pause, resumed_at


@pytest.mark.slow
async def test_pause_keeps_the_clock_still_then_stop_hides_the_keys(tmp_path: Path) -> None:
    app = CifarApp(tiny_config(tmp_path, epochs=50, train_limit=2000, checkpoints=False))
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        await pilot_wait_until(pilot, lambda: "Stop" in footer_text(dash), timeout=5)
        at_pause, resumed_at = await _pause_for(pilot, dash, 3.0)
        await pilot_wait_until(pilot, lambda: dash.state.elapsed_s != at_pause)  # the engine reports again
        # It moved on by the training time since p resumed, not by the 3 s pause too.
        assert dash.state.elapsed_s - at_pause < time.monotonic() - resumed_at + 0.5
        await pilot.press("x", "y")
        await pilot_wait_until(pilot, lambda: dash.state.phase is Phase.INTERRUPTED)
        assert "p" not in dash.active_bindings and "x" not in dash.active_bindings
        await pilot.press("4")  # at 80x24 the matrix's own key shows with its tab
        await pilot_wait_until(pilot, lambda: "Stop" not in footer_text(dash) and "Counts/%" in footer_text(dash),
                               timeout=5)
