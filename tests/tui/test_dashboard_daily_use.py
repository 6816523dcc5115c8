"""The dashboard in daily use: every phase visible (reading the data, evaluation), the loss inside each epoch
of a finished or followed run, a finished run's test accuracy, p and x on a run another process writes, escape
from `watch`, charts told apart without colour, an 80-column footer, wrapped log lines, names and captions that
use the width, and drill-down titles that say which model made the predictions.

Fabricated events and run folders (tests/helpers) feed the screen: no training here.
"""
from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import time
from pathlib import Path

from rich.console import Console
from textual.geometry import Region
from textual.screen import Screen

from engine.events import EpochDone, PhaseProgress, StepDone
from engine.runs.follow import FollowUpdate
from engine.runs.status import RunStatus
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.state.run_state import Phase, RunState
from tui.widgets.charts import MetricChart
from tui.widgets.header import header_text
from tui.widgets.image_grid import GridItem, ImageGrid
from tests.helpers.pilot import ScreenApp, shown_text
from tests.helpers.tui_fixtures import CLASSES, dashboard_events, metrics_records
from tests.helpers.waiting import pilot_wait_until


def header_plain(state: RunState, width: int = 160) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(header_text(state, width))
    return console.export_text()


def widget_text(widget) -> str:
    width, height = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


def _run(root: Path, status: str, records: list[dict], *, host: str | None = None, world_size: int = 1,
         steps: list[dict] | None = None, val: bool = False) -> Path:
    """A run folder as the engine leaves it; a 'running' one is locked by this (live) process."""
    run = root / "runs" / "20260101-000000-mlp-scratch"
    run.mkdir(parents=True)
    config = {"model": "mlp", "strategy": "scratch", "dataset": "cifar10", "epochs": 5, "run_id": run.name,
              "distributed": {"world_size": world_size}}
    (run / "config.json").write_text(json.dumps(config))
    summary = {"run_id": run.name, "status": status, "epochs": 5, "epochs_done": len(records), "device": "cpu",
               "class_names": CLASSES, "n_test": 1000, "n_val": 1000 if val else 0, "params_total": 1000,
               "params_trainable": 1000}
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if steps is not None:
        (run / "steps.jsonl").write_text("".join(json.dumps(p) + "\n" for p in steps))
    if status == "running":
        (run / "lock").write_text(json.dumps({"pid": os.getpid(), "host": host or socket.gethostname()}))
    return run


def _progress(run: Path, epoch: int, **extra) -> None:
    """progress.json as a writer inside ``epoch`` leaves it."""
    record = {"epoch": epoch, "step": 3, "steps_per_epoch": 10, "loss": 1.0, "lr": 0.1, "img_per_s": 100.0,
              "elapsed_s": 5.0, "eta_s": 60.0, "time": time.time(), **extra}
    (run / "progress.json").write_text(json.dumps(record))


