"""`cifar-tui watch RUN` in tmux on a run a real --no-ui process trains: p pauses and resumes it and x (after
the stop dialog) stops it through the run's folder, the header says so, and escape goes to the runs list.

The app runs as ``python -m tui`` from this checkout (its code, not an installed script's).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from engine.runs import load_run
from engine.runs.progress import read_progress
from tests.helpers import ROOT
from tests.helpers.cli_process import only_run, start_long_run
from tests.helpers.tmux import Tmux
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]


def test_watch_pauses_resumes_and_stops_a_headless_run_then_escape_lists_the_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    proc = start_long_run(runs)
    tm = None
    try:
        wait_until(lambda: read_progress(only_run(runs)) is not None, 120, proc, "the first progress.json")
        run = only_run(runs)
        tm = Tmux(f"{sys.executable} -m tui watch {run} --runs-dir {runs}", cwd=ROOT)
        screen = tm.wait_for("FOLLOWING")
        assert "p Pause" in screen and "x Stop" in screen and "? Help" in screen and "q Quit" in screen
        tm.keys("p")
        tm.wait_for("PAUSED")
        tm.keys("p")
        tm.wait_for("FOLLOWING")
        tm.keys("x")
        tm.wait_for("Stop (y)")
        tm.keys("y")
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 130, out  # interrupted, resumable
        tm.wait_for("INTERRUPTED")
        app = tm.app_pid()
        tm.keys("Escape", pause=1.0)
        tm.wait_for("sorted by")  # the runs list, with this run in it
        assert "interrupted" in tm.screen()
        tm.keys("q")
        assert "EXIT=0" in tm.wait_for("EXIT=")
        wait_until(lambda: not Path(f"/proc/{app}").exists(), 10, what="the app's process to end")
        assert load_run(run).status == "interrupted"
    finally:
        if tm is not None:
            tm.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
