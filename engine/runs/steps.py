"""steps.jsonl: the training loss and learning rate inside each epoch, about ten points an epoch.

metrics.jsonl has one line an epoch; a live dashboard draws its loss chart from the ~10 Hz step
events, so a finished or followed run would lose that detail. The writer keeps a point each time
an epoch's progress crosses a tenth (at the progress rate, never per step): {epoch, step,
steps_per_epoch, loss, lr, elapsed_s}. Appended and flushed, not fsynced: losing the newest point in
a power cut costs a dot on a chart. A resume cuts the file back to its checkpoint, as metrics.jsonl.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from engine.events import StepDone
from engine.runs.files import atomic_write, dumps

STEPS_FILE = "steps.jsonl"
POINTS_PER_EPOCH = 10


class StepLog:
    """Appends a point when an epoch's progress enters a new tenth."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / STEPS_FILE
        self._file: Any = None
        self._mark: tuple[int, int] = (0, -1)

    def add(self, e: StepDone) -> bool:
        """Keep the point when it enters a new tenth of its epoch; whether it was kept."""
        mark = (e.epoch, e.step * POINTS_PER_EPOCH // max(1, e.steps_per_epoch))
        if mark <= self._mark or not (math.isfinite(e.loss) and math.isfinite(e.lr)):
            return False
        self._mark = mark
        record = {"epoch": e.epoch, "step": e.step, "steps_per_epoch": e.steps_per_epoch,
                  "loss": round(e.loss, 5), "lr": e.lr, "elapsed_s": round(e.elapsed_s, 3)}
        try:
            if self._file is None:
                self._file = open(self.path, "a", encoding="utf-8")
            self._file.write(dumps(record) + "\n")
            self._file.flush()
        except OSError:
            pass  # a chart's detail; the epoch's own writes report a full disk
        return True

    def cut_to(self, epoch: int, step: int) -> None:
        """Keep the points up to a checkpoint (epoch, step into the next epoch): what a resume continues."""
        kept = [p for p in read_steps(self.path.parent) if (p["epoch"], p["step"]) <= (epoch + 1, step)]
        text = "".join(dumps(p) + "\n" for p in kept)
        try:
            atomic_write(self.path, lambda f: f.write(text), durable=False)
        except OSError:
            pass
        if kept:
            last = kept[-1]
            self._mark = (last["epoch"], last["step"] * POINTS_PER_EPOCH // max(1, last["steps_per_epoch"]))

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None


def read_steps(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every well-formed point of steps.jsonl (a torn or damaged line is skipped); [] for older runs."""
    try:
        raw = (Path(run_dir) / STEPS_FILE).read_bytes()
    except OSError:
        return []
    points = []
    for line in raw.split(b"\n")[:-1]:
        try:
            p = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if _valid(p):
            points.append(p)
    return points


def _valid(p: Any) -> bool:
    def count(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool)

    def real(x: Any) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

    return (isinstance(p, dict) and count(p.get("epoch")) and count(p.get("step")) and count(p.get("steps_per_epoch"))
            and p["steps_per_epoch"] > 0 and real(p.get("loss")) and real(p.get("lr")))
