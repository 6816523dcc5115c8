"""On the runs screen, l starts a new run like the one under the cursor: the launcher opens with that
run's settings (its config.json, minus its name and runs directory)."""
from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input, Select

from engine.config import RunConfig
from tui.app import CifarApp
from tui.screens.launcher import LauncherScreen
from tui.screens.runs import RunsScreen
from tui.screens.runs_actions import like_config
from tests.helpers.pilot import cursor_to, form_ready, table_ids, workers_settled
from tests.helpers.waiting import pilot_wait_until


def _run(runs: Path, run_id: str, **settings: object) -> Path:
    path = runs / run_id
    path.mkdir(parents=True)
    config = RunConfig(runs_dir="/elsewhere", name="first-try", **settings)  # type: ignore[arg-type]
    (path / "config.json").write_text(json.dumps(config.to_dict()))
    (path / "summary.json").write_text(json.dumps({"status": "completed", "test_acc": 0.5, "epochs": 1}))
    return path


def test_the_new_run_keeps_the_settings_not_the_bookkeeping(tmp_path: Path) -> None:
    recorded = RunConfig(model="mlp", lr=0.003, runs_dir="/elsewhere", name="first-try").to_dict()
    base = like_config(recorded, str(tmp_path))
    assert (base.model, base.lr, base.runs_dir, base.name) == ("mlp", 0.003, str(tmp_path), None)


async def test_l_opens_the_launcher_filled_with_the_runs_settings(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _run(runs, "20261101-090000-cnn-scratch", dataset="synthetic", model="cnn", lr=0.05, epochs=3)
    liked = _run(runs, "20261102-090000-mlp-scratch", dataset="synthetic", model="mlp", lr=0.0123, epochs=7,
                 optimizer="adamw")
    app = CifarApp(runs_dir=str(runs), start_screen=RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot_wait_until(pilot, lambda: len(table_ids(screen)) == 2)
        cursor_to(screen, liked)
        await pilot.press("l")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, LauncherScreen))
        launcher = app.screen
        await form_ready(pilot)
        assert launcher.query_one("#model", Input).value == "mlp"
        assert launcher.query_one("#lr", Input).value == "0.0123"
        assert launcher.query_one("#epochs", Input).value == "7"
        assert launcher.query_one("#optimizer", Select).value == "adamw"
        assert launcher.query_one("#dataset", Select).value == "synthetic"
        config, problems = launcher.build_config()
        assert not problems and config.runs_dir == str(runs) and config.name is None
        await workers_settled(pilot)
