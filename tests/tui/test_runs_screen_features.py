"""RunsScreen and CompareScreen driven by Pilot over runs made by real training.

A minimal App of our own pushes the screens, so these tests do not depend on
the main app; a follow test trains in a separate `cifar-tui --no-ui` process
while the screen (and `watch --no-ui`) shows the run live.
"""
from __future__ import annotations

import pytest

import json
import os
import subprocess
import sys
from pathlib import Path

from textual.widgets import DataTable, Static, TabbedContent

from engine.runs import read_meta
from tests.helpers.pilot import ScreenApp, cursor_to, table_ids, text_of
from tests.helpers.runs_fixture import dead_pid, mark_running, run_named
from tests.helpers.waiting import pilot_wait_until
from tui.format import abbreviations, truncate
from tui.screens.compare import CompareScreen
from tui.screens.run_dialogs import ConfirmDialog, TextPrompt
from tui.screens.runs import RunsScreen


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


async def test_sort_by_key_and_header(runs):
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen) and len(table_ids(screen)) == 6
        await pilot.press("4")  # test acc, best first
        accs = [summary(runs / rid)["test_acc"] for rid in table_ids(screen)]
        assert accs == sorted(accs, reverse=True)
        await pilot.press("4")  # again: reversed
        accs = [summary(runs / rid)["test_acc"] for rid in table_ids(screen)]
        assert accs == sorted(accs)
        await pilot.press("3")  # best val: the run without a val split goes last either way
        assert table_ids(screen)[-1] == run_named(runs, "noval").name
        await pilot.press("1")  # name, a-z
        assert table_ids(screen) == sorted(table_ids(screen))
        assert "sorted by name ↑" in text_of(screen.query_one("#runs-state", Static))


async def test_filter_by_typing_and_escape_clears(runs):
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("slash", "c", "n", "n", "enter")
        assert table_ids(screen) == [run_named(runs, "cnn").name]
        await pilot.press("escape")
        assert len(table_ids(screen)) == 6 and screen.query_text == ""


async def test_select_and_compare_two_runs(runs):
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await pilot.press("c")  # nothing selected: a notice, no screen
        assert app.screen is screen
        first, second = table_ids(screen)[:2]
        await pilot.press("space", "space")  # space selects and moves down
        assert list(screen.selected) == [first, second]
        await pilot.press("c")
        await pilot.pause()
        cmp = app.screen
        assert isinstance(cmp, CompareScreen) and [r.run_id for r in cmp.runs] == [first, second]
        metrics = cmp.query_one("#cmp-metrics", DataTable)
        assert "test_acc" in [k.value for k in metrics.rows]
        await pilot.press("5")
        assert cmp.query_one(TabbedContent).active == "tab-confusion"
        assert "B − A" in text_of(cmp.query_one("#cmp-confusion", Static))
        await pilot.press("escape")
        assert app.screen is screen and len(screen.selected) == 2


async def test_best_two_compared_in_four_keys_and_select_all(runs):
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("down", "down", "4", "space", "space", "c")  # sort puts the cursor on the best
        await pilot.pause()
        best = sorted((summary(d)["test_acc"] for d in runs.iterdir()), reverse=True)[:2]
        assert [r.summary["test_acc"] for r in app.screen.runs] == best
        await pilot.press("escape", "escape")  # back, then clear the selection
        assert not screen.selected
        await pilot.press("slash", *"mlp", "enter", "a")
        assert len(screen.selected) == len(table_ids(screen)) == 5
        await pilot.press("a")
        assert not screen.selected


@pytest.mark.slow
async def test_compare_screen_keys_at_80x24(runs):
    dirs = [str(run_named(runs, k)) for k in ("seed1", "seed2", "seed3", "noval")]
    app = ScreenApp(lambda: CompareScreen(dirs))
    async with app.run_test(size=(80, 24)) as pilot:
        cmp = app.screen
        assert cmp.metric == "val_acc" and cmp.has_class("-narrow")
        await pilot.press("t", "w")
        assert (cmp.metric, cmp.x_axis) == ("test_acc", "wall")
        await pilot.press("l", "l")
        assert cmp.metric == "train_loss"
        legend = text_of(cmp.query_one("#cmp-legend", Static))
        assert all(r.label in legend for r in cmp.runs)
        await pilot.press("3")
        config = cmp.query_one("#cmp-config", DataTable)
        assert sorted(k.value for k in config.rows) == ["name", "seed", "val_split"]
        await pilot.press("a")
        assert config.row_count > 20
        await pilot.press("6")
        seeds = text_of(cmp.query_one("#cmp-seeds", Static))
        assert "±" in seeds and "1,2,3" in seeds
        await pilot.press("4")
        assert cmp.query_one("#cmp-classes", DataTable).row_count == 10


async def test_delete_asks_first_and_refuses_a_running_run(runs):
    victim, live = run_named(runs, "lowlr"), run_named(runs, "seed1")
    mark_running(live, os.getpid())
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        cursor_to(screen, victim)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert victim.exists() and app.screen is screen
        await pilot.press("d", "enter")  # Enter lands on "Keep": nothing deleted
        assert victim.exists()
        await pilot.press("d", "y")
        await pilot.pause()
        assert not victim.exists() and victim.name not in table_ids(screen)
        cursor_to(screen, live)
        await pilot.press("d")
        assert app.screen is screen and live.exists()  # refused without asking


