"""Leave when the terminal goes away, whatever the app is doing at that moment.

An SSH session that drops, or a terminal closed right after `q`, hangs up the tty: SIGHUP comes,
reads return nothing and terminal calls fail with EIO. The app's own SIGHUP handler runs on its
event loop, so it only helps while the loop turns; during start-up or shutdown the loop may be
gone or waiting on Textual's input thread, which on a hung-up tty reads 0 bytes and selects again
forever (at most of a core). This watchdog does not depend on the loop: a daemon thread that looks
at the terminal twice a second. Once it is lost it asks the app to stop (the same clean stop as a
signal: the run finishes its step and is saved, resumable), waits until no run is training or
GRACE_S passes, then ends the process with 128 + SIGHUP, as a shell reports a hang-up.

``hangup_safe_driver``: Textual's terminal driver whose writes to a hung-up terminal are dropped
instead of killing its output thread (which would leave the UI thread blocked on a full queue).
"""
from __future__ import annotations

import os
import signal
import sys
import termios
import threading
import time
from typing import Any, Callable

POLL_S = 0.5
GRACE_S = 20.0
"""Long enough to finish a step and write a checkpoint; a run cut short here is still resumable
(every file the store writes is replaced atomically), only the newest step would be lost."""
AFTER_SAVED_S = 2.0
"""Once nothing trains, the app's own exit has this long to finish before the process is ended."""


def terminal_lost(fd: int) -> bool:
    """Whether ``fd``'s terminal was hung up (or closed): the calls on it fail."""
    try:
        termios.tcgetattr(fd)
    except (OSError, termios.error):
        return True
    return not os.isatty(fd)


class HangupWatch(threading.Thread):
    """Ends the process cleanly once its terminal is gone (see the module's docstring)."""

    def __init__(self, app: Any, fds: tuple[int, ...] | None = None,
                 exit_now: Callable[[int], None] = os._exit):
        super().__init__(name="hangup-watch", daemon=True)
        self.app = app
        self.fds = fds if fds is not None else (sys.stdin.fileno(), sys.stdout.fileno())
        self.exit_now = exit_now
        self.done = threading.Event()
        """Set by the app's normal end: nothing to watch any more."""

    def run(self) -> None:
        while not self.done.wait(POLL_S):
            if any(terminal_lost(fd) for fd in self.fds):
                self._leave()
                return

    def _leave(self) -> None:
        self._ask_app_to_stop()
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline and self._training():
            if self.done.wait(0.2):
                return
        if self.done.wait(AFTER_SAVED_S):
            return
        self.exit_now(128 + signal.SIGHUP)

    def _ask_app_to_stop(self) -> None:
        """The app's own signal path, scheduled on its loop without waiting for it (it may be stuck)."""
        loop = getattr(self.app, "_loop", None)
        try:
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self.app.on_stop_signal, int(signal.SIGHUP))
        except RuntimeError:  # the loop closed in between: nothing left to stop
            pass

    def _training(self) -> bool:
        try:
            return self.app.training_screen() is not None
        except Exception:  # noqa: BLE001 - the app is being torn down: nothing trains any more
            return False


class HangupSafeOutput:
    """The terminal as Textual's output thread sees it, minus one hang: once the terminal has hung up
    (an SSH connection dropped: every write fails with EIO), writes are dropped.

    Textual's output thread dies on its first failed write; its bounded queue then fills and the
    app's next write blocks the UI thread forever: the run is saved, but the process never exits.
    """

    def __init__(self, file: Any) -> None:
        self._file = file
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._file.write(text)
            except OSError:
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except OSError:
                self.gone = True

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding...
        return getattr(self._file, name)


def hangup_safe_driver() -> Any:
    """Textual's terminal driver with hang-up-safe output (None: Textual's choice, e.g. on Windows)."""
    if sys.platform == "win32" or os.environ.get("TEXTUAL_DRIVER"):
        return None
    from textual.drivers.linux_driver import LinuxDriver

    class HangupSafeDriver(LinuxDriver):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if hasattr(self, "_file"):
                self._file = HangupSafeOutput(self._file)  # type: ignore[assignment]

    return HangupSafeDriver
