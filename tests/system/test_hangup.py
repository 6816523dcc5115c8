"""The terminal goes away (an SSH session drops, a terminal is closed right after `q`): whatever the moment,
the app ends within seconds, and a run it was training is saved, resumable. Driven in tmux: killing the
tmux server hangs up the app's pty, as a closed terminal does.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from engine.runs.liveness import pid_alive
from tests.helpers.tmux import Tmux, needs_tmux
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.slow, needs_tmux]
ENDS_WITHIN_S = 8.0


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6])
def test_quit_then_hang_up_at_any_moment_leaves_no_process(tmp_path: Path, delay: float) -> None:
    tm = Tmux(f"cifar-tui --runs-dir {tmp_path / 'runs'}", cwd=tmp_path)
    try:
        tm.wait_for("new training run", timeout=30)
        pid = tm.app_pid()
        tm.keys("q", pause=0)
        time.sleep(delay)
    finally:
        tm.close()
    wait_until(lambda: not pid_alive(pid), ENDS_WITHIN_S, what=f"the app ({pid}) to end after the hang-up")


@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_a_hang_up_while_idle_ends_the_app(tmp_path: Path, delay: float) -> None:
    tm = Tmux(f"cifar-tui --runs-dir {tmp_path / 'runs'}", cwd=tmp_path)
    try:
        tm.wait_for("new training run", timeout=30)
        pid = tm.app_pid()
        time.sleep(delay)
    finally:
        tm.close()
    wait_until(lambda: not pid_alive(pid), ENDS_WITHIN_S, what=f"the app ({pid}) to end after the hang-up")


def test_a_hang_up_while_training_saves_the_run_and_ends(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    tm = Tmux(f"cifar-tui train --dataset synthetic --model cnn --epochs 50 --train-limit 2000 --test-limit 200 "
              f"--batch-size 32 --runs-dir {runs}", cwd=tmp_path)
    try:
        tm.wait_for("TRAINING", timeout=90)
        pid = tm.app_pid()
        time.sleep(1.0)
    finally:
        tm.close()
    wait_until(lambda: not pid_alive(pid), 30, what=f"the app ({pid}) to end after the hang-up")
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted", summary["status"]
    assert not (run / "lock").exists()
    assert (run / "checkpoints" / "last.pt").exists()
