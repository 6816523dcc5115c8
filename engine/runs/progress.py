"""progress.json: where a running run is inside its epoch, for processes that follow it.

metrics.jsonl only grows once an epoch ends, so a follower (``cifar-tui watch``, the
app's dashboard on a run started elsewhere) would sit at "epoch 0/3 · 0%" for a whole
epoch. The training loop therefore replaces progress.json at most once every
PROGRESS_INTERVAL_S (a time throttle checked on the ~10 Hz step events, never per
step): the newest StepDone as JSON, plus the wall clock it was written at.

The file is atomic but not durable (files.atomic_write(durable=False)): losing the
last second of progress in a power cut costs nothing. The writer removes it when
the run ends (RunWriter.close); from then on summary.json says everything. A run
whose writer was killed keeps its last progress.json (where it got to) until a
resume takes the run over and removes it.

A reader never trusts the file: missing, torn, hand-edited or nonsensical content
reads as "no progress" (None), never as an exception.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

from engine.events import StepDone
from engine.runs.files import StoreWriteError, atomic_write, dumps, read_json

PROGRESS_FILE = "progress.json"
PROGRESS_INTERVAL_S = 1.0
"""Followers poll every 0.5-1 s: a second between writes keeps their clock ticking, at ~1 small write a second."""

_INTS = ("epoch", "step", "steps_per_epoch")
_REALS = ("loss", "lr", "img_per_s", "elapsed_s", "time")
_OPTIONAL_REALS = ("eta_s",)
_OPTIONAL_INTS = ("gpu_mem", "gpu_peak")


def progress_record(event: StepDone, now: float | None = None) -> dict[str, Any]:
    """The JSON object written for one StepDone (``time``: Unix seconds of the write)."""
    return {
        "epoch": event.epoch, "step": event.step, "steps_per_epoch": event.steps_per_epoch,
        "loss": event.loss, "lr": event.lr, "img_per_s": round(event.img_per_s, 1),
        "eta_s": None if event.eta_s is None else round(event.eta_s, 3), "elapsed_s": round(event.elapsed_s, 3),
        "time": round(time.time() if now is None else now, 3), "gpu_mem": event.gpu_mem, "gpu_peak": event.gpu_peak,
    }


class ProgressWriter:
    """Replaces one run's progress.json, at most once every ``interval`` seconds of ``clock``."""

    def __init__(self, run_dir: str | Path, interval: float = PROGRESS_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.path = Path(run_dir) / PROGRESS_FILE
        self.interval = interval
        self.clock = clock
        self.writes = 0
        self.failed = False
        self._last = -math.inf

    def tick(self, event: StepDone) -> str | None:
        """Write ``event`` if the interval has passed. Returns why a write failed, the first time only.

        Best effort: a full disk must not stop training here (the epoch's own writes will say so).
        """
        now = self.clock()
        if now - self._last < self.interval:
            return None
        self._last = now
        text = dumps(progress_record(event))
        try:
            atomic_write(self.path, lambda f: f.write(text), durable=False)
        except (OSError, StoreWriteError) as exc:
            return self._failure(str(exc))
        self.writes += 1
        return None

    def _failure(self, message: str) -> str | None:
        first, self.failed = not self.failed, True
        return f"progress.json not updated: {message}" if first else None

    def remove(self) -> None:
        """The run is no longer being written: followers go by summary.json alone."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass


def _real(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def valid_progress(data: Any) -> dict[str, Any] | None:
    """``data`` if it is a sensible progress record, else None."""
    if not isinstance(data, dict):
        return None
    if not all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool) for k in _INTS):
        return None
    if not all(_real(data.get(k)) for k in _REALS):
        return None
    if any(data.get(k) is not None and not _real(data.get(k)) for k in _OPTIONAL_REALS):
        return None
    if any(data.get(k) is not None and (not isinstance(data[k], int) or isinstance(data[k], bool))
           for k in _OPTIONAL_INTS):
        return None
    if not (data["epoch"] >= 1 and data["steps_per_epoch"] >= 1 and 0 <= data["step"] <= data["steps_per_epoch"]):
        return None
    return data


def read_progress(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's progress record, or None when there is none or it cannot be trusted."""
    try:
        data = read_json(Path(run_dir) / PROGRESS_FILE)
    except (OSError, ValueError, RecursionError):  # missing, a directory, torn, not UTF-8, not JSON, '[[[[...'
        return None
    return valid_progress(data)


def progress_event(record: dict[str, Any]) -> StepDone:
    """A valid progress record as the StepDone an in-process run would have sent."""
    return StepDone(
        record["epoch"], record["step"], record["steps_per_epoch"], float(record["loss"]), float(record["lr"]),
        float(record["img_per_s"]), float(record["elapsed_s"]),
        None if record.get("eta_s") is None else float(record["eta_s"]),
        record.get("gpu_mem"), record.get("gpu_peak"),
    )


__all__ = ["PROGRESS_FILE", "PROGRESS_INTERVAL_S", "ProgressWriter", "progress_record", "read_progress",
           "progress_event", "valid_progress"]
