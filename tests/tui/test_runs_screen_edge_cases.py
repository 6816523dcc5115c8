"""The runs and compare screens as a daily user drives them, by Pilot over real run directories.

Selections under a filter, telling same-named runs apart at 80 columns, Home/End,
compare opened on its own, unreadable runs, background scans.
"""
from __future__ import annotations

import pytest

import json
import os
import shutil
import threading

from textual import events
from textual.widgets import DataTable, Input, Static

from engine.runs import read_meta, set_name, set_tags
from tests.helpers.runs_fixture import mark_running, run_named
from tests.helpers.pilot import ScreenApp, cursor_to, table_ids, text_of
from tests.helpers.waiting import pilot_wait_until
from tui.screens import compare as compare_module
from tui.screens.compare import CompareScreen
from tui.screens.run_dialogs import ConfirmDialog, TextPrompt
from tui.screens.runs import RunsScreen


async def test_visible_is_textuals_and_shown_entries_lists_the_rows(runs):
    """RunsScreen.visible is Textual's flag again (it was shadowed by a method); shown_entries() is the rows."""
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert screen.visible is True
        await pilot.press("slash", *"noval", "enter")
        assert [e.info.run_id for e in screen.shown_entries()] == table_ids(screen)
        assert len(table_ids(screen)) == 1 and screen.query_one("#runs-table", DataTable).visible


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


async def select_then_filter(pilot, select: str, show: str) -> None:
    """Select every run matching `select`, then filter to `show` (keys as typed)."""
    await pilot.press("slash", *select, "enter", "a")
    if select:
        await pilot.press("escape")  # clears the filter (the selection stays)
    await pilot.press("slash", *show, "enter")


async def test_delete_leaves_selected_runs_the_filter_hides(runs):
    cnn = run_named(runs, "cnn")
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("a")  # all six
        await pilot.press("slash", *"mlp", "enter")  # the cnn run is out of sight
        assert len(screen.selected) == 6 and len(table_ids(screen)) == 5
        assert "6 selected (1 hidden by the filter)" in text_of(screen.query_one("#runs-state", Static))
        await pilot.press("d")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog) and dialog.title_text == "Delete 5 runs?"
        assert "1 selected run is hidden by the filter and left out: not deleted" in dialog.body
        assert "seed=2" in dialog.body  # one run a line, told apart as in the table
        await pilot.press("y")
        await pilot.pause()
        assert sorted(p.name for p in runs.iterdir() if p.name != ".trash") == [cnn.name]  # the rest: in the trash
        assert [e.info.run_id for e in screen.entries] == [cnn.name] and list(screen.selected) == [cnn.name]


