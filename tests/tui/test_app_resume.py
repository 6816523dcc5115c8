"""Resuming runs in the app: `R` on the runs screen, and `cifar-tui train --resume RUN`.

The runs are real: tiny synthetic trainings stopped at a chosen step (tui_fixtures.stopped_run),
so what the dashboard shows of the earlier epochs comes from the engine's RunStarted.history.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.training.resume import prepare_resume
from engine.training.loop import train
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.runs import RunsScreen
from tui.widgets.charts import MetricChart
from tests.helpers.pilot import cursor_to
from tests.helpers.tmux import Tmux
from tests.helpers.tui_fixtures import interrupted_run, stopped_run, tiny_config
from tests.helpers.waiting import pilot_wait_until

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def footer_keys(screen) -> list[str]:
    return [key.key for key in screen.query("FooterKey")]


async def test_resume_key_continues_the_run_live(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    short = interrupted_run(runs)  # epoch 1 of 3 done, stopped inside epoch 2
    done = Path(train(tiny_config(runs, epochs=1)).run_dir)  # completed: nothing to resume
    app = CifarApp(runs_dir=str(runs), start_screen=RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        cursor_to(screen, done)
        await pilot.pause()
        assert "R" not in screen.active_bindings and "R" not in footer_keys(screen)  # not offered
        await pilot.press("R")
        await pilot.pause()
        assert app.screen is screen
        cursor_to(screen, short)
        await pilot.pause()
        assert "R" in screen.active_bindings and "R" in footer_keys(screen)
        assert "R resumes it" in str(screen.query_one("#runs-info").render())
        await pilot.press("R")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        dash = app.screen
        assert dash.resume_dir == str(short)
        # The earlier epoch is on the dashboard as soon as the run starts, before any new one ends.
        await pilot_wait_until(pilot, lambda: dash.state.run_id == short.name)
        assert dash.state.epoch_x[:1] == [1] and any("resumed at epoch 2" in m for _, m in dash.state.log)
        await pilot_wait_until(pilot, lambda: dash.state.status == "completed")
        await pilot_wait_until(pilot, lambda: "run completed" in dash.query_one("#log").text)
        acc = dash.query_one("#acc", MetricChart)
        assert acc.points("train") == 3  # epoch 1 from before the stop, 2 and 3 trained now
        await pilot.press("escape")  # back to the runs: the run is completed in place, no new folder
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("q")
    assert app.return_value == 0  # exit_code("completed")
    assert summary(short)["status"] == "completed" and summary(short)["epochs_done"] == 3
    assert sorted(p.name for p in runs.iterdir()) == sorted([short.name, done.name])


async def test_resumed_run_stopped_again_exits_130(tmp_path: Path) -> None:
    """The app's exit code follows the resumed run (engine.runs.status.exit_code): interrupted is 130."""
    runs = tmp_path / "runs"
    run = interrupted_run(runs, epochs=400)
    app = CifarApp(runs_dir=str(runs), start_screen=RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        cursor_to(app.screen, run)
        await pilot.press("R")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        dash = app.screen
        await pilot_wait_until(pilot, lambda: dash.state.step > 0 and dash.state.status == "training")
        await pilot.press("r")  # the runs screen again, while the run trains
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is dash
        await pilot.press("x")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmStop"
        await pilot.press("y")
        await pilot_wait_until(pilot, lambda: dash.state.status == "interrupted")
        await pilot.press("q")
        await pilot_wait_until(pilot, lambda: not app.is_running, timeout=10)
    assert app.return_value == 130
    assert summary(run)["status"] == "interrupted" and summary(run)["epochs_done"] < 400


async def test_resume_refused_is_a_notification(tmp_path: Path) -> None:
    """A diverged run is offered (it is resumable) but needs a lower lr: the engine's message, no crash."""
    runs = tmp_path / "runs"
    diverged = stopped_run(runs, checks=100, lr=1e9)
    assert summary(diverged)["status"] == "diverged"
    app = CifarApp(runs_dir=str(runs), start_screen=RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        cursor_to(screen, diverged)
        await pilot.pause()
        assert "R" in screen.active_bindings
        await pilot.press("R")
        await pilot.pause()
        assert app.screen is screen
        messages = [n.message for n in app._notifications]
        assert any("diverged" in m and "lower --lr" in m for m in messages), messages
    assert summary(diverged)["status"] == "diverged"  # nothing written


async def test_train_resume_draws_earlier_epochs_and_continues(tmp_path: Path) -> None:
    """What `cifar-tui train --resume RUN --epochs 4` hands the app (tui.cli.main passes these to run_app)."""
    run = interrupted_run(tmp_path / "runs")
    config, change = prepare_resume(run, {"epochs": 4})
    app = CifarApp(config, resume=str(run), change=change)
    async with app.run_test(size=(160, 48)) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await pilot_wait_until(pilot, lambda: dash.state.run_id == run.name)
        assert dash.state.epoch_x[:1] == [1]
        await pilot_wait_until(pilot, lambda: dash.state.status == "completed")
        await pilot_wait_until(pilot, lambda: "run completed" in dash.query_one("#log").text)
        log = dash.query_one("#log").text
        assert "epoch 1/4" in log and "resumed at epoch 2" in log and "epoch 4/4" in log
        assert dash.query_one("#loss", MetricChart).points("train") == 4
        await pilot.press("q")
    assert app.return_value == 0
    assert summary(run)["status"] == "completed" and summary(run)["epochs_done"] == 4


@pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("cifar-tui") is None,
                    reason="needs tmux and the installed cifar-tui script")
def test_train_resume_in_tmux(tmp_path: Path) -> None:
    """The real binary: `cifar-tui train --resume RUN` shows epoch 1 from before and trains on."""
    runs = tmp_path / "runs"
    run = interrupted_run(runs)
    tm = Tmux(f"cifar-tui train --resume {run.name} --runs-dir {runs}", cwd=tmp_path)
    try:
        screen = tm.wait_for("COMPLETED", timeout=90)
        assert run.name in screen and "epoch 3/3" in screen
        tm.keys("5")  # the log tab at 80x24
        screen = tm.wait_for("resumed at epoch 2")
        assert "epoch 1/3" in screen  # drawn from the run's history, not trained in this session
        tm.keys("q")
        assert "EXIT=0" in tm.wait_for("EXIT=")
    finally:
        tm.close()
    assert summary(run)["status"] == "completed" and summary(run)["epochs_done"] == 3
