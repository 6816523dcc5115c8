"""A run started elsewhere (here: a real --no-ui process) paused, resumed and stopped through its
directory, as the app's dashboard and runs screen do for a run they follow; and every long phase
outside the steps reports its progress."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from engine.config import RunConfig, UserError
from engine.events import PhaseProgress
from engine.runs import load_run
from engine.runs.liveness import LOCK_FILE
from engine.runs.progress import read_progress
from engine.runs.remote import controllable, request
from engine.training.loop import train
from tests.helpers.cli_process import only_run, start_long_run
from tests.helpers.waiting import wait_until



@pytest.mark.slow
def test_pause_resume_and_stop_a_headless_run_from_outside(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    proc = start_long_run(runs)
    try:
        wait_until(lambda: read_progress(only_run(runs)) is not None, 120, proc, "the first progress.json")
        run = only_run(runs)
        assert controllable(run) is None
        request(run, "pause")
        wait_until(lambda: (read_progress(run) or {}).get("paused") is True, 20, proc, "paused in progress.json")
        step = read_progress(run)["step"]  # type: ignore[index]
        time.sleep(2.5)
        assert read_progress(run)["step"] == step, "a paused run went on training"  # type: ignore[index]
        request(run, "resume")
        wait_until(lambda: (read_progress(run) or {}).get("step") != step, 20, proc, "steps after the resume")
        request(run, "stop")
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out  # interrupted, as a Ctrl-C would leave it
    assert "paused from another process" in out and "stop asked from another process" in out
    info = load_run(run)
    assert info.status == "interrupted"
    assert not (run / "control.json").exists() and not (run / LOCK_FILE).exists()
    assert "resume with: cifar-tui --no-ui --resume" in out


def test_a_run_nobody_writes_cannot_be_asked(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UserError, match="not running"):
        request(tmp_path, "stop")


def test_a_run_on_another_host_is_stopped_there(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text(f'{{"pid": 1, "host": "not-{socket.gethostname()}"}}')
    assert "stop or pause it there" in (controllable(tmp_path) or "")


def test_a_torchrun_job_cannot_pause(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text(f'{{"pid": {os.getpid()}, "host": "{socket.gethostname()}"}}')
    (tmp_path / "config.json").write_text('{"distributed": {"world_size": 2}}')
    assert "cannot pause" in (controllable(tmp_path, "pause") or "")
    assert controllable(tmp_path, "stop") is None


def test_a_request_from_before_the_writer_started_is_ignored(tmp_path: Path) -> None:
    from engine.runs.remote import RemoteControl

    (tmp_path / "control.json").write_text('{"action": "stop", "seq": 3}')
    remote = RemoteControl(tmp_path, clock=iter(range(0, 100, 2)).__next__)
    assert remote.poll() is None
    (tmp_path / "control.json").write_text('{"action": "pause", "seq": 4}')
    assert remote.poll() == "pause"
    assert remote.poll() is None


def test_evaluation_reports_its_progress_and_counts_in_the_eta(runs_dir: Path) -> None:
    events: list[object] = []
    config = RunConfig(dataset="synthetic", model="mlp", epochs=2, train_limit=300, test_limit=200,
                       eval_batch_size=50, runs_dir=str(runs_dir))
    assert train(config, events.append).status == "completed"
    phases = [e for e in events if isinstance(e, PhaseProgress)]
    names = [p.phase for p in phases]
    assert "evaluating val" in names and "evaluating test" in names
    ends = [p for p in phases if p.phase == "evaluating test" and p.done == p.total]
    assert len(ends) == 2 and ends[0].total == 200


def test_decoding_a_folder_reports_progress(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from engine.data.folder import read_folder

    for split in ("train", "test"):
        for cls in ("a", "b"):
            folder = tmp_path / "imgs" / split / cls
            folder.mkdir(parents=True)
            for i in range(20):
                Image.fromarray(np.full((8, 8, 3), i * 10, np.uint8)).save(folder / f"{i}.png")
    seen: list[PhaseProgress] = []
    os.environ["CIFAR_TUI_CACHE"] = str(tmp_path / "cache")
    try:
        read_folder(tmp_path / "imgs", 8, seen.append)
    finally:
        del os.environ["CIFAR_TUI_CACHE"]
    decode = [p for p in seen if p.phase.startswith("decoding")]
    assert decode[0].done == 0 and decode[-1].done == decode[-1].total == 80

