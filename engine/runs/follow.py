"""Follow a run another process is writing: an incremental, offset-based tail of metrics.jsonl,
and its progress.json (engine.runs.progress) for the steps inside an epoch.

The writer appends one JSON line per epoch and fsyncs it (engine.runs.writer.RunWriter),
so a follower only ever needs the bytes past its last offset. Re-reading the
whole file each poll would be O(epochs) per second for hours-long runs; a tail
reader is O(new bytes).

A line is consumed only once its newline is on disk: a writer caught mid-line
(or killed mid-line) leaves a torn last line, which is kept back and completed
on a later poll, or ignored forever if the writer died. No textual/rich here.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import PhaseProgress, StepDone
from engine.runs.liveness import live_status, writer_alive
from engine.runs.progress import phase_event, progress_event, read_progress
from engine.runs.reader import load_run
from engine.runs.status import RunStatus


class MetricsTail:
    """Yields the new complete records of a metrics.jsonl on each ``read_new()``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.offset = 0
        self._partial = b""
        self._inode: int | None = None

    def read_new(self) -> list[dict[str, Any]]:
        """Records appended since the last call (empty when none, or no file yet)."""
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                if self._inode is not None and (st.st_ino != self._inode or st.st_size < self.offset):
                    # Replaced or truncated (a rewrite, not an append): start over.
                    self.offset, self._partial = 0, b""
                self._inode = st.st_ino
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        records = []
        for line in complete:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a damaged line: skip it rather than stop following
            if isinstance(record, dict):
                records.append(record)
        return records

    @property
    def pending_bytes(self) -> int:
        """Bytes of a torn (not yet newline-terminated) last line held back."""
        return len(self._partial)


@dataclass
class FollowUpdate:
    """One poll of a followed run: its status now and the epochs new since the last poll."""

    status: RunStatus
    records: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    step: StepDone | None = None
    """The run's newest progress (progress.json) when it changed since the last poll, as the StepDone
    an in-process run would have sent; apply it after ``records``. None when unchanged or not running."""
    phase: PhaseProgress | None = None
    """With ``step``: the phase outside the steps the run is in (evaluation, the feature cache), if any."""
    paused: bool | None = None
    """With ``step``: whether the run is paused now (by its own app or from another process)."""

    @property
    def finished(self) -> bool:
        """True once nothing more will be written (completed, interrupted, stale, ...)."""
        return RunStatus.parse(self.status).final


class RunFollower:
    """Polls a run directory: status via liveness.live_status, epochs via MetricsTail, steps via progress.json."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.tail = MetricsTail(self.run_dir / "metrics.jsonl")
        self.epochs_seen = 0
        self._progress_key: tuple[Any, ...] | None = None

    def poll(self) -> FollowUpdate:
        """Status first, records second: a final status then implies every epoch is on disk."""
        info = load_run(self.run_dir)
        if info.error:
            # Runs are created complete; files missing under a live writer can only be an old
            # engine's start-up. A dead writer is dead here too: 'unreadable', and following ends.
            status = RunStatus.STARTING if writer_alive(self.run_dir) else RunStatus.UNREADABLE
        else:
            status = live_status(self.run_dir, info.summary)
        records = self.tail.read_new()
        self._count_epochs(info.summary, records)
        record = self._new_progress() if status == RunStatus.RUNNING else None
        if record is None:
            return FollowUpdate(status, records, info.summary, info.config, info.error)
        return FollowUpdate(status, records, info.summary, info.config, info.error, progress_event(record),
                            phase_event(record), bool(record.get("paused")))

    def _count_epochs(self, summary: dict[str, Any], records: list[dict[str, Any]]) -> None:
        epochs = [summary.get("epochs_done")] + [r.get("epoch") for r in records]
        ints = [e for e in epochs if isinstance(e, int) and not isinstance(e, bool)]
        self.epochs_seen = max([self.epochs_seen, *ints])

    def _new_progress(self) -> dict[str, Any] | None:
        """progress.json, once per write; never one of an epoch whose record is in.

        Between an epoch's record and the next epoch's first progress write the file still
        holds the old epoch's last step: shown after the record it would move the display back.
        """
        record = read_progress(self.run_dir)
        if record is None or record["epoch"] <= self.epochs_seen:
            return None
        key = (record["time"], record["epoch"], record["step"])
        if key == self._progress_key:
            return None
        self._progress_key = key
        return record


__all__ = ["MetricsTail", "RunFollower", "FollowUpdate"]
