"""Seed groups: saved runs that are one experiment repeated with different seeds, and their mean ± std.

What ``cifar-tui runs`` and the compare screen show for repeated runs; it reads runs as
engine.analysis.compare loads them (RunData) and compares configs the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.analysis.compare import NOT_EXPERIMENT, RunData, finite, flatten


@dataclass
class SeedGroup:
    """Runs that are one experiment repeated with different seeds."""

    runs: list[RunData]
    differing: dict[str, str]  # what sets this group apart from the other groups
    stats: dict[str, tuple[float, float, int]]  # metric -> (mean, sample std, n)

    @property
    def seeds(self) -> list[Any]:
        return [r.config.get("seed") for r in self.runs]


GROUP_METRICS: dict[str, tuple[str, str]] = {
    "best_acc": ("best val", "pct"), "test_acc": ("test (last)", "pct"), "wall_time_s": ("wall", "time"),
    "img_per_s": ("img/s", "rate"),
}
"""Summary field -> (label, kind as tui.format.metric reads it): what a seed group's mean ± std shows."""


def experiment_key(run: RunData) -> tuple[tuple[str, str], ...]:
    """The config with seed and bookkeeping removed: equal keys = same experiment."""
    keep = {k: v for k, v in run.config.items() if k not in NOT_EXPERIMENT}
    return tuple(sorted((k, repr(v)) for k, v in flatten(keep).items()))


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def seed_groups(runs: list[RunData], min_size: int = 2) -> list[SeedGroup]:
    """Groups of at least min_size runs differing only by seed, largest first."""
    by_key: dict[tuple, list[RunData]] = {}
    for run in runs:
        by_key.setdefault(experiment_key(run), []).append(run)
    groups = [g for g in by_key.values() if len(g) >= min_size]
    all_keys = [dict(k) for k in by_key]
    out = []
    for members in groups:
        key = dict(experiment_key(members[0]))
        # Name a group by the fields whose value varies across groups (model, lr, ...).
        varying = {k for k in key if len({d.get(k) for d in all_keys}) > 1}
        differing = {k: key[k].strip("'") for k in sorted(varying)}
        stats = {}
        for metric in GROUP_METRICS:
            values = [v for r in members if (v := finite(r.summary.get(metric))) is not None]
            if values:
                stats[metric] = (*mean_std(values), len(values))
        out.append(SeedGroup(members, differing, stats))
    return sorted(out, key=lambda g: -len(g.runs))
