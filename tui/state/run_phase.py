"""The dashboard's run phase (one explicit state) and the clock that keeps paused time out of elapsed.

Pure Python (no textual). ``RunState`` owns both: its transition methods are the only
place the phase changes (re-exported from ``run_state``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable

from engine.runs.status import RunStatus


class Phase(str, Enum):
    """Where the run on the dashboard is: the one state the header and the keys read.

    A ``str`` enum, so it compares equal to the words it shows ("completed" == Phase.COMPLETED). Only
    ``RunState``'s transition methods change it; the final phases come from the engine's or the
    store's ``RunStatus`` (``Phase.from_status``).
    """

    STARTING = "starting"
    """Loading the data and building the model (or a followed run's files are still being created)."""
    TRAINING = "training"
    PAUSED = "paused"
    STOPPING = "stopping"
    """Stop asked: the engine finishes its step and saves the run as interrupted."""
    FOLLOWING = "following"
    """Another process writes the run; this dashboard reads its files."""
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    DIVERGED = "diverged"
    STALE = "stale"
    """A followed run whose writer is gone: it will not finish."""
    ERROR = "error"
    """Bad input found before the run directory existed (nothing was saved)."""
    UNREADABLE = "unreadable"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_status(cls, status: object) -> "Phase":
        """The phase for a RunStatus (engine RunEnded, or a store's summary): 'running' is FOLLOWING."""
        if status == cls.ERROR:
            return cls.ERROR
        return _FROM_STATUS.get(RunStatus.parse(status), cls.UNKNOWN)

    @property
    def live(self) -> bool:
        """More will happen: the elapsed clock runs and the ETA means something."""
        return self in (Phase.STARTING, Phase.TRAINING, Phase.PAUSED, Phase.STOPPING, Phase.FOLLOWING)

    @property
    def controllable(self) -> bool:
        """p (pause) and x (stop) apply: this app trains the run and no stop was asked yet."""
        return self in (Phase.STARTING, Phase.TRAINING, Phase.PAUSED)


_FROM_STATUS = {
    RunStatus.RUNNING: Phase.FOLLOWING, RunStatus.STARTING: Phase.STARTING, RunStatus.COMPLETED: Phase.COMPLETED,
    RunStatus.INTERRUPTED: Phase.INTERRUPTED, RunStatus.FAILED: Phase.FAILED, RunStatus.DIVERGED: Phase.DIVERGED,
    RunStatus.STALE: Phase.STALE, RunStatus.UNREADABLE: Phase.UNREADABLE, RunStatus.UNKNOWN: Phase.UNKNOWN,
}


@dataclass
class PauseClock:
    """Takes paused time back out of the engine's elapsed time, so the clock does not jump on resume.

    The first engine report after a pause tells how much of the pause the engine's clock counted:
    it advanced by the training time since the previous report (wall time less the pause) plus that
    part. The part is subtracted from every later report. An engine clock that stops while paused
    gives 0 here; one that runs on gives the whole pause. The engine pauses at its next step, so a
    report that comes while paused moves the pause's start to it.
    """

    now: Callable[[], float] = time.monotonic
    offset_s: float = 0.0
    """Paused seconds the engine counted; subtracted from what it reports."""
    _paused_at: float | None = None
    _unaccounted_s: float = 0.0
    """Paused seconds since the last engine report."""
    _last: tuple[float, float] | None = None
    """(engine elapsed, now()) at the last engine report."""

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = self.now()

    def started(self, engine_elapsed: float) -> None:
        """The engine's clock starts now at ``engine_elapsed`` (a new run: 0): a pause from here on is
        one it may count; a pause before (while loading) it never saw."""
        now = self.now()
        self._last, self._unaccounted_s = (engine_elapsed, now), 0.0
        if self._paused_at is not None:
            self._paused_at = now

    def resume(self) -> None:
        if self._paused_at is None:
            return
        now = self.now()
        since = max(self._paused_at, self._last[1]) if self._last else self._paused_at
        self._unaccounted_s += max(0.0, now - since)
        self._paused_at = None

    def report(self, engine_elapsed: float) -> float:
        """The elapsed time to show for what the engine reports now (training time only)."""
        now = self.now()
        if self._paused_at is not None:  # it reports, so it worked until now: its pause starts here
            self._paused_at = now
        if self._last is not None and self._unaccounted_s > 0:
            engine_step, wall_step = engine_elapsed - self._last[0], now - self._last[1]
            counted = engine_step - (wall_step - self._unaccounted_s)
            self.offset_s += min(self._unaccounted_s, max(0.0, counted))
        self._unaccounted_s = 0.0
        self._last = (engine_elapsed, now)
        return max(0.0, engine_elapsed - self.offset_s)
