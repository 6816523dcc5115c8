"""The run this app trains: opening it from the runs screen returns to its own live dashboard."""
from __future__ import annotations

import pytest

import asyncio
from pathlib import Path

from textual.widgets import DataTable

from engine.config import RunConfig
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.runs import RunsScreen
from tests.helpers.waiting import pilot_wait_until

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


async def test_enter_on_the_run_being_trained_returns_to_its_dashboard(tmp_path: Path) -> None:
    config = RunConfig(dataset="synthetic", model="mlp", epochs=50, train_limit=2000, test_limit=100,
                       batch_size=32, runs_dir=str(tmp_path))
    app = CifarApp(config)
    async with app.run_test(size=(120, 36)) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        await pilot_wait_until(pilot, lambda: dash.state.run_dir and dash.is_training)
        await pilot.press("r")
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        run = Path(dash.state.run_dir)
        table = runs.query_one("#runs-table", DataTable)
        await pilot_wait_until(pilot, lambda: run.name in [k.value for k in table.rows])
        table.move_cursor(row=table.get_row_index(run.name))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dash  # the same live dashboard, not a second copy following the files
        assert len([s for s in app.screen_stack if isinstance(s, DashboardScreen)]) == 1
        dash.request_stop()
        await pilot_wait_until(pilot, lambda: not dash.is_training)
        await asyncio.sleep(0)


async def test_escape_after_a_command_line_run_opens_the_launcher_with_its_settings(tmp_path: Path) -> None:
    """`cifar-tui train ...` ended: escape leads on to the launcher (its settings filled in), not nowhere."""
    from tui.screens.launcher import LauncherScreen

    config = RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=300, test_limit=50,
                       runs_dir=str(tmp_path), checkpoints=False)
    app = CifarApp(config)
    async with app.run_test(size=(100, 30)) as pilot:
        dash = app.screen
        await pilot_wait_until(pilot, lambda: dash.state.phase == "completed")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LauncherScreen)
        built, _ = app.screen.build_config(check=False)
        assert built is not None and (built.model, built.epochs) == ("mlp", 1)
