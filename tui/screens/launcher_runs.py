"""The finished runs a linear probe can start from: what the launcher's 'from run' list offers."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from textual.widgets import Select

from engine.config import UserError
from engine.runs.index import RunEntry, RunIndex
from engine.runs.status import RunStatus

from tui import format as fmt


@dataclass(frozen=True)
class FinishedRun:
    """One completed run: its id (the value of ``from_run``), the model it trained, a one-line label."""

    run_id: str
    model: str
    label: str


def _stamp(run_id: str) -> str:
    """'20261123-115406-cnn-scratch' -> '11-23 11:54' (tells two runs of one config apart)."""
    day, _, rest = run_id.partition("-")
    clock = rest[:6]
    if len(day) == 8 and day.isdigit() and len(clock) == 6 and clock.isdigit():
        return f"{day[4:6]}-{day[6:]} {clock[:2]}:{clock[2:4]}"
    return ""


def _label(entry: RunEntry, model: str, clash: bool) -> str:
    """'mlp-scratch 28.12%', 'baseline cnn 83.59%': the model only when the name does not say it already,
    the start time only when two runs read the same."""
    name = entry.short_name
    parts = [name, "" if model in name else model, fmt.pct(entry.info.summary.get("test_acc")),
             _stamp(entry.info.run_id) if clash else ""]
    return " ".join(p for p in parts if p)


def finished_runs(runs_dir: str | Path) -> list[FinishedRun]:
    """The completed runs of runs_dir, newest first (ids start with their start time)."""
    entries = [e for e in RunIndex(runs_dir).scan() if e.status == RunStatus.COMPLETED]
    names = Counter(e.short_name for e in entries)  # not list.count per run: thousands of runs
    out = []
    for entry in entries:
        model = str(entry.info.config.get("model") or "?")
        out.append(FinishedRun(entry.info.run_id, model, _label(entry, model, names[entry.short_name] > 1)))
    return out


def resolve_id(runs_dir: str | Path, ref: str | None) -> str | None:
    """The run id that ``ref`` (an id, unique prefix or display name, as --from takes) names, if any."""
    if not ref:
        return None
    from engine.runs import resolve_run

    try:
        return resolve_run(runs_dir, ref).name
    except UserError:
        return None


class ProbePicker(Select[str]):
    """linear-probe's 'from run': the finished runs of the runs dir; the value is the run id (``from_run``)."""

    def __init__(self, runs_dir: str, wanted: str | None) -> None:
        super().__init__([], prompt="pick a finished run", compact=True, id="from_run")
        self.runs_dir = runs_dir
        self.wanted = wanted
        """What the starting settings name (--from): picked once the list is read, if it is there."""
        self.runs: list[FinishedRun] = []

    def reload(self) -> None:
        """Read the runs dir again, keeping the pick (or picking the wanted run) when it is still listed."""
        keep = self.value if self.value is not Select.NULL else resolve_id(self.runs_dir, self.wanted)
        self.runs = finished_runs(self.runs_dir)
        self.set_options([(r.label, r.run_id) for r in self.runs])
        if not self.runs:
            self.prompt = "no finished run yet: train one first"
        if keep in {r.run_id for r in self.runs}:
            self.value = keep

    @property
    def picked(self) -> FinishedRun | None:
        return next((r for r in self.runs if r.run_id == self.value), None)