@pytest.mark.slow
async def test_nothing_happens_when_the_filter_hides_the_whole_selection(runs):
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await select_then_filter(pilot, "cnn", "noval")
        for key in ("d", "w", "n", "t", "c"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, key  # no dialog: the one shown run is not selected
        assert len(list(runs.iterdir())) == 6
        assert sum("hidden by the filter: nothing to" in m for m in notices(app)) == 5


@pytest.mark.slow
async def test_export_and_compare_take_only_the_shown_selection(runs, tmp_path):
    out = tmp_path / "shown.json"
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await select_then_filter(pilot, "", "mlp")  # six selected, five shown
        shown = table_ids(screen)
        await pilot.press("w")
        prompt = app.screen
        assert isinstance(prompt, TextPrompt) and prompt.title_text.startswith("Export 5 run(s)")
        prompt.query_one("Input").value = str(out)
        await pilot.press("enter")
        await pilot.pause()
        assert any("1 selected run is hidden by the filter" in m for m in notices(app))
        await pilot.press("c")
        await pilot.pause()
        cmp = app.screen
        assert isinstance(cmp, CompareScreen) and len(cmp.runs) == 5
        assert run_named(runs, "cnn").name not in [r.run_id for r in cmp.runs]
    doc = json.loads(out.read_text())
    assert sorted(r["run_id"] for r in doc["runs"]) == sorted(shown)


@pytest.mark.slow
async def test_note_and_tags_apply_to_every_shown_selected_run(runs):
    seeds = [run_named(runs, k) for k in ("seed1", "seed2", "seed3")]
    set_tags(seeds[0], "mine shared")
    set_tags(seeds[1], "shared")
    set_tags(seeds[2], "shared other")
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        for d in [*seeds, run_named(runs, "cnn")]:
            cursor_to(screen, d)
            await pilot.press("space")
        await pilot.press("slash", *"mlp", "enter")  # the cnn run out of sight; lowlr and noval shown, not selected
        await pilot.press("n")
        assert isinstance(app.screen, TextPrompt) and app.screen.title_text == "Note — 3 runs"
        await pilot.press(*"sweep", "enter")
        await pilot.press("t")
        prompt = app.screen
        assert prompt.query_one("Input").value == "shared"  # the tags all three share
        prompt.query_one("Input").value = "group"  # shared -> group: each keeps its own other tags
        await pilot.press("enter")
        await pilot.pause()
    assert [read_meta(d).note for d in seeds] == ["sweep"] * 3
    assert [read_meta(d).tags for d in seeds] == [["mine", "group"], ["group"], ["other", "group"]]
    others = [d for d in runs.iterdir() if d not in seeds]
    assert all(read_meta(d).note == "" and not read_meta(d).tags for d in others)  # hidden: untouched


def table_lines(screen: RunsScreen) -> list[str]:
    """The runs table as drawn: what a person sees of it at this terminal size."""
    table = screen.query_one("#runs-table", DataTable)
    return ["".join(seg.text for seg in table.render_line(y)) for y in range(table.size.height)]


async def test_same_named_runs_read_apart_at_80_columns(runs):
    """Three seeds of one config all read 'mlp-scratch'; the name column adds the field that differs."""
    seeds = {k: run_named(runs, k) for k in ("seed1", "seed2", "seed3")}
    set_name(run_named(runs, "noval"), "baseline")
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.pause()
        lines = table_lines(screen)
        for key, d in seeds.items():
            row = next(line for line in lines if f"seed={key[-1]}" in line)
            assert "mlp-scratch seed=" in row and "%" in row, lines  # name, apart, and the accuracies
        assert any("baseline" in line for line in lines)  # a display name needs nothing beside it
        assert not any("baseline seed=" in line or "lowlr seed=" in line for line in lines)
        cursor_to(screen, seeds["seed2"])
        await pilot.pause()
        info = text_of(screen.query_one("#runs-info", Static)).splitlines()
        assert info[0].startswith(seeds["seed2"].name) and "synthetic · mlp · scratch · started " in info[0]
        assert len(info[0].rstrip()) <= 78  # fits the line at 80 columns
        await pilot.press("slash", *"seed=3", "enter")  # the filter finds config fields too
        assert table_ids(screen) == [seeds["seed3"].name]
        assert not any("seed=" in line for line in table_lines(screen))  # alone: nothing to tell apart


async def test_an_unreadable_runs_reason_is_on_its_own_line(runs):
    broken = run_named(runs, "cnn")
    (broken / "summary.json").write_text("{\"status\": ")
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        cursor_to(screen, broken)
        await pilot.pause()
        row = next(line for line in table_lines(screen) if "unreadable" in line)
        reason = next(e.info.error for e in screen.entries if e.info.run_id == broken.name)
        assert "corrupted" in reason and "corrupted" not in row and "%" not in row
        cells = screen.query_one("#runs-table", DataTable).get_row(broken.name)
        assert [str(c) for c in cells[3:8]] == [""] * 5  # metrics columns empty
        info = text_of(screen.query_one("#runs-info", Static)).splitlines()
        assert info[1].startswith("unreadable: ") and "corrupted" in info[1]
        assert "1 unreadable" in text_of(screen.query_one("#runs-state", Static))


async def test_home_and_end_go_to_the_first_and_last_run(runs):
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("#runs-table", DataTable)
        await pilot.press("end")
        assert table.cursor_row == 5 and screen.current_entry().info.run_id == table_ids(screen)[-1]
        await pilot.press("home")
        assert table.cursor_row == 0 and screen.current_entry().info.run_id == table_ids(screen)[0]
        space = next(b for b in screen.BINDINGS if b.key == "space")
        assert "move down" in space.tooltip  # what space does, on the footer's tooltip


async def test_compare_opened_alone_goes_back_to_its_runs(runs):
    dirs = [str(run_named(runs, k)) for k in ("seed1", "seed2")]
    app = ScreenApp(lambda: CompareScreen(dirs))  # as `cifar-tui compare A B` opens the app: the only screen
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, CompareScreen) and len(app.screen_stack) == 2
        state = text_of(app.screen.query_one("#cmp-state", Static))
        assert "A● mlp-scratch seed=1" in state and "B▲ mlp-scratch seed=2" in state  # same names told apart
        await pilot.press("escape")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen) and len(app.screen_stack) == 2  # switched: nothing piled up
        assert screen.runs_dir == str(runs) and len(table_ids(screen)) == 6
        await pilot.press("space", "space", "c")
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("escape")
        assert app.screen is screen  # opened from the runs screen: back to it


