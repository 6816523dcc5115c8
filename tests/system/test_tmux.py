"""Drive the real ``cifar-tui`` binary in tmux: what a user over SSH would see and press.

Starts the installed console script in a detached tmux session, sends keys,
reads the screen with ``capture-pane``, quits, and checks the exit status and
that the terminal was handed back (the shell prints after the app is gone).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.tmux import Tmux, needs_tmux

pytestmark = [pytest.mark.slow, needs_tmux]


def test_train_in_dashboard_then_quit(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    tm = Tmux(f"cifar-tui train --dataset synthetic --model mlp --epochs 2 --train-limit 500 --test-limit 200 "
              f"--runs-dir {runs}", cwd=tmp_path)
    try:
        screen = tm.wait_for("COMPLETED")
        assert "mlp · scratch · synthetic · cpu" in screen
        assert "epoch 2/2" in screen and "Loss" in screen and "Confusion" in screen  # tabs at 80x24
        tm.keys("4")
        screen = tm.wait_for("predicted")
        assert "red-horizo" in screen  # a class row of the confusion matrix
        tm.keys("n")
        tm.wait_for("row-normalised")
        tm.keys("3")
        tm.wait_for("per-class accuracy")
        tm.keys("?")
        tm.wait_for("pause / resume")
        tm.keys("Escape", pause=1.0)
        tm.keys("q")
        screen = tm.wait_for("EXIT=")
        assert "EXIT=0" in screen
        (run,) = runs.iterdir()
        assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    finally:
        tm.close()


def test_launcher_start_stop_quit(tmp_path: Path) -> None:
    """No arguments: the launcher; ctrl+y synthetic data, ctrl+s start, x stop, q quit."""
    tm = Tmux("cifar-tui", cwd=tmp_path)  # runs land in ./saved_runs of this temporary directory
    try:
        tm.wait_for("new training run", timeout=30)
        tm.wait_for("^s Start")  # the footer's key hints
        tm.wait_for(" trainable", timeout=60)  # torch imported in the background, parameters counted
        tm.keys("C-y")
        tm.wait_for("dataset  synthetic:")  # the info panel says what the data is
        tm.keys("C-s")
        tm.wait_for("STARTING", timeout=20)
        tm.wait_for("TRAINING", timeout=90)
        tm.keys("x")
        tm.wait_for("Stop training?")
        tm.keys("Enter", pause=1.0)  # the default answer keeps training
        assert "Stop training?" not in tm.screen() and "TRAINING" in tm.screen()
        tm.keys("x")
        tm.wait_for("Stop (y)")
        tm.keys("y")
        tm.wait_for("INTERRUPTED", timeout=60)
        tm.keys("q")
        assert "EXIT=0" in tm.wait_for("EXIT=")
        (run,) = (tmp_path / "saved_runs").iterdir()
        assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    finally:
        tm.close()
