"""Snapshot tests (pytest-textual-snapshot) of the launcher and the dashboard at 80x24 and 160x48, and the
sweep screen at 80x24.

The dashboard is fed fabricated events (tests/helpers/tui_fixtures.py), never a live
run, and the launcher's machine-dependent line (the device) is pinned, so the
SVGs are the same on every machine. Update with ``pytest --snapshot-update``.
"""
from __future__ import annotations

import pytest

from engine.config import RunConfig
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.launcher import LauncherScreen
from tests.helpers.pilot import workers_settled
from tests.helpers.tui_fixtures import dashboard_events

SIZES = [(80, 24), (160, 48)]


def _dashboard_app() -> CifarApp:
    return CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(dashboard_events()))


def _launcher_app() -> CifarApp:
    # A data path that never exists: the snapshot shows the "dataset missing" banner on every machine.
    # Absolute paths that exist on no machine: the launcher shows paths absolute, and a path under
    # this checkout would differ between machines.
    base = RunConfig(data_dir="/nonexistent/no-such-dir", runs_dir="/nonexistent/tmp-runs")
    return CifarApp(runs_dir=base.runs_dir, start_screen=LauncherScreen(runs_dir=base.runs_dir, base=base))


async def _launcher_ready(pilot) -> None:
    """Wait for the background torch import and the parameter count, then pin the device line."""
    app = pilot.app
    for _ in range(300):
        screen = app.screen
        if app.registry and isinstance(screen, LauncherScreen) and screen.info["params"][0].isdigit():
            break
        await pilot.pause(0.05)
    # A second count may still be in flight (the dataset check re-renders the form): let every
    # worker finish first, or its answer lands after the pin and the real device shows up again.
    await workers_settled(pilot)
    await pilot.pause()
    screen = app.screen
    screen.info["device"] = "cpu"  # "cpu (N threads)" / a GPU name differ between machines
    screen._render_info()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_snapshot(snap_compare, size) -> None:
    assert snap_compare(_dashboard_app(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_launcher_snapshot(snap_compare, size) -> None:
    assert snap_compare(_launcher_app(), terminal_size=size, run_before=_launcher_ready)


def test_dashboard_snapshot_matrix_tab_normalised(snap_compare) -> None:
    """80x24: the confusion tab, row-normalised (keys 4 then n)."""
    assert snap_compare(_dashboard_app(), terminal_size=(80, 24), press=["4", "n"])


async def _grid_filled(pilot) -> None:
    from tui.widgets.image_grid import ImageGrid

    for _ in range(300):
        grids = pilot.app.screen.query(ImageGrid)
        if grids and grids.first().items:
            break
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_drill_down_snapshot(snap_compare, size, tmp_path) -> None:
    """The test images of one confusion cell (class 0 predicted as 5), most confident first."""
    from tui.screens.images import cell_screen
    from tests.helpers.tui_fixtures import drill_run

    run = drill_run(tmp_path)
    app = CifarApp(runs_dir=str(run.parent), start_screen=cell_screen(str(run), 0, 5))
    assert snap_compare(app, terminal_size=size, run_before=_grid_filled)


async def _sweep_read(pilot) -> None:
    from tui.screens.sweep import SweepScreen

    for _ in range(600):
        screen = pilot.app.screen
        if isinstance(screen, SweepScreen) and screen.snap is not None:
            break
        await pilot.pause(0.05)
    await workers_settled(pilot)
    await pilot.pause()


def test_sweep_snapshot(snap_compare, tmp_path) -> None:
    """80x24: a finished sweep whose numbers come from formulas (tests/helpers/sweep_fixture.formula_sweep)."""
    from tui.screens.sweep import SweepScreen
    from tests.helpers.sweep_fixture import formula_sweep

    runs = formula_sweep(tmp_path / "runs")
    app = CifarApp(runs_dir=str(runs), start_screen=SweepScreen(runs, "snap"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_sweep_read)
