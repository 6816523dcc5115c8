"""The runs screen for daily use: a running run's row live from progress.json, columns of one's own choosing
(remembered), p / x on a run another process trains, delete into the trash with u to undo, and an export
that says where the file went."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, SelectionList, Static

from engine.events import StepDone
from engine.runs.progress import PROGRESS_FILE, progress_record, read_progress
from engine.runs.remote import CONTROL_FILE
from tests.helpers.pilot import ScreenApp, cursor_to, table_ids, text_of
from tests.helpers.runs_fixture import mark_running, run_named
from tests.helpers.waiting import pilot_wait_until
from tui import settings
from tui.screens.confirm import ConfirmStop
from tui.screens.run_dialogs import ConfirmDialog, TextPrompt
from tui.screens.runs import RunsScreen
from tui.screens.runs_columns import ColumnPicker


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def row_text(screen: RunsScreen, run: Path) -> dict[str, str]:
    """The run's row as column key -> plain text."""
    table = screen.query_one("#runs-table", DataTable)
    keys = [c.key.value for c in table.ordered_columns]
    return dict(zip(keys, (str(c) for c in table.get_row(run.name))))


def headers(screen: RunsScreen) -> list[str]:
    """The column headers after the selection mark's."""
    return [str(c.label) for c in screen.query_one("#runs-table", DataTable).ordered_columns][1:]


