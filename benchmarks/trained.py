"""One engine run a benchmark times: train a config to the end, then read back what the run recorded.

Every benchmark that compares the engine with something else needs the same three facts of a run — that it
finished, how long it took on the wall, and its per-epoch records from ``metrics.jsonl`` (training seconds,
img/s, accuracies) — so they are read here once instead of in each script.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from engine.config import RunConfig
from engine.runs import read_metrics
from engine.training.loop import train


@dataclass(frozen=True)
class Trained:
    run_dir: str
    wall_s: float
    """Seconds from the call to the run's end: data loading, warm-up and evaluation included."""
    records: list[dict[str, Any]]
    """One dict per finished epoch, as the run wrote them to metrics.jsonl."""

    @property
    def last(self) -> dict[str, Any]:
        return self.records[-1]

    def total(self, key: str) -> float:
        """A per-epoch figure summed over the run (``train_time_s``, ``epoch_time_s``)."""
        return sum(r[key] for r in self.records)


def train_to_end(config: RunConfig, on_event: Callable[[Any], None] | None = None) -> Trained:
    """Train ``config`` to completion; a run that fails or stops early ends the benchmark with its reason."""
    t0 = time.perf_counter()
    result = train(config, on_event=on_event)
    wall = time.perf_counter() - t0
    if result.status != "completed":
        raise SystemExit(f"{config.preset or config.model}: the run ended {result.status}: {result.error}")
    return Trained(result.run_dir, wall, read_metrics(result.run_dir))
