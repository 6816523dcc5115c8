"""Pilot tests: drive the real app with keys, train tiny synthetic runs, check widgets and disk.

Tiny settings (MLP, 500 train / 200 test images, 2 epochs) keep each run to a
second or two on two CPU cores; most of the time is the one-off torch import.
"""
from __future__ import annotations

import pytest

import json
from pathlib import Path

from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.launcher import LauncherScreen
from tui.widgets.charts import MetricChart
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.per_class import PerClassTable
from tests.helpers import ROOT
from tests.helpers.pilot import form_ready, type_into
from tests.helpers.waiting import pilot_wait_until

WIDE = (160, 48)


async def fill_tiny_run(pilot, epochs: int = 2, train: int = 500) -> None:
    await pilot_wait_until(pilot, lambda: bool(pilot.app.screen.models))  # the launcher has the registry
    await pilot.press("ctrl+y")  # synthetic demo data
    await type_into(pilot, "model", "mlp")  # a text field, with the registry as suggestions
    await type_into(pilot, "epochs", str(epochs))
    await type_into(pilot, "train_limit", str(train))
    await type_into(pilot, "test_limit", "200")


@pytest.mark.slow
async def test_launcher_to_completed_run(tmp_path: Path) -> None:
    app = CifarApp(runs_dir=str(tmp_path))
    async with app.run_test(size=WIDE) as pilot:
        assert isinstance(app.screen, LauncherScreen)
        await fill_tiny_run(pilot)
        assert app.screen.query_one("#model").value == "mlp"
        await pilot.press("ctrl+s")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        dash = app.screen
        await pilot_wait_until(pilot, lambda: dash.state.status == "completed")
        # the redraw after the end
        await pilot_wait_until(pilot, lambda: "run completed" in dash.query_one("#log").text)
        assert dash.query_one(PerClassTable).row_count == 10
        assert dash.query_one(ConfusionMatrix).total == 200  # every test image lands in one cell
        loss, acc = dash.query_one("#loss", MetricChart), dash.query_one("#acc", MetricChart)
        for chart in (loss, acc):
            assert chart.points("train") == 2 and chart.points("test") == 2  # one point per epoch
        assert loss.points("step") >= 2
        summary = json.loads((Path(dash.state.run_dir) / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["epochs_done"] == 2
        assert Path(dash.state.run_dir).parent == tmp_path
        assert "run completed" in dash.query_one("#log").text
        assert "p" not in dash.active_bindings and "x" not in dash.active_bindings  # nothing left to pause
        await pilot.press("p")
        assert not dash.control.paused and dash.state.status == "completed"
        await pilot.press("n")
        assert dash.query_one(ConfusionMatrix).normalized
        await pilot.press("q")
    assert app.return_value == 0


async def test_invalid_value_flagged_in_place(tmp_path: Path) -> None:
    app = CifarApp(runs_dir=str(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "lr", "abc")
        await type_into(pilot, "epochs", "0")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#lr").has_class("bad")
        assert "learning rate" in str(screen.query_one("#err-lr").render())
        assert screen.query_one("#err-epochs").display
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, LauncherScreen)  # nothing started
        assert not tmp_path.exists() or not any(tmp_path.iterdir())
        await type_into(pilot, "lr", "0.01")
        await pilot.pause()
        assert not screen.query_one("#lr").has_class("bad")
        # A value that is fine alone but not for this dataset: flagged on start, focus goes there.
        await type_into(pilot, "epochs", "1")
        await pilot_wait_until(pilot, lambda: bool(app.screen.models))  # the launcher has the registry
        await pilot.press("ctrl+y")
        await type_into(pilot, "val_split", "5000")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, LauncherScreen)
        assert screen.query_one("#val_split").has_class("bad") and screen.query_one("#val_split").has_focus
        assert "synthetic has 5000" in str(screen.query_one("#err-val_split").render())


async def test_missing_dataset_offers_ways_out(tmp_path: Path) -> None:
    from engine.config import RunConfig

    base = RunConfig(dataset="cifar10", data_dir=str(tmp_path / "nothing-here"), runs_dir=str(tmp_path))
    app = CifarApp(runs_dir=str(tmp_path), start_screen=LauncherScreen(runs_dir=str(tmp_path), base=base))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        banner = app.screen.query_one("#dataset-missing")
        assert banner.display
        assert "not found" in str(app.screen.query_one("#dataset-missing-text").render())
        await pilot.click("#use-synthetic")
        await pilot.pause(0.2)
        assert app.screen.query_one("#dataset").value == "synthetic"
        assert not banner.display


@pytest.mark.slow
async def test_pause_then_stop_saves_interrupted(tmp_path: Path) -> None:
    app = CifarApp(runs_dir=str(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await fill_tiny_run(pilot, epochs=500, train=2000)  # far longer than the test: it stops the run
        await pilot.press("ctrl+s")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        dash = app.screen
        await pilot_wait_until(pilot, lambda: dash.state.status == "training" and dash.state.step > 0)
        await pilot.press("p")
        assert dash.control.paused and dash.state.status == "paused"
        await pilot.press("p")
        assert not dash.control.paused
        # x asks first; the safe answer is the default: Enter, Escape and n all keep training.
        for keep in ("enter", "escape", "n"):
            await pilot.press("x")
            await pilot.pause()
            assert type(app.screen).__name__ == "ConfirmStop"
            question = str(app.screen.query_one("#confirm-text").render())
            assert "Stop training?" in question and "saved as interrupted and can be resumed" in question
            assert f"cifar-tui --resume {dash.state.run_dir}" in question  # a runs dir of its own: the path
            await pilot.press(keep)
            await pilot.pause()
            assert app.screen is dash and not dash.control.stop_requested, keep
            assert dash.state.status == "training"
        await pilot.press("x", "y")
        await pilot_wait_until(pilot, lambda: dash.state.status == "interrupted")
        summary = json.loads((Path(dash.state.run_dir) / "summary.json").read_text())
        assert summary["status"] == "interrupted" and summary["epochs_done"] < 500
        await pilot.press("escape")  # back to the launcher once nothing trains
        await pilot.pause()
        assert isinstance(app.screen, LauncherScreen)


@pytest.mark.slow
async def test_quit_while_training_asks_then_stops(tmp_path: Path) -> None:
    from engine.config import RunConfig

    config = RunConfig(dataset="synthetic", model="mlp", epochs=500, train_limit=2000, test_limit=100,
                       runs_dir=str(tmp_path), checkpoints=False)
    app = CifarApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        await pilot_wait_until(pilot, lambda: dash.state.step > 0)
        await pilot.press("q")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmQuit"
        await pilot.press("n")  # keep training
        await pilot.pause()
        assert app.screen is dash and not dash.control.stop_requested
        await pilot.press("q", "y")
        await pilot_wait_until(pilot, lambda: not app.is_running, timeout=30)
    assert app.return_value == 130  # `cifar-tui train` exits 130 for an interrupted run
    (run_dir,) = list(tmp_path.iterdir())
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"


async def test_runs_key_opens_runs_screen_or_notifies(tmp_path: Path) -> None:
    app = CifarApp(runs_dir=str(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await form_ready(pilot)
        app.screen.query_one("#start").focus()  # a button, so 'r' is a key, not text
        await pilot.press("r")
        await pilot.pause()
        assert type(app.screen).__name__ == "RunsScreen"
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


_TRAIN_DIRECTLY = """
import asyncio, json, sys, time
from engine.config import RunConfig
from tui.app import CifarApp

async def main():
    config = RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=300, test_limit=100,
                       runs_dir=sys.argv[1], checkpoints=False)
    app = CifarApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        deadline = time.monotonic() + 120
        while dash.state.status in ("starting", "training") and time.monotonic() < deadline:
            await pilot.pause(0.1)
        print("STATUS", dash.state.status, dash.state.error)

asyncio.run(main())
"""


@pytest.mark.slow
def test_train_opens_dashboard_with_torch_not_yet_imported(tmp_path: Path) -> None:
    """`cifar-tui train` starts the run while the registry worker imports torch: both must work.

    Runs in a fresh interpreter because the race only exists while torch is not
    imported yet (earlier tests in this process have imported it).
    """
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _TRAIN_DIRECTLY, str(tmp_path)], capture_output=True,
                          text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run_dir,) = list(tmp_path.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed", summary.get("error")
    assert "STATUS completed" in proc.stdout


@pytest.mark.slow
async def test_quit_answered_after_the_run_ended_exits(tmp_path: Path) -> None:
    """q during the last steps, 'y' after the run completed: the app quits at once, exit 0."""
    from engine.config import RunConfig

    config = RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=300, test_limit=100,
                       runs_dir=str(tmp_path), checkpoints=False)
    app = CifarApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        await pilot_wait_until(pilot, lambda: dash.state.status == "training")
        await pilot.press("q")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmQuit"
        await pilot_wait_until(pilot, lambda: dash.state.status == "completed")
        await pilot.pause()
        # the question no longer says a run is training: it asks a plain quit
        assert str(app.screen.query_one("#confirm-text").render()) == "The run has ended (completed): nothing to stop. Quit?"
        assert str(app.screen.query_one("#yes").label) == "Quit (y)"
        await pilot.press("y")
        await pilot_wait_until(pilot, lambda: not app.is_running, timeout=10)
    assert app.return_value == 0
    (run_dir,) = list(tmp_path.iterdir())
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"


async def test_stop_question_goes_when_the_run_ends_first(tmp_path: Path) -> None:
    """x asks; the run ends another way (here a stop signal's path) before an answer: the question, now about
    nothing, closes with a word on why."""
    from engine.config import RunConfig

    config = RunConfig(dataset="synthetic", model="mlp", epochs=500, train_limit=2000, test_limit=100,
                       runs_dir=str(tmp_path), checkpoints=False)
    app = CifarApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        dash = app.screen
        await pilot_wait_until(pilot, lambda: dash.can_control and dash.state.step > 0)
        await pilot.press("x")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmStop"
        dash.request_stop()  # what SIGTERM does
        await pilot_wait_until(pilot, lambda: app.screen is dash, timeout=30)
        assert dash.state.status == "interrupted"
        await pilot_wait_until(pilot, lambda: any("already ended (interrupted): nothing to stop" in str(n.message)
                                                  for n in app._notifications))
