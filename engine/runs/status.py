"""RunStatus: the one vocabulary for what state a run is in.

A ``str`` enum so it compares equal to the strings already in every
summary.json on disk ("completed" == RunStatus.COMPLETED) and serialises as
itself; code names the members, never bare strings.
"""
from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    """What summary.json says, plus what only a reader can tell (stale, starting, unreadable)."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    DIVERGED = "diverged"
    STALE = "stale"
    """Summary says running, but the writing process is gone (killed, crashed, host lost)."""
    STARTING = "starting"
    """A live writer is still creating the run's files."""
    UNREADABLE = "unreadable"
    """The run's files are missing or damaged; the reason is kept beside it."""
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: object) -> "RunStatus":
        """A status from a file; anything unexpected is UNKNOWN rather than an exception."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN

    @property
    def resumable(self) -> bool:
        """A run that stopped before its end (or was cut off) can be continued in place."""
        return self in (RunStatus.INTERRUPTED, RunStatus.STALE, RunStatus.FAILED, RunStatus.DIVERGED)

    @property
    def final(self) -> bool:
        """Nothing more will be written to the run (until someone resumes it)."""
        return self not in (RunStatus.RUNNING, RunStatus.STARTING)


# Process exit code for the status a run ended with (headless train, watch, the app).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def exit_code(status: object) -> int:
    """0 completed, 130 interrupted (resumable), 1 anything else that ended a run."""
    s = RunStatus.parse(status)
    if s is RunStatus.COMPLETED:
        return EXIT_OK
    if s is RunStatus.INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_FAILED
