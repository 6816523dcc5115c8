"""The sweep screen on real sweeps (tests/helpers/sweep_fixture.py): its rows, the scatter's param, the
importance panel, compare and the dashboard from it, the runs screen's S, and the sweep run in the app."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from engine.sweeps.watch import SweepWatch
from tests.helpers.pilot import ScreenApp, cursor_to, text_of
from tests.helpers.waiting import pilot_wait_until
from tui.app import CifarApp
from tui.screens.compare import CompareScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.run_dialogs import ChoicePrompt
from tui.screens.runs import RunsScreen
from tui.screens.sweep import SweepScreen
from tui.widgets.param_scatter import ParamScatter, axis


def trial_dirs(runs: Path) -> dict[int, Path]:
    """Trial number -> its run directory (the runs a sweep made are named NAME-tN)."""
    found = [p for p in runs.iterdir() if (p / "summary.json").is_file() and "-t" in p.name]
    return {int(p.name.rpartition("-t")[2]): p for p in found if p.name.rpartition("-t")[2].isdigit()}


def best_val(run: Path) -> float:
    return json.loads((run / "summary.json").read_text())["best_acc"]


async def opened(pilot) -> SweepScreen:
    """Wait for the sweep screen's first read of the sweep."""
    await pilot_wait_until(pilot, lambda: isinstance(pilot.app.screen, SweepScreen) and pilot.app.screen.snap)
    await pilot.pause()
    return pilot.app.screen


def row_order(screen: SweepScreen) -> list[int]:
    return [int(k.value) for k in screen.query_one(DataTable).rows]


async def test_trials_are_rows_best_val_first_and_importance_waits_for_enough(pair_sweep: Path) -> None:
    app = ScreenApp(lambda: SweepScreen(pair_sweep, "pair"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        runs = trial_dirs(pair_sweep)
        assert row_order(screen) == sorted(runs, key=lambda n: -best_val(runs[n]))
        assert "2 completed" in text_of(screen.query_one("#sweep-state", Static))
        line = text_of(screen.query_one("#sweep-imp-line", Static))
        assert "after 5 completed trials: 3 more needed" in line
        info = text_of(screen.query_one("#sweep-info", Static))
        assert runs[row_order(screen)[0]].name in info  # the cursor's trial: its run


async def test_enter_opens_the_trials_dashboard_and_c_compares_the_best(pair_sweep: Path) -> None:
    app = ScreenApp(lambda: SweepScreen(pair_sweep, "pair"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        runs = trial_dirs(pair_sweep)
        order = row_order(screen)
        await pilot.press("down", "enter")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert Path(app.screen.run_dir or "") == runs[order[1]]
        await pilot.press("escape")
        await pilot_wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("c")  # nothing selected: the best trials, best first
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert [Path(d) for d in app.screen.run_dirs] == [runs[n] for n in order]


async def test_S_on_the_runs_screen_opens_a_trials_sweep_or_offers_the_sweeps(pair_sweep: Path) -> None:
    from engine.sweeps.definition import SweepDefinition, check_shape
    from engine.sweeps.space import parse_params
    from engine.sweeps.storage import open_sweep
    from engine.training.loop import train
    from tests.helpers.tui_fixtures import tiny_config

    plain = Path(train(tiny_config(pair_sweep, epochs=1, name="plain")).run_dir)  # no trial of any sweep
    app = ScreenApp(lambda: RunsScreen(str(pair_sweep)))
    async with app.run_test(size=(120, 30)) as pilot:
        runs = app.screen
        cursor_to(runs, trial_dirs(pair_sweep)[1])
        await pilot.press("S")
        sweep = await opened(pilot)
        assert sweep.sweep_name == "pair"
        await pilot.press("escape")
        await pilot_wait_until(pilot, lambda: app.screen is runs)
        cursor_to(runs, plain)
        await pilot.press("S")  # the only sweep there
        assert (await opened(pilot)).sweep_name == "pair"
        await pilot.press("escape")
        await pilot_wait_until(pilot, lambda: app.screen is runs)
        defn = check_shape(SweepDefinition("later", {"dataset": "synthetic"}, parse_params(["lr=0.1,0.2"])), None)
        open_sweep(pair_sweep, "later", defn=defn)  # a second sweep, not started yet
        await pilot.press("S")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, ChoicePrompt))
        assert app.screen.choices == ["later", "pair"]
        await pilot.press("enter")  # the first: 'later', whose two trials wait
        later = await opened(pilot)
        assert later.sweep_name == "later" and later.snap is not None and later.snap.table.counts["waiting"] == 2


async def test_the_sweep_runs_in_the_app_and_its_end_is_the_exit_code(pair_sweep: Path) -> None:
    """`cifar-tui sweep pair` again: the driver (in the screen's worker) has nothing left to run; q exits 0."""
    from engine.sweeps.driver import Options
    from engine.sweeps.storage import open_sweep
    from engine.sweeps.trial import SweepContext
    from tui.cli.sweep import trial_command

    sweep = open_sweep(pair_sweep, "pair")
    ctx = SweepContext(sweep.study, sweep.defn, str(pair_sweep), sweep.folder, trial_command, sweep.where)
    screen = SweepScreen.running(ctx, Options(parallel=2))
    app = CifarApp(runs_dir=str(pair_sweep), start_screen=screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot_wait_until(pilot, lambda: app.sweep_exit is not None)
        assert screen.drive == "finished" and not screen.drives
        await pilot.pause()
        assert "finished" in text_of(screen.query_one("#sweep-state", Static))
        await pilot.press("q")
    assert app.return_code == 0


@pytest.mark.slow
async def test_p_cycles_the_scatters_param_and_importance_shows_with_enough_trials(grid_sweep: Path) -> None:
    app = ScreenApp(lambda: SweepScreen(grid_sweep, "grid"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(pilot)
        scatter = screen.query_one(ParamScatter)
        assert scatter.points is not None and scatter.points.param == "lr" and len(scatter.points.values) == 6
        assert axis(scatter.points)[1].x_names == ("0.003", "0.03", "0.3")  # a list: its values, evenly spaced
        await pilot.press("p")
        assert scatter.points.param == "batch_size" and "batch_size" in str(scatter.border_title)
        assert axis(scatter.points)[1].x_names == ("25", "50")
        await pilot.press("p")
        assert scatter.points.param == "lr"
        box = text_of(screen.query_one("#sweep-imp-box", Static))
        assert "PED-ANOVA over 6 completed trials" in box and "lr" in box and "batch_size" in box
        importances = SweepWatch(grid_sweep, "grid").read().table.importances
        assert set(importances) == {"lr", "batch_size"}
        assert all(f"{v:.2f}" in box for v in importances.values())


@pytest.mark.slow
async def test_c_compares_the_selected_trials_in_the_order_selected(grid_sweep: Path) -> None:
    app = ScreenApp(lambda: SweepScreen(grid_sweep, "grid"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        runs = trial_dirs(grid_sweep)
        order = row_order(screen)
        assert [best_val(runs[n]) for n in order] == sorted((best_val(r) for r in runs.values()), reverse=True)
        await pilot.press("down", "down", "space", "up", "up", "up", "space")  # the third, then the first
        await pilot.press("c")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert [Path(d) for d in app.screen.run_dirs] == [runs[order[2]], runs[order[0]]]
        await pilot.press("escape")
        await pilot_wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("escape", "c")  # escape clears the selection: c compares the best four
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert [Path(d) for d in app.screen.run_dirs] == [runs[n] for n in order[:4]]
