"""Comparing saved runs: pure data in, plain tables out. No UI here.

Everything the compare screen and ``cifar-tui compare --no-ui`` show is
computed by these functions, so the two never disagree and tests can check
the numbers without a terminal.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from engine.config import UserError
from engine.runs import RunMeta, RunStatus, complete_records, load_run, read_meta
from engine.runs.meta import display_name
from engine.training.selection import chose_by_validation

# Identity and bookkeeping: they differ between any two runs and say nothing
# about the experiment, so the "differing fields" view hides them.
HIDDEN_FIELDS = frozenset({"run_id", "runs_dir", "environment.pid", "resumes"})
"""Not settings: a resume's history is shown on its own line (resume_note), not as a config difference."""
# Ignored when deciding that runs are the same experiment repeated with other
# seeds: where the run was stored, named, or which machine/data path it used.
NOT_EXPERIMENT = ("seed", "run_id", "runs_dir", "name", "data_dir", "download", "environment", "extra")


@dataclass
class RunData:
    """One saved run with its per-epoch records, ready to compare."""

    run_id: str
    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: list[dict[str, Any]]
    meta: RunMeta = field(default_factory=RunMeta)
    status: str = RunStatus.COMPLETED.value
    probe_acc: float | None = None
    """Test accuracy of the newest linear probe trained on this run's frozen features (study 001)."""

    @property
    def label(self) -> str:
        """The display name, else the run id."""
        return display_name(self.run_id, self.meta)

    @property
    def class_names(self) -> list[str]:
        """As text: a hand-edited summary may hold numbers here, and they become table cells and CSV columns."""
        names = self.summary.get("class_names")
        return [str(n) for n in names] if isinstance(names, list) else []


def load_compare_run(run_dir: str | Path) -> RunData:
    """Read one run for comparison; UserError (one line) when it cannot be read."""
    info = load_run(run_dir)
    if info.error:
        raise UserError(f"run {info.run_id} is unreadable ({info.error})")
    return RunData(info.run_id, info.path, info.config, info.summary, complete_records(info),
                   read_meta(info.path), info.status)


def load_compare_runs(run_dirs: Iterable[str | Path]) -> list[RunData]:
    """Several runs, in the order given; the same directory twice is kept once."""
    runs: list[RunData] = []
    seen: set[Path] = set()
    for d in run_dirs:
        key = Path(d).resolve()
        if key not in seen:
            seen.add(key)
            runs.append(load_compare_run(d))
    attach_probes(runs)
    return runs


def attach_probes(runs: list[RunData]) -> None:
    """Set each run's probe_acc from the linear-probe runs beside it (one scan per runs directory)."""
    from engine.analysis.probe import probes_of

    by_dir: dict[Path, list[RunData]] = {}
    for run in runs:
        by_dir.setdefault(run.path.parent, []).append(run)
    for folder, group in by_dir.items():
        found = probes_of(folder, [r.run_id for r in group])
        for run in group:
            probes = [p for p in found[run.run_id] if p["test_acc"] is not None]
            run.probe_acc = probes[0]["test_acc"] if probes else None