async def test_the_periodic_scan_runs_in_a_thread_and_finds_new_runs(runs, tmp_path):
    """The 2 s refresh reads the directory in a worker thread; a run copied in meanwhile appears."""
    threads: list[str] = []
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        scan = screen.index.scan

        def recording_scan():
            threads.append(threading.current_thread().name)
            return scan()

        screen.index.scan = recording_scan
        newcomer = runs / "20990101-000000-mlp-scratch"
        shutil.copytree(run_named(runs, "seed1"), newcomer)
        await pilot_wait_until(pilot, lambda: newcomer.name in table_ids(screen), 10)
        assert threads and threading.main_thread().name not in threads
        assert "7 runs" in text_of(screen.query_one("#runs-state", Static))


async def test_compare_reloads_a_running_run_in_a_thread(runs, monkeypatch):
    live = run_named(runs, "seed1")
    mark_running(live, os.getpid())  # this process 'writes' it: the screen keeps re-reading
    threads: list[str] = []
    read = compare_module.load_compare_run

    def recording_read(d):
        threads.append(threading.current_thread().name)
        return read(d)

    app = ScreenApp(lambda: CompareScreen([str(live), str(run_named(runs, "seed2"))]))
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(compare_module, "load_compare_run", recording_read)
        await pilot_wait_until(pilot, lambda: len(threads) >= 2, 10)
        assert threading.main_thread().name not in threads
        await pilot.press("ctrl+r")
        await pilot_wait_until(pilot, lambda: len(threads) >= 4, 10)
        assert threading.main_thread().name not in threads and len(app.screen.runs) == 2


async def test_screen_styles_come_from_their_tcss_files(runs):
    from tui.screens.run_dialogs import ConfirmDialog as Dialog

    for cls in (RunsScreen, CompareScreen, Dialog, TextPrompt):
        assert "DEFAULT_CSS" not in vars(cls) and cls.CSS_PATH.endswith(".tcss")
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert screen.query_one("#runs-filter").outer_size.height == 1
        assert screen.query_one("#runs-info").styles.max_height.value == 4
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, Dialog) and app.screen.query_one("Vertical").outer_size.width == 70
        await pilot.press("n", "space", "down", "space", "c")
        await pilot.pause()
        cmp = app.screen
        assert isinstance(cmp, CompareScreen) and cmp.query_one("#cmp-side-metrics").styles.display == "none"


async def test_a_fast_typed_filter_reaches_the_filter_box(runs):
    """A terminal delivers a quickly typed "/cnn" in one read: every key after / is text, / included."""
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        names = {"/": "slash", "=": "equals_sign", ".": "full_stop"}
        for ch in "/cnn/":  # all queued before the first is handled, as a fast typist's keys are
            app.post_message(events.Key(names.get(ch, ch), ch))
        await pilot.pause(0.3)
        assert screen.query_one("#runs-filter", Input).value == "cnn/" and not screen.selected
        assert app.screen is screen  # c (compare) and n (note) did not run
        await pilot.press("backspace", "enter")
        assert table_ids(screen) == [run_named(runs, "cnn").name]


async def test_only_the_fields_that_tell_runs_apart_are_shown(runs):
    """A fourth 'mlp-scratch' differing in epochs, lr and train_limit: the name column needs two fields, not four."""
    twin = runs / "20990101-000000-mlp-scratch"
    shutil.copytree(run_named(runs, "seed1"), twin)
    config = json.loads((twin / "config.json").read_text())
    (twin / "config.json").write_text(json.dumps({**config, "epochs": 6, "lr": 0.2, "train_limit": 1000}))
    app = ScreenApp(lambda: RunsScreen(str(runs)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.pause()
        names = [str(screen.query_one("#runs-table", DataTable).get_row(rid)[1]) for rid in table_ids(screen)]
        same = sorted(n for n in names if n.startswith("mlp-scratch "))
        assert same == ["mlp-scratch epochs=3 seed=1", "mlp-scratch epochs=3 seed=2", "mlp-scratch epochs=3 seed=3",
                        "mlp-scratch epochs=6 seed=1"]
        assert all(any(n in line for line in table_lines(screen)) for n in same)  # on screen at 80 columns
