"""`cifar-tui sweep NAME` on a terminal: the app's sweep screen in tmux at 80x24, as a person over SSH sees it.

q on a finished sweep ends the app (exit 0); q while trials train asks, stops every trial (each saves its
run, resumable) and exits 130, as Ctrl-C does to `--no-ui`. Nothing is left running either way: the app,
its driver and the trial processes are gone.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.runs import RunStatus, list_runs
from tests.helpers import ROOT
from tests.helpers.cli_process import cli
from tests.helpers.tmux import Tmux, needs_tmux
from tests.helpers.waiting import wait_until

pytestmark = needs_tmux


def left_running(runs: Path) -> list[str]:
    """Processes whose command line names this runs directory (the app, a trial)."""
    out = subprocess.run(["pgrep", "-af", str(runs)], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def app(args: str, runs: Path) -> Tmux:
    return Tmux(f"{sys.executable} -m tui sweep {args} --runs-dir {runs}", cwd=ROOT, size=(80, 24))


def test_the_sweep_screen_shows_a_finished_sweep_and_q_ends_it(pair_sweep: Path) -> None:
    tm = app("pair", pair_sweep)
    try:
        screen = tm.wait_for("finished", timeout=60)
        assert "pair (grid) 2 trials: 2 completed" in screen
        assert "t0  completed" in screen and "t1  completed" in screen
        assert "val acc % vs lr" in screen and "importance: after 5 completed trials: 3 more needed" in screen
        tm.keys("q")
        assert "EXIT=0" in tm.wait_for("EXIT=")
        assert tm.terminal_restored()
    finally:
        tm.close()
    assert not left_running(pair_sweep)


@pytest.mark.slow
def test_q_while_trials_train_stops_them_saved_and_the_same_command_continues(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    # Trials far longer than the test (an mlp epoch of 3,000 images takes well under a second): on a quiet
    # machine a 3-epoch trial could end between its progress showing and the q landing.
    tm = app("live --dataset synthetic --model mlp --train-limit 3000 --test-limit 100 --val-split 100 "
             "--epochs 300 --param lr=0.01,0.05 --parallel 2 --prune none", runs)
    try:
        tm.wait_for("running, 2 at once (q stops)", timeout=60)
        wait_until(lambda: "/300 " in tm.screen(), 120, what="a trial's live progress in its row")
        tm.keys("q")
        tm.wait_for("A sweep is running")
        tm.keys("y")
        assert "EXIT=130" in tm.wait_for("EXIT=", timeout=120)
        assert tm.terminal_restored()
    finally:
        tm.close()
    assert not left_running(runs)
    found = list_runs(runs)
    assert found and all(r.status == RunStatus.INTERRUPTED for r in found)  # saved, resumable
    listed = json.loads(cli("sweeps", "--json", "--runs-dir", runs, timeout=120).stdout)[0]
    assert listed["counts"]["failed"] == 0 and listed["counts"]["completed"] == 0
    assert listed["counts"]["interrupted"] == 2  # the next `cifar-tui sweep live` continues both
