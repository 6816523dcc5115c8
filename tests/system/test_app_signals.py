"""The app and the world outside it: stop signals, a dropped terminal, no terminal at all.

Each signal test starts the real ``cifar-tui`` in tmux, sends a signal to the
app's process as kill, systemd or a dropped SSH session would, and checks
what a user finds afterwards: the shell's terminal back (alternate screen
left, mouse reporting off), the exit status 128 + the signal's number, and
the run saved as 'interrupted', its lock released, resumable.
"""
from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.training.resume import prepare_resume
from tests.helpers.cli_process import cli
from tests.helpers.tmux import Tmux, needs_tmux
from tests.helpers.waiting import wait_until

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow

# Long enough that the signal always lands while it trains (a few seconds of 200 epochs at most).
TRAIN = ("cifar-tui train --dataset synthetic --model mlp --epochs 200 --train-limit 1000 --test-limit 100 "
         "--runs-dir runs")


def only_run(runs: Path) -> Path:
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return run


@needs_tmux
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGINT"])
def test_signal_stops_the_run_saves_it_and_restores_the_terminal(tmp_path: Path, signame: str) -> None:
    signum = getattr(signal, signame)
    tm = Tmux(TRAIN, cwd=tmp_path)
    try:
        tm.wait_for("TRAINING", timeout=90)
        tm.wait_for(" step ")  # steps are being taken (the progress row, always on screen)
        assert tm.pane("#{alternate_on}") == "1"  # the app holds the screen: the check below means something
        os.kill(tm.app_pid(), signum)
        screen = tm.wait_for("EXIT=", timeout=60)
        assert f"EXIT={128 + signum}" in screen, screen
        assert tm.terminal_restored()
        assert "Traceback" not in screen
    finally:
        tm.close()
    run = only_run(tmp_path / "runs")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["epochs_done"] < 200
    assert not (run / "lock").exists()  # released: nothing says 'running' any more
    config, change = prepare_resume(run, {})  # and it can be continued
    assert config.epochs == 200 and change == {}


@needs_tmux
def test_signal_with_nothing_training_exits_at_once(tmp_path: Path) -> None:
    tm = Tmux("cifar-tui", cwd=tmp_path)
    try:
        tm.wait_for("new training run", timeout=30)
        os.kill(tm.app_pid(), signal.SIGHUP)
        wait_until(tm.terminal_restored, 5, what=tm.screen)  # the app is gone from the screen at once...
        # ...the process ends once the background import of torch (started with the launcher) returns.
        assert "EXIT=129" in tm.wait_for("EXIT=", timeout=60)
    finally:
        tm.close()
    assert not (tmp_path / "saved_runs").exists() or not any((tmp_path / "saved_runs").iterdir())


@needs_tmux
def test_terminal_gone_saves_the_run(tmp_path: Path) -> None:
    """The SSH connection drops: the terminal disappears and SIGHUP arrives. The run is still saved."""
    tm = Tmux(TRAIN, cwd=tmp_path)
    try:
        tm.wait_for(" step ", timeout=90)
        pid = tm.app_pid()
    finally:
        tm.close()  # the whole tmux server goes, as sshd's pty does
    wait_until(lambda: not _alive(pid), 60, what="the app to end with its terminal (it outlived it)", interval=0.2)
    run = only_run(tmp_path / "runs")
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    assert not (run / "lock").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")  # a zombie has ended


# ----------------------------------------------------------------------------- no terminal

@pytest.mark.parametrize("args", [(), ("train", "--dataset", "synthetic", "--epochs", "1"), ("--epochs", "1")],
                         ids=["launcher", "train", "bare-options"])
def test_no_terminal_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    out = cli(*args, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr == ("cifar-tui: error: the app needs a terminal (stdin, stdout and stderr are not a TTY); "
                          "use --no-ui for headless runs\n")
    assert not (tmp_path / "saved_runs").exists()  # nothing started


def test_watch_without_terminal_says_so(tmp_path: Path) -> None:
    from tests.helpers.tui_fixtures import interrupted_run

    run = interrupted_run(tmp_path / "runs")
    out = cli("watch", str(run), stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert out.returncode == 2 and "the app needs a terminal" in out.stderr
    assert len(out.stderr.splitlines()) == 1 and "Traceback" not in out.stderr


def test_only_stdin_redirected_is_named(tmp_path: Path) -> None:
    """stdout and stderr on a terminal, stdin from a file: the message names what is missing."""
    main, child = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "tui"], stdin=subprocess.DEVNULL, stdout=child, stderr=child,
                              cwd=tmp_path, timeout=60)
        os.close(child)
        child = -1
        text = _read_all(main)
    finally:
        if child != -1:
            os.close(child)
        os.close(main)
    assert proc.returncode == 2
    assert text.strip() == ("cifar-tui: error: the app needs a terminal (stdin is not a TTY); "
                            "use --no-ui for headless runs")


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the other end is closed and drained
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode()
