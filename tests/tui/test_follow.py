"""engine.runs.follow (incremental tail of metrics.jsonl) and the dashboard on saved / followed runs."""
from __future__ import annotations

import pytest

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine.runs.follow import MetricsTail, RunFollower
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.per_class import PerClassTable
from tests.helpers.tui_fixtures import CLASSES, metrics_records
from tests.helpers.waiting import follow_to_end, pilot_wait_until, wait_until


def _line(record: dict) -> bytes:
    return (json.dumps(record) + "\n").encode()


def test_tail_reads_only_new_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    assert tail.read_new() == []  # no file yet
    recs = metrics_records(3)
    path.write_bytes(_line(recs[0]))
    assert [r["epoch"] for r in tail.read_new()] == [1]
    assert tail.read_new() == []
    torn = _line(recs[1])
    with open(path, "ab") as f:
        f.write(torn[:25])  # a writer caught mid-line
    assert tail.read_new() == [] and tail.pending_bytes == 25
    with open(path, "ab") as f:
        f.write(torn[25:] + _line(recs[2]))
    assert [r["epoch"] for r in tail.read_new()] == [2, 3]
    assert tail.offset == path.stat().st_size


def test_tail_starts_over_when_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"".join(_line(r) for r in metrics_records(3)))
    tail = MetricsTail(path)
    assert len(tail.read_new()) == 3
    path.write_bytes(_line(metrics_records(1)[0]))  # shorter: rewritten, not appended
    assert [r["epoch"] for r in tail.read_new()] == [1]


