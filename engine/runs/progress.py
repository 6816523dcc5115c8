"""progress.json: where a running run is inside its epoch, for processes that follow it.

Outside the steps (the epoch's evaluation, the feature cache's pass) the newest PhaseProgress
rides along under ``phase``: {name, done, total, unit, run_eta_s}, so a follower shows
"evaluating val 3,000/5,000" instead of a bar stuck at its last step.

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

from engine.events import PhaseProgress, StepDone
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


def phase_record(event: PhaseProgress) -> dict[str, Any]:
    return {"name": event.phase, "done": event.done, "total": event.total, "unit": event.unit,
            "run_eta_s": None if event.run_eta_s is None else round(event.run_eta_s, 3)}


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
        self._step: dict[str, Any] | None = None

    def tick(self, event: StepDone | PhaseProgress) -> str | None:
        """Write ``event`` if the interval has passed. Returns why a write failed, the first time only.

        A phase is written with the newest step (it happens inside that step's epoch); one before any
        step (nothing to attach it to) is not written. Best effort: a full disk must not stop training
        here (the epoch's own writes will say so).
        """
        if isinstance(event, StepDone):
            self._step = progress_record(event)
            record = self._step
        elif self._step is None:
            return None
        else:
            record = {**self._step, "phase": phase_record(event)}
        now = self.clock()
        if now - self._last < self.interval:
            return None
        self._last = now
        return self._write(record)

    def set_paused(self, paused: bool) -> None:
        """Say at once that the run paused (or goes on): a paused loop sends no ticks that would."""
        if self._step is not None:
            self._step = {**self._step, "paused": paused}
            self._write(self._step)

    def _write(self, record: dict[str, Any]) -> str | None:
        text = dumps({**record, "time": round(time.time(), 3)})
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
    if not isinstance(data.get("paused", False), bool):
        return None
    if "phase" in data and not _valid_phase(data["phase"]):
        data = {k: v for k, v in data.items() if k != "phase"}  # a damaged phase costs the phase only
    return data


def _valid_phase(p: Any) -> bool:
    def count(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0

    return (isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("unit"), str)
            and count(p.get("done")) and (p.get("total") is None or count(p.get("total")))
            and (p.get("run_eta_s") is None or _real(p.get("run_eta_s"))))


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


def phase_event(record: dict[str, Any]) -> PhaseProgress | None:
    """The phase a valid progress record carries (None when it is inside its steps)."""
    p = record.get("phase")
    if p is None:
        return None
    eta = None if p.get("run_eta_s") is None else float(p["run_eta_s"])
    return PhaseProgress(p["name"], p["done"], p["total"], p["unit"], run_eta_s=eta)


__all__ = ["phase_event", "PROGRESS_FILE", "PROGRESS_INTERVAL_S", "ProgressWriter", "progress_record", "read_progress",
           "progress_event", "valid_progress"]
