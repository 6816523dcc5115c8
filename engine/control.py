"""Thread-safe control of a running loop: stop, pause, resume.

The loop polls these between steps (toolong's pattern: check a flag between
units of work), so a stop always lands on a step boundary and the run can be
saved consistently.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import Callable, Iterator

WATCH_S = 0.5


class Control:
    """Flags set by the UI or a signal handler, read by the training loop."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._watch: Callable[[], None] | None = None

    def watch(self, poll: Callable[[], None]) -> None:
        """Call ``poll`` about every WATCH_S while paused: another process may resume or stop the run
        (engine.runs.remote), and a paused loop sends no events that would otherwise look."""
        self._watch = poll

    def stop(self) -> None:
        """Ask the loop to finish the current step, save and return."""
        self._stop.set()
        self._running.set()  # a paused loop must wake up to see the stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def apply(self, action: str) -> None:
        """Obey an action by its name, as engine.runs.remote spells them: stop, pause or resume."""
        {"stop": self.stop, "pause": self.pause, "resume": self.resume}[action]()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> None:
        """Block while paused (returns at once when running or stopping)."""
        if self._watch is None:
            self._running.wait(timeout)
            return
        end = None if timeout is None else time.monotonic() + timeout
        while not self._running.wait(WATCH_S):
            self._watch()
            if end is not None and time.monotonic() >= end:
                return


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[Control]:
    """A Control that Ctrl-C stops (the next step, then the run is saved), while the block runs.

    Only in the main thread, where Python delivers signals; elsewhere the Control is plain. A second
    Ctrl-C raises KeyboardInterrupt as usual. The previous handler comes back afterwards.
    """
    control = Control()
    if threading.current_thread() is not threading.main_thread():
        yield control
        return

    def on_interrupt(signum: int, frame: object) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        control.stop()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield control
    finally:
        signal.signal(signal.SIGINT, previous)


def parent_death_signal() -> Callable[[], None] | None:
    """A child process's preexec_fn, Linux only: the child gets SIGTERM when its parent dies, even by kill -9,
    and a training run saves itself as interrupted (resumable) instead of training on unwatched. Elsewhere
    None: the child trains on, and the next parent finds its run still being written."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG; it follows the exec into python -m tui
        if os.getppid() != parent:  # the parent died before the line above: nobody would send it
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