def _steps(epochs: int, per_epoch: int = 10) -> list[dict]:
    return [{"epoch": e, "step": s, "steps_per_epoch": 40, "loss": 2.0 / (e + s / 40), "lr": 0.1, "elapsed_s": 1.0}
            for e in range(1, epochs + 1) for s in range(4, 41, 40 // per_epoch)]


def _val_records(epochs: int) -> list[dict]:
    """metrics.jsonl lines with a validation split: val peaks at epoch 2, test accuracy between 40% and 60%."""
    out = metrics_records(epochs)
    for i, rec in enumerate(out):
        rec.update(val_acc=[0.50, 0.58, 0.55][i % 3], val_loss=1.0, test_acc=[0.42, 0.515, 0.60][i % 3],
                   train_acc=0.45 + 0.05 * i)
    return out


# ---------------------------------------------------------------- 1. every phase visible
def test_reading_the_data_shows_its_progress_before_the_run_starts() -> None:
    state = RunState()
    state.apply(PhaseProgress("decoding images on 2 threads", 12_000, 60_000, rate=3000.0, eta_s=16.0))
    text = header_plain(state, 120)
    assert "decoding images on 2 threads 12,000/60,000 images (20%), 16s left" in text
    state.apply(PhaseProgress("decoding images on 2 threads", 60_000, 60_000))
    assert state.activity is None and "decoding" not in header_plain(state, 120)


def test_evaluation_replaces_the_frozen_last_step_and_gives_the_run_eta() -> None:
    state = RunState()
    for event in dashboard_events(done=2)[:-1]:
        state.apply(event)
    state.apply(StepDone(3, 50, 50, 0.6, 0.1, 5120.0, 30.0, 0.0))  # the epoch's last step: ETA 0
    state.apply(PhaseProgress("evaluating val", 3_000, 5_000, run_eta_s=125.0))
    text = header_plain(state)
    assert "epoch 3/10 · evaluating val 3,000/5,000 images (60%)" in text
    assert "step 50/50" not in text and "ETA 2m05s" in text  # the run's, not the last step's 0s
    state.apply(next(e for e in dashboard_events(done=3) if isinstance(e, EpochDone) and e.epoch == 3))
    # the epoch's record: the evaluation is over
    assert state.activity is None


def test_a_followed_run_shows_its_phase_and_pause(tmp_path: Path) -> None:
    state = RunState()
    step = StepDone(2, 10, 10, 0.5, 0.1, 100.0, 20.0, 0.0)
    state.apply_update(FollowUpdate(RunStatus.RUNNING, step=step,
                                    phase=PhaseProgress("evaluating test", 400, 1_000, run_eta_s=30.0), paused=False))
    assert "evaluating test 400/1,000 images (40%)" in header_plain(state)
    assert state.phase is Phase.FOLLOWING and state.eta_s == 30.0
    state.apply_update(FollowUpdate(RunStatus.RUNNING, step=step, paused=True))
    assert state.phase is Phase.PAUSED and "PAUSED" in header_plain(state) and "evaluating" not in header_plain(state)
    state.apply_update(FollowUpdate(RunStatus.RUNNING))  # nothing new in progress.json: still paused
    assert state.phase is Phase.PAUSED


def test_the_dashboard_header_moves_during_evaluation() -> None:
    events = [*dashboard_events(done=2)[:-1], StepDone(3, 50, 50, 0.6, 0.1, 5120.0, 30.0, 0.0),
              PhaseProgress("evaluating val", 3_000, 5_000, run_eta_s=125.0)]

    async def body() -> None:
        app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(events))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            header = widget_text(app.screen.query_one("#header"))
            assert "evaluating val 3,000/5,000" in header, header

    asyncio.run(body())


# ---------------------------------------------------------------- 2. step-level history, fitted accuracy range
def test_a_finished_run_draws_the_loss_inside_each_epoch(tmp_path: Path) -> None:
    run = _run(tmp_path, "completed", metrics_records(3), steps=_steps(3))

    async def body() -> None:
        app = CifarApp(runs_dir=str(run.parent), start_screen=DashboardScreen.for_saved_run(run))
        async with app.run_test(size=(160, 48)) as pilot:
            dash = app.screen
            await pilot_wait_until(pilot, lambda: len(dash.state.epoch_x) == 3, 20)
            await pilot_wait_until(pilot, lambda: dash.query_one("#loss").points("step") > 0, 20)
            assert len(dash.state.step_loss) == 30  # ten points an epoch, as steps.jsonl holds them
            assert dash.state.step_loss.x[0] == 0.1 and dash.state.step_loss.x[-1] == 3.0

    asyncio.run(body())


def test_step_points_never_go_back_and_malformed_ones_are_skipped() -> None:
    state = RunState()
    points = _steps(2)
    state.add_step_points(points[:15])
    state.add_step_points(points + [{"epoch": 3, "step": "x", "steps_per_epoch": 40, "loss": 1.0}])
    assert len(state.step_loss) == 20 and state.step_loss.x == sorted(state.step_loss.x)


def test_accuracy_chart_fits_its_data() -> None:
    from tui.widgets.charts import fit_range

    assert fit_range([40.0, 60.0]) == (38.0, 62.0)
    assert fit_range([99.5, 100.0]) == (97.5, 100.0) and fit_range([]) == (0.0, 100.0)

    async def body() -> None:
        state = RunState()
        for rec in _val_records(3):
            state.apply_record(rec, epochs=3)
        app = ScreenApp(lambda: DashboardScreen.for_events([]))
        async with app.run_test(size=(160, 48)) as pilot:
            chart = app.screen.query_one("#acc", MetricChart)
            chart.update_from(state)
            await pilot.pause()
            text = shown_text(chart, inner=True)
            ticks = [float(line.split("┫")[0]) for line in text.splitlines() if "┫" in line and line.split("┫")[0].strip()]
            assert len(ticks) >= 2 and 38 <= min(ticks) and max(ticks) <= 64, text  # not the fixed 0-100% of before

    asyncio.run(body())


# ---------------------------------------------------------------- 3. a finished run's test accuracy
def test_a_finished_run_header_shows_test_accuracy_last_and_at_the_best_epoch() -> None:
    state = RunState()
    for rec in _val_records(3):
        state.apply_record(rec, epochs=3)
    state.follow("completed")
    text = header_plain(state)
    assert "test 60.00%" in text and "best val 58.00% (ep 2, test 51.50%)" in text
    state.follow("running")  # while it runs, the test set is not the headline
    assert "test 60.00%" not in header_plain(state)


# ---------------------------------------------------------------- 4. p and x on a run another process writes
def _notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def test_p_and_x_ask_a_followed_run_and_its_pause_shows(tmp_path: Path) -> None:
    run = _run(tmp_path, "running", metrics_records(1))
    _progress(run, 2)

    async def body() -> None:
        app = CifarApp(runs_dir=str(run.parent), watch=str(run))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = app.screen
            await pilot_wait_until(pilot, lambda: dash.state.phase is Phase.FOLLOWING, 20)
            await pilot.press("p")
            await pilot_wait_until(pilot, lambda: (run / "control.json").exists(), 20)
            assert json.loads((run / "control.json").read_text())["action"] == "pause"
            _progress(run, 2, paused=True)  # the writer acts and says so
            await pilot_wait_until(pilot, lambda: dash.state.phase is Phase.PAUSED, 20)
            await pilot_wait_until(pilot, lambda: "PAUSED" in widget_text(dash.query_one("#header")), 20)
            await pilot.press("p")
            await pilot_wait_until(pilot, lambda: json.loads((run / "control.json").read_text())["action"] == "resume",
                                   20)
            await pilot.press("x")
            await pilot_wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmStop", 20)
            await pilot.press("y")
            await pilot_wait_until(pilot, lambda: json.loads((run / "control.json").read_text())["action"] == "stop",
                                   20)

    asyncio.run(body())


def test_p_and_x_say_why_a_followed_run_cannot_be_asked(tmp_path: Path) -> None:
    elsewhere = _run(tmp_path / "a", "running", metrics_records(1), host="gpu-box-7")
    torchrun = _run(tmp_path / "b", "running", metrics_records(1), world_size=2)

    async def body() -> None:
        for run, key, why in ((elsewhere, "x", "trains on gpu-box-7"), (torchrun, "p", "torchrun")):
            app = CifarApp(runs_dir=str(run.parent), watch=str(run))
            async with app.run_test(size=(80, 24)) as pilot:
                dash = app.screen
                await pilot_wait_until(pilot, lambda: dash.state.phase is Phase.FOLLOWING, 20)
                await pilot.press(key)
                await pilot_wait_until(pilot, lambda: any(why in n for n in _notes(app)), 20)
                assert not (run / "control.json").exists() and app.screen is dash  # no dialog, nothing asked

    asyncio.run(body())


# ---------------------------------------------------------------- 5. escape from `watch`
def test_escape_from_watch_goes_to_the_runs_list(tmp_path: Path) -> None:
    run = _run(tmp_path, "completed", metrics_records(2))

    async def body() -> None:
        app = CifarApp(runs_dir=str(run.parent), watch=str(run))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot_wait_until(pilot, lambda: len(app.screen.state.epoch_x) == 2, 20)
            await pilot.press("escape")
            await pilot_wait_until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", 20)
            assert Path(app.screen.runs_dir) == run.parent

    asyncio.run(body())


# ---------------------------------------------------------------- 6. NO_COLOR: a glyph per split
def test_no_color_charts_give_each_split_its_own_marker(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def body() -> None:
        state = RunState()
        for rec in _val_records(3):
            state.apply_record(rec, epochs=3)
        app = ScreenApp(lambda: DashboardScreen.for_events([]))
        async with app.run_test(size=(160, 48)) as pilot:
            assert app.no_color
            chart = app.screen.query_one("#acc", MetricChart)
            chart.update_from(state)
            await pilot.pause()
            legend = chart.legend_text.splitlines()
            glyphs = {line.split()[0] for line in legend}
            assert [line.split()[1] for line in legend] == ["train", "val", "test"] and len(glyphs) == 3, legend
            plot = shown_text(chart, inner=True)
            assert all(plot.count(glyph) > 3 for glyph in glyphs), plot  # each curve drawn with its glyph

    asyncio.run(body())


# ---------------------------------------------------------------- 7. 80 columns: the footer keeps 1-5, ? and q
def _footer_keys_shown(screen, width: int) -> set[str]:
    return {key.key for key in screen.query_one("Footer").query("FooterKey")
            if key.region.width and key.region.right <= width}


def test_80_columns_footer_shows_the_panel_keys_help_and_quit(tmp_path: Path) -> None:
    run = _run(tmp_path, "running", metrics_records(1))
    _progress(run, 2)

    async def body() -> None:
        app = CifarApp(runs_dir=str(run.parent), watch=str(run))  # a live followed run: p and x shown too
        async with app.run_test(size=(80, 24)) as pilot:
            dash = app.screen
            await pilot_wait_until(pilot, lambda: dash.state.phase is Phase.FOLLOWING, 20)
            await pilot_wait_until(pilot, lambda: "p" in _footer_keys_shown(dash, 80), 20)
            shown = _footer_keys_shown(dash, 80)
            assert {"p", "x", "1", "2", "3", "4", "5", "question_mark", "q"} <= shown, shown
            tabs = [str(t.label) for t in dash.query("Tab")]
            assert tabs == ["1 Loss", "2 Accuracy", "3 Classes", "4 Confusion", "5 Log"]

    asyncio.run(body())


# ---------------------------------------------------------------- 8. wrapping and widths
def test_log_lines_wrap_between_fields() -> None:
    from tui.widgets.log_panel import wrap_fields

    line = ("epoch 1/4  train 2.0061 30.70%  val 1.7599 30.50%  test 1.6940 30.60%  gap +0.2 pts  lr 0.043  "
            "981 img/s  epoch 2.3s")
    rows = wrap_fields(line, 76)
    assert rows == ["epoch 1/4  train 2.0061 30.70%  val 1.7599 30.50%  test 1.6940 30.60%",
                    "  gap +0.2 pts  lr 0.043  981 img/s  epoch 2.3s"]
    assert wrap_fields("warn: GPU memory 92% full: consider a smaller --batch-size", 30) == [
        "warn: GPU memory 92% full:", "  consider a smaller", "  --batch-size"]

    async def body() -> None:
        app = ScreenApp(lambda: DashboardScreen.for_events(dashboard_events(done=2)))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("5")
            await pilot.pause(0.6)
            rows = [row.rstrip() for row in widget_text(app.screen.query_one("#log-text")).splitlines()]
            # 83 characters in 76: the last field moves down whole ("epoch" / "10s" before)
            assert rows[2:4] == ["epoch 1/10  train 1.2500 52.00%  test 1.4000 63.50%  lr 0.1  5120 img/s",
                                 "  epoch 10s"], rows

    asyncio.run(body())


def test_class_names_use_the_width_there_is() -> None:
    names = [f"{c}-horizontal" for c in ("red", "green", "blue", "orange", "purple")]

    async def body() -> None:
        app = ScreenApp(lambda: DashboardScreen.for_events([]))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            table = app.screen.query_one("#classes")
            table.set_data(names, [0.5] * 5, [0.4] * 5, [0.6] * 5)
            await pilot.pause()
            assert "orange-horizontal" in widget_text(table) and "…" not in widget_text(table)

    asyncio.run(body())


class GridScreen(Screen):
    def compose(self):
        yield ImageGrid()


def test_tile_captions_use_the_width_there_is() -> None:
    import numpy as np

    items = [GridItem(np.zeros((32, 32, 3), np.uint8), [("automobile", "bold"), ("✗ 71.4% automobile", "red")], key=i)
             for i in range(8)]

    async def body() -> None:
        app = ScreenApp(lambda: GridScreen())
        async with app.run_test(size=(80, 24)) as pilot:
            grid = app.screen.query_one(ImageGrid)
            grid.set_items(items)
            await pilot.pause()
            assert grid._geometry.per_row == 4
            assert "✗ 71.4% automobile" in widget_text(grid)  # 18 cells, not 16: the name whole, its confidence

    asyncio.run(body())


# ---------------------------------------------------------------- 9. drill-down titles
def test_drill_down_titles_say_which_model_made_the_predictions(tmp_path: Path) -> None:
    from tui.screens.inspect_data import cell_items, mistake_items, run_images
    from tests.helpers.tui_fixtures import drill_run

    ri = run_images(str(drill_run(tmp_path)))
    for title, _ in (mistake_items(ri), cell_items(ri, 0, 5)):
        assert title.endswith("(predictions from epoch 1)") and "training" not in title, title