@pytest.fixture
def writer():
    """A live process of ours that stands for a run's writer (a --no-ui run started elsewhere)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def write_progress(run: Path, epoch: int, step: int, steps: int, elapsed: float, **extra) -> None:
    record = progress_record(StepDone(epoch, step, steps, 1.5, 0.05, 850.0, elapsed, 30.0, None, None))
    (run / PROGRESS_FILE).write_text(json.dumps({**record, **extra}))


# ------------------------------------------------------------------ a running run, live


async def test_a_running_runs_row_follows_its_progress_file(runs, writer):
    run = run_named(runs, "seed2")
    mark_running(run, writer.pid)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "epochs_done": 0, "wall_time_s": 0.3}))
    write_progress(run, 1, 12, 30, 12.4)
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        row = row_text(screen, run)
        assert (row["status"], row["epochs"], row["wall"], row["rate"]) == ("running", "1/3 40%", "12s", "850")
        cursor_to(screen, run)
        await pilot.pause()
        info = text_of(screen.query_one("#runs-info", Static))
        assert "running: epoch 1 of 3, step 12/30 (40%) · 12s trained · about 30s left" in info
        write_progress(run, 2, 3, 30, 20.0, paused=True)  # the next scan shows it, without a key
        await pilot_wait_until(pilot, lambda: row_text(screen, run)["epochs"] == "2/3 10%", timeout=10)
        assert row_text(screen, run)["status"] == "paused"


# ------------------------------------------------------------------ columns


async def test_columns_chosen_with_v_show_and_are_remembered(runs):
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await pilot.press("v")
        picker = app.screen
        assert isinstance(picker, ColumnPicker)
        options = picker.query_one(SelectionList)
        values = [options.get_option_at_index(i).value for i in range(options.option_count)]
        for key in ("lr", "batch_size", "aug", "seed", "rate", "strategy"):  # the last two: default ones taken away
            options.highlighted = values.index(key)
            await pilot.press("space")
        await pilot.press("escape")
        assert app.screen is screen
        shown = headers(screen)
        assert shown[:8] == ["name", "status", "best val", "test acc", "lr", "batch size", "augmentation", "seed"]
        assert "img/s" not in shown and "strategy" not in shown
        lowlr = row_text(screen, run_named(runs, "lowlr"))
        assert (lowlr["lr"], lowlr["batch_size"], lowlr["aug"], lowlr["seed"]) == ("0.005", "50", "crop flip", "1")
        await pilot.press("5")  # digit n sorts by the n-th column shown: lr, as numbers, smallest first
        assert table_ids(screen)[0] == run_named(runs, "lowlr").name and "sorted by lr ↑" in text_of(
            screen.query_one("#runs-state", Static))
    saved = json.loads((settings.config_dir() / settings.FILE).read_text())
    assert saved["runs_columns"][-4:] == ["lr", "batch_size", "aug", "seed"]
    app = ScreenApp(lambda: RunsScreen(str(runs)))  # the next session
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert headers(app.screen)[4:8] == ["lr", "batch", "aug", "seed"]  # short names where the width is short


def test_the_settings_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_TUI_CONFIG", str(tmp_path / "mine"))
    assert settings.put("x", [1]) is None and settings.get("x") == [1]
    assert (tmp_path / "mine" / "settings.json").exists()
    monkeypatch.delenv("CIFAR_TUI_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert settings.config_dir() == tmp_path / "xdg" / "cifar-tui"
    (tmp_path / "xdg" / "cifar-tui").mkdir(parents=True)
    (tmp_path / "xdg" / "cifar-tui" / "settings.json").write_text("{not json")
    assert settings.load() == {}  # a broken file is no preference, never a crash


# ------------------------------------------------------------------ p and x on a run trained elsewhere


async def test_p_and_x_ask_a_run_trained_elsewhere(runs, writer):
    run, done = run_named(runs, "seed2"), run_named(runs, "seed1")
    mark_running(run, writer.pid)
    write_progress(run, 1, 5, 30, 3.0)
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        cursor_to(screen, done)
        await pilot.press("p", "x")
        assert app.screen is screen and not (done / CONTROL_FILE).exists()
        assert any("is completed: p pauses and x stops a run while it trains (w exports)" in m for m in notices(app))
        cursor_to(screen, run)
        await pilot.pause()
        footer = [k.key for k in screen.query("FooterKey")]
        assert "p" in footer and "x" in footer
        await pilot.press("p")
        assert json.loads((run / CONTROL_FILE).read_text())["action"] == "pause"
        write_progress(run, 1, 5, 30, 3.0, paused=True)  # the writer obeyed
        await pilot.press("r")
        await pilot_wait_until(pilot, lambda: screen.live.get(run.name, {}).get("paused") is True, timeout=10)
        await pilot.press("p")
        assert json.loads((run / CONTROL_FILE).read_text())["action"] == "resume"
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmStop)
        await pilot.press("enter")  # the safe default: keep training
        assert json.loads((run / CONTROL_FILE).read_text())["action"] == "resume"
        await pilot.press("x", "y")
        assert json.loads((run / CONTROL_FILE).read_text())["action"] == "stop"
        assert any("asked" in m and "to stop" in m for m in notices(app))


async def test_p_says_in_one_line_why_a_run_cannot_be_asked(runs, writer):
    torchrun, here = run_named(runs, "seed2"), run_named(runs, "seed3")
    mark_running(torchrun, writer.pid)
    config = json.loads((torchrun / "config.json").read_text())
    (torchrun / "config.json").write_text(json.dumps({**config, "distributed": {"world_size": 2}}))
    mark_running(here, os.getpid())  # the run this app trains: its dashboard controls it
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        cursor_to(screen, torchrun)
        await pilot.press("p")
        assert any("torchrun job" in m and "cannot pause" in m for m in notices(app))
        cursor_to(screen, here)
        await pilot.press("x")
        assert app.screen is screen and any("trains in this app" in m for m in notices(app))
    assert not (torchrun / CONTROL_FILE).exists() and not (here / CONTROL_FILE).exists()


# ------------------------------------------------------------------ delete into the trash, u undoes


async def test_delete_moves_runs_to_the_trash_and_u_brings_them_back(runs):
    first, second = run_named(runs, "seed1"), run_named(runs, "lowlr")
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("u")  # nothing deleted here yet: says so, restores nothing
        assert any("nothing deleted here to undo" in m for m in notices(app))
        cursor_to(screen, first)
        await pilot.press("space")
        cursor_to(screen, second)
        await pilot.press("space", "d")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and "trash" in dialog.body and "u undoes" in dialog.body
        await pilot.press("y")
        await pilot.pause()
        assert not first.exists() and (runs / ".trash" / first.name).is_dir()
        assert first.name not in table_ids(screen) and len(table_ids(screen)) == 4
        assert any("moved 2 runs to the trash: u undoes it" in m for m in notices(app))
        assert "u" in [k.key for k in screen.query("FooterKey")]
        await pilot.press("u")
        await pilot.pause()
        assert first.is_dir() and second.is_dir() and len(table_ids(screen)) == 6
        assert any("restored 2 runs" in m for m in notices(app))


# ------------------------------------------------------------------ export


async def test_the_export_toast_names_an_absolute_path(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("w")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt) and str(tmp_path) in prompt.hint
        prompt.query_one("Input").value = "picked.csv"
        await pilot.press("enter")
        await pilot.pause()
        assert any(f"to {tmp_path / 'picked.csv'}" in m for m in notices(app)), notices(app)
    assert (tmp_path / "picked.csv").exists()


# ------------------------------------------------------------------ a real run started elsewhere


@pytest.mark.slow
async def test_a_headless_run_shows_live_then_pauses_and_stops_from_the_runs_screen(tmp_path):
    runs = tmp_path / "runs"
    trainer = subprocess.Popen(
        [sys.executable, "-m", "tui", "--no-ui", "--dataset", "synthetic", "--model", "cnn", "--epochs", "50",
         "--train-limit", "2000", "--test-limit", "200", "--batch-size", "32", "--runs-dir", str(runs)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        app = ScreenApp(lambda: RunsScreen(str(runs)))
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen

            def run() -> Path | None:
                return next((e.info.path for e in screen.entries if e.info.run_id in screen.live), None)

            await pilot_wait_until(pilot, lambda: run() is not None, timeout=120, poke=lambda: pilot.press("r"))
            path = run()
            assert path is not None
            assert row_text(screen, path)["epochs"].startswith("1/50 ")  # inside the first epoch, with its share
            cursor_to(screen, path)
            await pilot.press("p")
            await pilot_wait_until(pilot, lambda: (read_progress(path) or {}).get("paused") is True, timeout=20)
            await pilot_wait_until(pilot, lambda: row_text(screen, path)["status"] == "paused", timeout=10)
            await pilot.press("x", "y")
            deadline = time.monotonic() + 60
            while trainer.poll() is None and time.monotonic() < deadline:
                await pilot.pause(0.2)
        out, _ = trainer.communicate(timeout=60)
        assert trainer.returncode == 130, out  # interrupted, resumable
        assert json.loads((path / "summary.json").read_text())["status"] == "interrupted"
    finally:
        if trainer.poll() is None:
            trainer.kill()
            trainer.wait()