def _fake_run(root: Path, status: str, records: list[dict], *, pid: int | None = None) -> Path:
    run = root / "20260101-000000-mlp-scratch"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "mlp", "strategy": "scratch", "dataset": "cifar10",
                                                 "epochs": 5, "run_id": run.name}))
    summary = {"run_id": run.name, "status": status, "epochs": 5, "epochs_done": len(records), "device": "cpu",
               "class_names": CLASSES, "n_test": 1000, "params_total": 1000, "params_trainable": 1000}
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "metrics.jsonl").write_bytes(b"".join(_line(r) for r in records))
    if pid is not None:
        (run / "lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    return run


def test_follower_reports_stale_when_writer_is_gone(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = _fake_run(tmp_path, "running", metrics_records(2), pid=dead.pid)
    update = RunFollower(run).poll()
    assert update.status == "stale" and update.finished and len(update.records) == 2


def test_saved_run_dashboard(tmp_path: Path) -> None:
    run = _fake_run(tmp_path, "completed", metrics_records(3))

    async def body() -> None:
        app = CifarApp(runs_dir=str(tmp_path), start_screen=DashboardScreen.for_saved_run(run))
        async with app.run_test(size=(160, 48)) as pilot:
            dash = app.screen
            await pilot_wait_until(pilot, lambda: dash.state.status == "completed" and len(dash.state.epoch_x) == 3, 20)
            await pilot_wait_until(pilot, lambda: dash.query_one(PerClassTable).row_count > 0, 20)  # next redraw tick
            assert dash.query_one(PerClassTable).row_count == 10
            assert dash.query_one(ConfusionMatrix).total == 1000
            assert dash.query_one("#acc").points("test") == 3
            assert dash.state.run_id == run.name

    asyncio.run(body())


@pytest.mark.slow
def test_follow_live_writer_then_stale(tmp_path: Path) -> None:
    """Another process appends epochs; the dashboard picks them up, then sees the writer die."""
    recs = metrics_records(3)
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = _fake_run(tmp_path, "running", recs[:1], pid=writer.pid)

        async def body() -> None:
            app = CifarApp(runs_dir=str(tmp_path), watch=str(run))
            async with app.run_test(size=(80, 24)) as pilot:
                dash = app.screen
                await pilot_wait_until(pilot, lambda: len(dash.state.epoch_x) == 1 and dash.state.status == "following",
                                       20)
                with open(run / "metrics.jsonl", "ab") as f:
                    f.write(_line(recs[1]) + _line(recs[2])[:30])  # one whole line and a torn one
                await pilot_wait_until(pilot, lambda: len(dash.state.epoch_x) == 2, 20)
                writer.kill()
                writer.wait()
                await pilot_wait_until(pilot, lambda: dash.state.status == "stale", 20)
                await pilot_wait_until(pilot, lambda: "gone" in dash.query_one("#log").text, 20)  # next redraw tick
                assert len(dash.state.epoch_x) == 2  # the torn line is never shown

        asyncio.run(body())
    finally:
        if writer.poll() is None:
            writer.kill()


# ----------------------------------------------------------------------------- progress.json -> StepDone


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _tick(writer, clock: _Clock, epoch: int, step: int, elapsed: float) -> None:
    from engine.events import StepDone

    clock.now += 5.0  # past the throttle: this tick writes
    assert writer.progress.tick(StepDone(epoch, step, 50, 1.5, 0.05, 800.0, elapsed, 60.0 - elapsed)) is None


def test_follower_turns_each_progress_write_into_one_step_event(tmp_path: Path) -> None:
    """A real RunWriter (this process holds the lock: the run is running) and its progress.json."""
    from engine.runs.writer import RunWriter

    writer = RunWriter.create(tmp_path, "20260101-000000-mlp-scratch", {"model": "mlp", "epochs": 3},
                              {"status": "running", "epochs": 3, "epochs_done": 0})
    clock = _Clock()
    writer.progress.clock = clock
    follower = RunFollower(writer.path)
    try:
        assert follower.poll().step is None  # no progress yet: nothing made up
        _tick(writer, clock, 1, 10, 4.0)
        step = follower.poll().step
        assert (step.epoch, step.step, step.steps_per_epoch, step.loss, step.elapsed_s) == (1, 10, 50, 1.5, 4.0)
        assert step.eta_s == 56.0 and step.img_per_s == 800.0 and step.gpu_mem is None
        assert follower.poll().step is None  # unchanged file: no second event (no duplicate chart point)
        _tick(writer, clock, 1, 20, 5.0)
        assert follower.poll().step.elapsed_s == 5.0  # the clock ticks with each write
        writer.append_metrics({"epoch": 1, "test_acc": 0.5})
        writer.write_summary({"status": "running", "epochs": 3, "epochs_done": 1})
        update = follower.poll()
        assert [r["epoch"] for r in update.records] == [1] and update.step is None  # epoch 1's record says it
        _tick(writer, clock, 2, 3, 9.0)
        assert follower.poll().step.epoch == 2
        for garbage in (b"", b"{", b'{"epoch": 2, "step": "x"}', b"\xff" * 10):
            (writer.path / "progress.json").write_bytes(garbage)
            update = follower.poll()
            assert update.step is None and update.status == "running"
    finally:
        writer.close()
    update = follower.poll()
    assert update.step is None and not (writer.path / "progress.json").exists()


def test_a_stale_runs_leftover_progress_is_not_shown_as_live(tmp_path: Path) -> None:
    from engine.runs.progress import ProgressWriter
    from engine.events import StepDone

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = _fake_run(tmp_path, "running", metrics_records(1), pid=dead.pid)
    ProgressWriter(run).tick(StepDone(2, 7, 50, 1.0, 0.1, 100.0, 30.0, 10.0))
    update = RunFollower(run).poll()
    assert update.status == "stale" and update.step is None


def _train_cmd(runs: Path, *extra: str) -> list[str]:
    """A real headless run whose epoch lasts several seconds on two CPU cores (progress inside the epoch)."""
    # The small CNN, not the MLP: an MLP epoch of a few thousand images can end within one progress tick.
    return [sys.executable, "-m", "tui", "--no-ui", "--dataset", "synthetic", "--model", "cnn", "--epochs", "1",
            "--train-limit", "3000", "--test-limit", "200", "--batch-size", "32", "--no-checkpoints",
            "--runs-dir", str(runs), *extra]


@pytest.mark.slow
def test_following_a_real_training_process_shows_steps_mid_epoch(tmp_path: Path) -> None:
    """RunFollower and `watch --no-ui` on a `--no-ui` process: steps advance and the clock ticks mid-epoch."""
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    trainer = subprocess.Popen(_train_cmd(runs, "--name", "live"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    watcher = None
    try:
        deadline = time.monotonic() + 120
        wait_until(lambda: list(runs.glob("*-live/summary.json")), 120, proc=trainer, what="the run to start")
        run = next(runs.glob("*-live"))
        watcher = subprocess.Popen([sys.executable, "-m", "tui", "watch", str(run), "--no-ui", "--interval", "0.2"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        steps = follow_to_end(run, deadline)
        mid = [s for s in steps if s.step < s.steps_per_epoch]
        assert len(mid) >= 2, steps  # more than one step count seen inside the (only) epoch
        assert [s.step for s in mid] == sorted({s.step for s in mid})  # advancing, each write once
        assert mid[-1].elapsed_s > mid[0].elapsed_s  # the clock ticks
        assert trainer.wait(60) == 0
        out, err = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, err
        lines = out.splitlines()
        progress = [line for line in lines if line.startswith("  epoch 1/1  step ")]
        assert progress and all("loss " in line and " img/s  ETA " in line for line in progress), out
        assert sum(line.startswith("epoch ") for line in lines) == 1 and lines[-1].startswith("completed: 1/1")
    finally:
        for proc in (trainer, watcher):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
