"""Every key the help lists does something on that screen: it is bound there (by the screen, one of
its widgets or the app), and the help opened on a screen shows that screen's keys."""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.screen import Screen

from engine.config import RunConfig
from tui.app import CifarApp
from tui.screens.compare import CompareScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.features import FeaturesScreen
from tui.screens.images import MistakesScreen, cell_screen
from tui.screens.predict import PredictScreen
from tui.screens.samples import SamplesScreen
from tui.screens.help import EVERYWHERE, SCREENS, HelpScreen, keys_for
from tui.screens.launcher import LauncherScreen
from tui.screens.runs import RunsScreen
from tui.screens.sweep import SweepScreen
from tests.helpers.tui_fixtures import dashboard_events


def bound_keys(app: CifarApp, screen: Screen) -> set[str]:
    """Every key bound on the screen, any widget on it, or the app (what a key press can reach)."""
    keys: set[str] = set()
    for node in [app, screen, *screen.query("*")]:
        keys.update(node._bindings.key_to_bindings)
    return keys | {"ctrl+p"}  # the command palette is Textual's own (App.COMMAND_PALETTE_BINDING)


def _screens(runs_dir: Path, completed_runs: list[Path]) -> dict[str, Screen]:
    base = RunConfig(dataset="synthetic", runs_dir=str(runs_dir))
    return {
        "LauncherScreen": LauncherScreen(runs_dir=str(runs_dir), base=base),
        "DashboardScreen": DashboardScreen.for_events(dashboard_events()),
        "RunsScreen": RunsScreen(str(runs_dir)),
        "CompareScreen": CompareScreen([str(p) for p in completed_runs[:2]], runs_dir=str(runs_dir)),
        "SweepScreen": SweepScreen(str(runs_dir), "no-such-sweep"),  # its keys are bound with or without one
        "ImagesScreen": cell_screen(str(completed_runs[0]), 0, 0),
        "MistakesScreen": MistakesScreen(str(completed_runs[0])),
        "SamplesScreen": SamplesScreen(str(completed_runs[0])),
        "PredictScreen": PredictScreen(str(completed_runs[0])),
        "FeaturesScreen": FeaturesScreen([str(p) for p in completed_runs[:2]]),
    }


@pytest.mark.parametrize("name", sorted(SCREENS))
async def test_every_listed_key_is_bound_on_its_screen(name: str, runs: Path) -> None:
    screen = _screens(runs, sorted(p for p in runs.iterdir() if (p / "summary.json").exists()))[name]
    app = CifarApp(runs_dir=str(runs), start_screen=screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        bound = bound_keys(app, screen)
        for _, keys in keys_for(name):
            for key in keys:
                assert set(key.keys) <= bound, f"{name}: help lists {key.shown!r} but {set(key.keys) - bound} is unbound"
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and app.screen.screen_name == name


def test_the_screen_takes_over_the_apps_keys_in_its_help() -> None:
    """On the runs screen r refreshes: the help shows that, not 'r: saved runs'."""
    sections = dict(keys_for("RunsScreen"))
    assert all("r" not in key.keys for key in sections["everywhere"])
    assert any(key.keys == ("r",) and "re-read" in key.does for key in sections["runs"])
    assert [k.shown for k in dict(keys_for("LauncherScreen"))["everywhere"]] == [k.shown for k in EVERYWHERE]