async def test_unreadable_and_stale_runs_are_listed(runs):
    broken, stale = run_named(runs, "cnn"), run_named(runs, "seed2")
    (broken / "summary.json").write_text("{\"status\": ")
    mark_running(stale, dead_pid())
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        status = {e.info.run_id: e.status for e in screen.entries}
        assert status[broken.name] == "unreadable" and status[stale.name] == "stale"
        assert sum(s == "completed" for s in status.values()) == 4
        cursor_to(screen, broken)
        await pilot.pause()
        assert "corrupted" in text_of(screen.query_one("#runs-info", Static))
        await pilot.press("enter")  # opening it explains instead of crashing
        assert app.screen is screen


async def test_enter_opens_the_saved_run(runs):
    """Enter shows the run from its files in the dashboard; escape comes back."""
    good = run_named(runs, "seed1")
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        cursor_to(screen, good)
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert type(app.screen).__name__ == "DashboardScreen"
        await pilot.press("escape")
        assert app.screen is screen


@pytest.mark.slow
async def test_rename_note_tags_persist(runs):
    target = run_named(runs, "seed3")
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        cursor_to(screen, target)
        await pilot.press("e")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"best", "enter")
        await pilot.press("n", *"keep", "enter")
        await pilot.press("t", *"final,good", "enter")
        await pilot.pause()
        meta = read_meta(target)
        assert (meta.name, meta.note, meta.tags) == ("best", "keep", ["final", "good"])
        await pilot.press("slash", *"#good", "enter")
        assert table_ids(screen) == [target.name]
    app = ScreenApp(lambda: RunsScreen(str(runs)))  # a fresh screen reads the edits back
    async with app.run_test(size=(80, 24)):
        assert any(e.name == "best" for e in app.screen.entries)


async def test_export_from_the_runs_screen(runs, tmp_path):
    out = tmp_path / "picked.json"
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("space", "space", "w")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        prompt.query_one("Input").value = str(out)
        await pilot.press("enter")
        await pilot.pause()
    doc = json.loads(out.read_text())
    assert len(doc["runs"]) == 2 and all(len(r["epochs"]) >= 2 for r in doc["runs"])


@pytest.mark.slow
async def test_follow_a_headless_run_from_the_runs_screen(runs):
    """A `cifar-tui --no-ui` process trains; the screen shows it running, then completed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    trainer = subprocess.Popen(
        [sys.executable, "-m", "tui", "--no-ui", "--dataset", "synthetic", "--model", "mlp", "--epochs", "12",
         "--train-limit", "1500", "--test-limit", "200", "--no-checkpoints", "--runs-dir", str(runs),
         "--name", "live"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    watcher = None
    try:
        app = ScreenApp(lambda: RunsScreen(str(runs)))
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen

            async def wait_for(predicate, timeout: float) -> None:
                """Refresh (r) until predicate() holds; the trainer may end, but not fail, meanwhile."""
                def holds() -> bool:
                    if predicate():
                        return True
                    assert trainer.poll() in (None, 0), trainer.stderr.read().decode()
                    return False

                await pilot_wait_until(pilot, holds, timeout, interval=0.2, poke=lambda: pilot.press("r"),
                                       what=lambda: [(e.info.run_id, e.status) for e in screen.entries])

            def live_entry():
                return next((e for e in screen.entries if e.info.run_id.endswith("-live")), None)

            await wait_for(lambda: live_entry() is not None and live_entry().status == "running", 120)
            row = screen.query_one("#runs-table", DataTable).get_row(live_entry().info.run_id)
            assert "running" in str(row[2])
            watcher = subprocess.Popen([sys.executable, "-m", "tui", "watch", "--no-ui", "--interval", "0.2",
                                        "--runs-dir", str(runs)], stdout=subprocess.PIPE, text=True, env=env)
            seen_epochs = {live_entry().info.summary.get("epochs_done")}
            await wait_for(lambda: (seen_epochs.add(live_entry().info.summary.get("epochs_done"))
                                    or live_entry().status == "completed"), 120)
            assert live_entry().info.summary["epochs_done"] == 12
            assert len(seen_epochs) >= 2  # the row advanced while the run was going
        assert trainer.wait(60) == 0
        out, _ = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, out
        lines = out.splitlines()
        assert lines[0].startswith("watching ") and "-live" in lines[0]
        assert sum(line.startswith("epoch ") for line in lines) == 12
        assert lines[-1].startswith("completed: 12/12 epochs")
    finally:
        for proc in (trainer, watcher):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


async def test_an_empty_runs_directory_says_how_to_start(tmp_path):
    app = ScreenApp(lambda: RunsScreen(str(tmp_path / "nothing-here")))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c", "d", "w", "x", "p", "u", "enter", "space", "e")  # nothing to act on: no crash, no dialog
        assert isinstance(app.screen, RunsScreen)
        assert "no runs in" in text_of(app.screen.query_one("#runs-state", Static))


async def test_compare_screen_of_one_run_shows_that_run(runs):
    """The one-run view (the runs screen's stand-in when no dashboard is built): its own confusion matrix."""
    d = run_named(runs, "noval")
    app = ScreenApp(lambda: CompareScreen([str(d)]))
    async with app.run_test(size=(80, 24)) as pilot:
        cmp = app.screen
        assert cmp.metric == "test_acc"  # no val split in this run
        await pilot.press("5")
        matrix = text_of(cmp.query_one("#cmp-confusion", Static))
        assert "test confusion matrix" in matrix
        names = summary(d)["class_names"]
        assert all(truncate(name, 16) in matrix for name in names)  # rows: class names
        assert " ".join(abbreviations(names)) in " ".join(matrix.split())  # columns: as the dashboard's matrix
