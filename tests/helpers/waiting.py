"""Waiting for a condition with a timeout: one poll loop for plain code, one for Pilot, and a follower's.

- ``wait_until``: poll a predicate in this thread (files appearing, a process's state).
- ``pilot_wait_until``: the same inside ``app.run_test()``, letting the app run between polls.
- ``follow_to_end``: poll a RunFollower (what the dashboard and ``watch`` read) until its run ends.

(The tmux screen has its own loop, ``Tmux.wait_for``: it reads the pane.)
"""
from __future__ import annotations

import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Union

What = Union[str, Callable[[], object]]
"""What is being waited for, for the failure message: text, or a function that says it at failure time."""


def _say(what: What) -> object:
    return what() if callable(what) else what


def _ended(proc: subprocess.Popen) -> str:
    out, err = proc.communicate()  # None where not piped
    return (f"the process ended (exit {proc.returncode}) first; the end of its stdout: {repr(out)[-2000:]}, "
            f"of its stderr: {repr(err)[-3000:]}")


def wait_until(predicate: Callable[[], object], timeout: float, proc: subprocess.Popen | None = None,
               what: What = "the condition", interval: float = 0.1) -> None:
    """Poll ``predicate()`` until it is true; fail after ``timeout`` seconds.

    With ``proc``, fail as soon as that process has ended while the condition still does not hold
    (it was meant to bring the condition about), with its output in the message.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"waiting for {_say(what)}: {_ended(proc)}")
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {_say(what)}"
        time.sleep(interval)


async def pilot_wait_until(pilot: Any, predicate: Callable[[], object], timeout: float = 60.0,
                           what: What | None = None, interval: float = 0.05,
                           poke: Callable[[], Awaitable[object]] | None = None) -> None:
    """Let the app run (``pilot.pause``) until ``predicate()`` holds; fail after ``timeout`` seconds.

    The app's workers and the training thread go on meanwhile. ``poke`` is awaited between polls
    (e.g. ``lambda: pilot.press("r")``, a refresh key). The failure names the screen and the
    notifications shown unless ``what`` says otherwise.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            app = pilot.app
            said = _say(what) if what is not None else (
                f"screen {type(app.screen).__name__}, notifications {[n.message for n in app._notifications]}")
            raise AssertionError(f"timed out after {timeout} s waiting; {said}")
        if poke is not None:
            await poke()
        await pilot.pause(interval)


def follow_to_end(run: Path, deadline: float) -> list:
    """Poll a RunFollower until the run ends (by ``deadline``, a time.monotonic()); the step events it saw."""
    from engine.runs.follow import RunFollower

    follower, steps = RunFollower(run), []
    while True:
        update = follower.poll()
        if update.step is not None:
            steps.append(update.step)
        if update.finished:
            return steps
        assert time.monotonic() < deadline, steps
        time.sleep(0.2)
