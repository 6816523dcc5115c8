"""The runs screen kept cheap at many runs (tui/screens/runs_rows.py): an idle poll leaves the table alone, a
selection or a running run's progress changes cells in place, and hundreds of runs (hard-linked copies of a
real run, as benchmarks/many_runs.py makes them) list, come and go as one run does."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from engine.events import StepDone
from engine.runs.index_file import INDEX_FILE
from engine.runs.progress import PROGRESS_FILE, progress_record
from tests.helpers.pilot import ScreenApp, cursor_to, table_ids, text_of, workers_settled
from tests.helpers.runs_fixture import mark_running, run_named
from tests.helpers.waiting import pilot_wait_until
from tui.screens import runs_rows
from tui.screens.runs import RunsScreen


class TableCalls:
    """How often the screen rebuilt the table (clear) and changed a cell in place (update_cell)."""

    def __init__(self, table: DataTable) -> None:
        self.clears, self.updates = 0, []
        clear, update = table.clear, table.update_cell

        def counting_clear(*args, **kwargs):
            self.clears += 1
            return clear(*args, **kwargs)

        def counting_update(row, column, value, **kwargs):
            self.updates.append((row, column))
            return update(row, column, value, **kwargs)

        table.clear, table.update_cell = counting_clear, counting_update


def write_progress(run: Path, step: int, elapsed: float) -> None:
    (run / PROGRESS_FILE).write_text(json.dumps(progress_record(StepDone(1, step, 30, 1.5, 0.05, 850.0, elapsed,
                                                                         30.0, None, None))))


async def polls(pilot, screen: RunsScreen, n: int) -> None:
    """n background scans, as the timer runs them, each seen through to the screen."""
    for _ in range(n):
        screen.scan_in_background()
        await workers_settled(pilot)
        await pilot.pause()


@pytest.fixture
def writer():
    """A live process of ours that stands for a run's writer."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


async def test_an_idle_poll_leaves_the_table_alone_and_space_changes_one_cell(runs):
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await workers_settled(pilot)
        table = screen.query_one("#runs-table", DataTable)
        calls, entries = TableCalls(table), screen.entries
        await polls(pilot, screen, 3)
        assert screen.entries is entries and (calls.clears, calls.updates) == (0, [])
        target = run_named(runs, "seed2")
        cursor_to(screen, target)
        await pilot.press("space")
        assert calls.clears == 0 and calls.updates == [(target.name, "sel")]
        assert str(table.get_row(target.name)[0]) == "●"


async def test_a_running_runs_progress_changes_its_cells_in_place(runs, writer):
    live = run_named(runs, "seed1")
    mark_running(live, writer.pid)
    write_progress(live, 12, 12.0)
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        table = screen.query_one("#runs-table", DataTable)
        await workers_settled(pilot)
        calls = TableCalls(table)
        write_progress(live, 20, 20.0)

        def epochs() -> str:
            return str(table.get_row(live.name)[[c.key.value for c in table.ordered_columns].index("epochs")])

        await pilot_wait_until(pilot, lambda: epochs() == "1/3 67%", timeout=10)
        assert calls.clears == 0 and {row for row, _ in calls.updates} == {live.name}


async def test_hundreds_of_runs_list_come_and_go(runs):
    source = run_named(runs, "seed3")
    for i in range(250):
        shutil.copytree(source, runs / f"20200101-{i:06d}-mlp-scratch", copy_function=os.link)
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert text_of(screen.query_one("#runs-state", Static)).startswith("256 runs")
        await pilot_wait_until(pilot, lambda: len(table_ids(screen)) == 256, timeout=30)  # FIRST_ROWS, then the rest
        await polls(pilot, screen, 1)
        assert (runs / INDEX_FILE).is_file()  # kept from 100 runs on: the next listing reads one file
        shutil.rmtree(runs / "20200101-000007-mlp-scratch")
        newcomer = runs / "20991231-000000-mlp-scratch"
        shutil.copytree(source, newcomer, copy_function=os.link)
        # A new order rebuilds the table: its first rows, then the rest a chunk per refresh.
        await pilot_wait_until(pilot, lambda: newcomer.name in table_ids(screen) and len(table_ids(screen)) == 256,
                               timeout=30)
        assert "20200101-000007-mlp-scratch" not in table_ids(screen)
        listed = table_ids(screen)
    app = ScreenApp(lambda: RunsScreen(str(runs)))  # a fresh screen: from the index, the same rows
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot_wait_until(pilot, lambda: len(table_ids(app.screen)) == 256, timeout=30)  # the fill, again
        assert table_ids(app.screen) == listed


async def test_a_long_table_is_drawn_before_all_its_rows_are_in_and_end_goes_to_the_last(runs, monkeypatch):
    monkeypatch.setattr(runs_rows, "FIRST_ROWS", 10)
    monkeypatch.setattr(runs_rows, "FILL_CHUNK", 20)
    source = run_named(runs, "seed1")
    for i in range(94):
        shutil.copytree(source, runs / f"20200101-{i:06d}-mlp-scratch", copy_function=os.link)
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("#runs-table", DataTable)
        assert text_of(screen.query_one("#runs-state", Static)).startswith("100 runs")  # not '10 shown'
        await pilot.press("end")  # before the fill is done: every row is added first
        assert table.row_count == 100 and table.cursor_row == 99
        assert table_ids(screen) == [e.run_id for e in screen.shown_entries()]
        await pilot.press("home", "space")
        assert str(table.get_row_at(0)[0]) == "●"