# ----------------------------------------------------------------------------- configuration


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists are kept as values."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def fmt_value(value: Any) -> str:
    """A config value as a short string; absent fields show as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        return str(value) if value else "-"
    return str(value)


def resume_note(run: RunData) -> str:
    """'resumed twice: at epoch 3 (lr 0.1 -> 0.01), at epoch 5' ('' for a run never resumed)."""
    resumes = run.config.get("resumes")
    if not isinstance(resumes, list) or not resumes:
        return ""
    parts = []
    for r in resumes:
        if not isinstance(r, dict):
            continue
        changed = r.get("changed")
        changed = changed if isinstance(changed, dict) else {}
        what = ", ".join(f"{k} {v[0]} -> {v[1]}" for k, v in changed.items() if isinstance(v, list) and len(v) == 2)
        parts.append(f"at epoch {r.get('from_epoch', '?')}" + (f" ({what})" if what else ""))
    times = {1: "once", 2: "twice"}.get(len(parts), f"{len(parts)} times")
    return f"resumed {times}: " + ", ".join(parts)


def config_rows(runs: list[RunData], show_all: bool = False) -> list[tuple[str, list[str]]]:
    """(field, value per run): only fields whose values differ, unless show_all; resumes never (resume_note)."""
    flat = [{k: v for k, v in flatten(r.config).items() if not k.startswith("resumes")} for r in runs]
    keys: list[str] = []
    for f in flat:
        keys.extend(k for k in f if k not in keys)
    rows = []
    for key in keys:
        values = [fmt_value(f.get(key)) for f in flat]
        if show_all or (key not in HIDDEN_FIELDS and len(set(values)) > 1):
            rows.append((key, values))
    return rows


# ----------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    higher_is_better: bool
    kind: str  # pct, points, loss, loss_delta, rate, time (tui.format.metric)
    has_best: bool = True  # a value "at the best epoch" makes sense (not for wall time)
    absolute: bool = False  # the winner is compared by |value| (a gap: nearest zero wins)


METRICS = (
    MetricSpec("val_acc", "val acc", True, "pct"),
    MetricSpec("test_acc", "test acc", True, "pct"),
    MetricSpec("test_top5", "test top-5", True, "pct"),
    MetricSpec("train_acc", "train acc", True, "pct"),
    MetricSpec("val_loss", "val loss", False, "loss"),
    MetricSpec("test_loss", "test loss", False, "loss"),
    MetricSpec("train_loss", "train loss", False, "loss"),
    # The generalisation gap (engine.training.metrics): closest to zero is best (least over- or underfitting).
    MetricSpec("gap_acc", "gap acc", False, "points", absolute=True),
    MetricSpec("gap_loss", "gap loss", False, "loss_delta", absolute=True),
    MetricSpec("img_per_s", "img/s", True, "rate"),
    MetricSpec("epoch_time_s", "epoch time", False, "time"),
    MetricSpec("wall_time_s", "wall time", False, "time", has_best=False),
)


PROBE_SPEC = MetricSpec("probe_acc", "linear probe", True, "pct", has_best=False)


@dataclass
class MetricRow:
    """One metric across runs: at each run's best-validation epoch and at its last epoch, with the winner of each.

    "Best" is never the maximum over epochs: for test metrics that would pick an
    epoch by its test score. It is the value at the epoch the validation split
    chose (the last epoch for a run without a validation split).
    """

    spec: MetricSpec
    best: list[float | None]
    last: list[float | None]
    best_winner: int | None
    last_winner: int | None


def finite(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def series(run: RunData, key: str) -> list[float | None]:
    """One metric per epoch, in epoch order."""
    return [finite(r.get(key)) for r in run.metrics]


def _winner(values: list[float | None], higher: bool, absolute: bool = False) -> int | None:
    """Index of the single best value (by |value| if ``absolute``); None when fewer than two runs have one or
    the best is shared."""
    if absolute:
        values = [abs(v) if v is not None else None for v in values]
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return None
    best = max(present) if higher else min(present)
    if present.count(best) > 1:
        return None  # a tie has no winner to highlight
    return values.index(best)


def best_epoch_index(run: RunData) -> int | None:
    """Index in run.metrics of the epoch validation chose (the last one without a validation split)."""
    if not run.metrics:
        return None
    chosen = run.summary.get("best_epoch") if chose_by_validation(run.summary) else None
    for i, record in enumerate(run.metrics):
        if record.get("epoch") == chosen:
            return i
    return len(run.metrics) - 1


def metric_rows(runs: list[RunData]) -> list[MetricRow]:
    """The metrics side by side; rows no run has are left out."""
    rows = []
    for spec in METRICS:
        best, last = [], []
        for run in runs:
            values = series(run, spec.key)
            at = best_epoch_index(run)
            if not any(v is not None for v in values):  # a run with no epochs yet: fall back on its summary
                values, at = [finite(run.summary.get(spec.key))], 0
            best.append(values[at] if spec.has_best and at is not None and at < len(values) else None)
            last.append(values[-1] if values else None)
        if any(v is not None for v in best + last):
            rows.append(MetricRow(spec, best, last, _winner(best, spec.higher_is_better, spec.absolute),
                                  _winner(last, spec.higher_is_better, spec.absolute)))
        if spec.key == "test_acc" and any(r.probe_acc is not None for r in runs):
            probe = [r.probe_acc for r in runs]  # beside the run's own test accuracy, as study 001 sets them
            rows.append(MetricRow(PROBE_SPEC, [None] * len(runs), probe, None, _winner(probe, True)))
    return rows


# ----------------------------------------------------------------------------- per class, confusion


@dataclass
class PerClass:
    """Final per-class accuracy of each run; delta is B − A for two runs, else max − min."""

    class_names: list[str]
    values: list[list[float | None]]  # [class][run]
    delta: list[float | None]
    delta_label: str


def per_class_rows(runs: list[RunData]) -> PerClass:
    """Per-class accuracy side by side (classes in the first run's order, then any others)."""
    names: list[str] = []
    for r in runs:
        names.extend(n for n in r.class_names if n not in names)
    values = [[finite((r.summary.get("per_class_acc") or {}).get(n)) for r in runs] for n in names]
    delta: list[float | None] = []
    for row in values:
        present = [v for v in row if v is not None]
        if len(runs) == 2:
            a, b = row
            delta.append(b - a if a is not None and b is not None else None)
        else:
            delta.append(max(present) - min(present) if len(present) >= 2 else None)
    return PerClass(names, values, delta, "B−A" if len(runs) == 2 else "spread")


@dataclass
class ConfusionDiff:
    """B − A of two confusion matrices (rows = true class).

    When the two test sets differ in size, counts are not comparable, so the
    difference is of row-normalised rates instead (normalized=True).
    """

    class_names: list[str]
    cells: list[list[float]]
    normalized: bool


def confusion_diff(a: RunData, b: RunData) -> ConfusionDiff:
    """The confusion difference B − A; UserError when the runs' classes differ."""
    if a.class_names != b.class_names:
        raise UserError("the two runs have different classes; their confusion matrices cannot be compared")
    ca, cb = _counts(a), _counts(b)
    if ca is None or cb is None:
        raise UserError("a run has no confusion matrix yet (no epoch finished), or a damaged one")
    if [sum(r) for r in ca] == [sum(r) for r in cb]:
        return ConfusionDiff(a.class_names, [[y - x for x, y in zip(ra, rb)] for ra, rb in zip(ca, cb)], False)

    def rates(m: list[list[int]]) -> list[list[float]]:
        return [[v / max(1, sum(row)) for v in row] for row in m]

    na, nb = rates(ca), rates(cb)
    return ConfusionDiff(a.class_names, [[y - x for x, y in zip(ra, rb)] for ra, rb in zip(na, nb)], True)


def _counts(run: RunData) -> list[list[int]] | None:
    """The run's confusion matrix as n x n whole counts (n = its classes); None when absent or malformed."""
    m, n = run.summary.get("confusion"), len(run.class_names)
    if not isinstance(m, list) or not m or len(m) != n:
        return None
    ok = all(isinstance(row, list) and len(row) == n and all(type(v) is int for v in row) for row in m)
    return m if ok else None


def largest_changes(diff: ConfusionDiff, k: int = 20) -> list[tuple[int, int, float]]:
    """The k cells (true, predicted, B − A) that changed most: how to read a 100-class difference."""
    cells = [(i, j, v) for i, row in enumerate(diff.cells) for j, v in enumerate(row) if v]
    return sorted(cells, key=lambda c: (-abs(c[2]), c[0], c[1]))[:k]


# ----------------------------------------------------------------------------- curves


CURVE_METRICS = {
    "val_acc": "val acc", "test_acc": "test acc", "train_acc": "train acc",
    "test_loss": "test loss", "val_loss": "val loss", "train_loss": "train loss",
}


@dataclass
class Curve:
    label: str
    x: list[float]
    y: list[float]


def curves(runs: list[RunData], metric: str, x_axis: str = "epoch") -> list[Curve]:
    """One curve per run for metric; x is the epoch or the wall time in seconds.

    Epochs without the metric (e.g. no val split) are skipped, so a run with
    none of it yields an empty curve rather than a wrong one.
    """
    if metric not in CURVE_METRICS:
        raise UserError(f"unknown curve metric {metric!r}; choose one of: {', '.join(CURVE_METRICS)}")
    xkey = {"epoch": "epoch", "wall": "wall_time_s"}.get(x_axis)
    if xkey is None:
        raise UserError("x axis must be 'epoch' or 'wall'")
    out = []
    for run in runs:
        raw = [(finite(r.get(xkey)), finite(r.get(metric))) for r in run.metrics]
        pts = [(x, y) for x, y in raw if x is not None and y is not None]
        out.append(Curve(run.label, [p[0] for p in pts], [p[1] for p in pts]))
    return out
