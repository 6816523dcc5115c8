"""engine.runs.follow (incremental tail of metrics.jsonl) and the dashboard on saved / followed runs."""
from __future__ import annotations

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
from tui_fixtures import CLASSES, metrics_records


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


async def _wait(pilot, predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)


def test_saved_run_dashboard(tmp_path: Path) -> None:
    run = _fake_run(tmp_path, "completed", metrics_records(3))

    async def body() -> None:
        app = CifarApp(runs_dir=str(tmp_path), start_screen=DashboardScreen.for_saved_run(run))
        async with app.run_test(size=(160, 48)) as pilot:
            dash = app.screen
            await _wait(pilot, lambda: dash.state.status == "completed" and len(dash.state.epoch_x) == 3)
            await _wait(pilot, lambda: dash.query_one(PerClassTable).row_count > 0)  # next redraw tick
            assert dash.query_one(PerClassTable).row_count == 10
            assert dash.query_one(ConfusionMatrix).total == 1000
            assert dash.query_one("#acc").points("test") == 3
            assert dash.state.run_id == run.name

    asyncio.run(body())


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
                await _wait(pilot, lambda: len(dash.state.epoch_x) == 1 and dash.state.status == "following")
                with open(run / "metrics.jsonl", "ab") as f:
                    f.write(_line(recs[1]) + _line(recs[2])[:30])  # one whole line and a torn one
                await _wait(pilot, lambda: len(dash.state.epoch_x) == 2)
                writer.kill()
                writer.wait()
                await _wait(pilot, lambda: dash.state.status == "stale")
                await _wait(pilot, lambda: "gone" in dash.query_one("#log").text)  # next redraw tick
                assert len(dash.state.epoch_x) == 2  # the torn line is never shown

        asyncio.run(body())
    finally:
        if writer.poll() is None:
            writer.kill()
