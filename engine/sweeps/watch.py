"""A sweep read again and again, cheaply: what a screen polls every couple of seconds.

``sweep_table`` read from scratch each time would, for a sweep of hundreds of trials, re-read
hundreds of config.json and summary.json files and refit parameter importance on every poll.
A SweepWatch keeps the study open (Optuna's journal storage then reads only the lines added since
its last read), re-reads a trial's run only when its files changed (their mtime and size, as
engine.runs.index.RunIndex does for the runs listing), refits importance only when the number of
completed trials changed, and reads progress.json for the running trials alone. Plain data, any
thread (one at a time): the screen calls ``read`` from a worker.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.runs import RunInfo, complete_records, load_run
from engine.runs.progress import read_progress
from engine.sweeps.definition import SweepDefinition
from engine.sweeps.storage import DEFINITION_ATTR, OpenSweep, open_sweep
from engine.sweeps.table import SweepTable, TrialRow, importances, sweep_table

STAMPED = ("config.json", "summary.json")
"""A run's files whose change means its row must be read again (metrics.jsonl grows with summary.json)."""


@dataclass
class SweepSnapshot:
    defn: SweepDefinition
    table: SweepTable
    live: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Trial number -> the progress.json record of a running trial (where it is inside its epoch)."""
    shown: TrialRow | None = None
    """The trial whose curves are drawn: the best completed one, else the one leading so far."""
    records: list[dict[str, Any]] = field(default_factory=list)
    """Its committed epochs (metrics.jsonl lines)."""
    info: RunInfo | None = None
    """Its run's config and summary."""


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class SweepWatch:
    """One sweep of a runs directory (or of a database: ``url``), read on demand."""

    def __init__(self, runs_dir: str | Path, name: str, url: str | None = None) -> None:
        self.runs_dir, self.name, self.url = str(runs_dir), name, url
        self.opened: OpenSweep | None = None
        self._runs: dict[Path, tuple[tuple[Any, ...], RunInfo]] = {}
        self._importance: tuple[int, dict[str, float]] = (-1, {})
        self._curves: tuple[Any, list[dict[str, Any]]] = (None, [])

    def read(self) -> SweepSnapshot:
        """The sweep now (UserError: no such sweep, or its storage cannot be opened)."""
        if self.opened is None:
            self.opened = open_sweep(self.runs_dir, self.name, self.url)
        study = self.opened.study
        stored = study.user_attrs.get(DEFINITION_ATTR)  # another command may have grown the sweep since
        defn = SweepDefinition.from_dict(stored) if isinstance(stored, dict) else self.opened.defn
        table = sweep_table(study, defn, self.runs_dir, importance=False, load=self._load)
        table.importances = self._importances(study, table.counts.get("completed", 0))
        live = {}
        for row in table.rows:
            if row.status == "running" and row.run_dir:
                record = read_progress(row.run_dir)
                if record is not None:
                    live[row.number] = record
        shown = table.best or next((r for r in table.rows if r.run_dir and r.best_val is not None), None)
        info = self._load(Path(shown.run_dir)) if shown is not None and shown.run_dir else None
        return SweepSnapshot(defn, table, live, shown, self._records(info), info)

    def _load(self, run: Path) -> RunInfo:
        key = tuple(_stamp(run / f) for f in STAMPED)
        cached = self._runs.get(run)
        if cached is None or cached[0] != key:
            cached = (key, load_run(run))
            self._runs[run] = cached
        return cached[1]

    def _importances(self, study: Any, completed: int) -> dict[str, float]:
        if completed != self._importance[0]:
            self._importance = (completed, importances(study))
        return self._importance[1]

    def _records(self, info: RunInfo | None) -> list[dict[str, Any]]:
        if info is None or info.error:
            return []
        key = (info.path, _stamp(info.path / "summary.json"))
        if key != self._curves[0]:
            self._curves = (key, complete_records(info))
        return self._curves[1]
