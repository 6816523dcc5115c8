"""A sweep as a table: every trial with its status, params, best validation accuracy and run, the best
trial, and which params mattered. Plain data, read from the study and the run store, no printing:
``cifar-tui sweep``/``sweeps`` format it, and a screen can draw the same.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine.runs import RunInfo, RunStatus, load_run
from engine.sweeps.claims import WORKER_ATTR, worker_alive
from engine.sweeps.definition import SweepDefinition
from engine.sweeps.events import TrialRow

MIN_IMPORTANCE_TRIALS = 5
"""Completed trials before parameter importance is estimated: with fewer it is noise."""
STATUSES = ("completed", "running", "interrupted", "pruned", "failed", "waiting")


@dataclass
class SweepTable:
    name: str
    sampler: str
    trials: int
    params: list[str]
    rows: list[TrialRow]
    """Sorted by best validation accuracy, highest first; trials without one last, by number."""
    counts: dict[str, int]
    best: TrialRow | None = None
    importances: dict[str, float] = field(default_factory=dict)
    """Param -> share of the variation in the objective it explains (PED-ANOVA over completed trials);
    empty until MIN_IMPORTANCE_TRIALS have completed."""


Loader = Callable[[Path], RunInfo]


def sweep_table(study: Any, defn: SweepDefinition, runs_dir: str | Path, importance: bool = True,
                load: Loader = load_run) -> SweepTable:
    """The whole table of one sweep (runs found under ``runs_dir``, else where a trial recorded them).
    ``load`` reads a trial's run (engine.sweeps.watch passes one that re-reads only changed files)."""
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]
    rows = [trial_row(t, Path(runs_dir), load) for t in trials]
    rows.sort(key=lambda r: (r.best_val is None, -(r.best_val or 0.0), r.number))
    done = [r for r in rows if r.status == "completed"]
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    return SweepTable(defn.name, defn.sampler, defn.trials, [p.field for p in defn.params], rows, counts,
                      done[0] if done else None, importances(study) if importance else {})


def state_counts(trials: list[Any]) -> dict[str, int]:
    """Trials that have ended, by how (from the study alone, no run read)."""
    from optuna.trial import TrialState

    names = {TrialState.COMPLETE: "completed", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}
    counts = {name: 0 for name in names.values()}
    for t in trials:
        if t.state in names and not t.user_attrs.get("surplus"):
            counts[names[t.state]] += 1
    return counts


def trial_row(frozen: Any, runs_dir: Path, load: Loader = load_run) -> TrialRow:
    from optuna.trial import TrialState

    attrs = frozen.user_attrs
    run = _run_dir(attrs, runs_dir)
    info = load(run) if run is not None else None
    summary = info.summary if info is not None else {}
    values = [v for v in frozen.intermediate_values.values() if isinstance(v, float) and math.isfinite(v)]
    best = frozen.value if frozen.state == TrialState.COMPLETE else (max(values) if values else summary.get("best_acc"))
    worker = attrs.get(WORKER_ATTR)
    params = frozen.params or frozen.system_attrs.get("fixed_params") or {}  # a waiting grid point: its values
    return TrialRow(
        frozen.number, _status(frozen, info, worker), dict(params), best,
        summary.get("epochs_done", len(values) or None), info.config.get("epochs") if info is not None else None,
        attrs.get("pruned_at"), attrs.get("error"), attrs.get("run_id"), str(run) if run is not None else None,
        worker.get("host") if isinstance(worker, dict) else None)


def _run_dir(attrs: dict[str, Any], runs_dir: Path) -> Path | None:
    """The trial's run here: under this runs directory by id (the same files mounted elsewhere), else where
    its driver saw it."""
    run_id, there = attrs.get("run_id"), attrs.get("run_dir")
    if not isinstance(run_id, str) or not run_id:
        return None
    if (runs_dir / run_id).is_dir():
        return runs_dir / run_id
    return Path(there) if isinstance(there, str) and Path(there).is_dir() else None


def _status(frozen: Any, info: Any, worker: Any) -> str:
    from optuna.trial import TrialState

    fixed = {TrialState.COMPLETE: "completed", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
             TrialState.WAITING: "waiting"}
    if frozen.state in fixed:
        return fixed[frozen.state]
    # Running while its driver lives (a run just ended waits for it to tell the study), or while its run's
    # process still writes it (a killed driver's trial, saving); else left for the next command.
    writing = info is not None and info.status in (RunStatus.RUNNING, RunStatus.STARTING)
    return "running" if worker_alive(worker) or writing else "interrupted"


def importances(study: Any) -> dict[str, float]:
    """PED-ANOVA (Optuna's default, no extra packages), its top quantile sized for small sweeps: the
    top 3 completed trials against all (the default top 10% needs 20+ trials before it sees anything)."""
    import optuna
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    varied = [name for name in {k for t in done for k in t.params}
              if len({repr(t.params.get(name)) for t in done}) > 1]
    if len(done) < MIN_IMPORTANCE_TRIALS or not varied:
        return {}
    evaluator = optuna.importance.PedAnovaImportanceEvaluator(target_quantile=min(0.5, 3 / len(done)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(study, evaluator=evaluator, params=sorted(varied)))
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}
