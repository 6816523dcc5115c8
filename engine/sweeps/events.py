"""What a sweep's driver tells whoever shows it (the CLI's lines today, a screen later): plain data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SweepStarted:
    name: str
    sampler: str
    trials: int
    parallel: int
    threads: int
    gpus: list[str]
    storage: str
    """Where the study is: the journal file's path, or the database URL without its password."""
    done_before: dict[str, int] = field(default_factory=dict)
    """Trials that had ended before this command, by state (a sweep continued)."""


@dataclass
class TrialResumed:
    """An unfinished trial of an earlier (stopped or killed) command continues in its own run."""

    number: int
    run_id: str
    epochs_done: int


@dataclass
class TrialRow:
    """One trial as a sweep's table shows it (engine.sweeps.table), and as its end is told (TrialEnded)."""

    number: int
    status: str
    """completed, running, interrupted (saved, resumable: the same command continues it), pruned, failed, waiting."""
    params: dict[str, Any]
    best_val: float | None = None
    """Completed: the objective, the best validation accuracy. Otherwise the best so far (pruned: the last reported)."""
    epochs_done: int | None = None
    epochs: int | None = None
    pruned_at: int | None = None
    error: str | None = None
    run_id: str | None = None
    run_dir: str | None = None
    host: str | None = None


@dataclass
class TrialEnded(TrialRow):
    """A trial of this command ended: completed, pruned, failed, or interrupted (saved and resumable)."""

    wall_time_s: float | None = None


@dataclass
class SweepNote:
    text: str


SweepEvent = SweepStarted | TrialResumed | TrialEnded | SweepNote
