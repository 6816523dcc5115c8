"""Reading runs: one run's files, a whole listing, the epochs a run has completed.

A reader never raises for a broken run and never lets one bad run hide the
others: a missing, damaged or schema-wrong file makes that run ``unreadable``
with the reason beside it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.runs.files import read_json
from engine.runs.liveness import clean_abandoned, live_status, pid_alive, writer_alive
from engine.runs.status import RunStatus

# Files whose presence says "this directory is a run" (resolving a path, and delete's safety check).
RUN_MARKERS = ("config.json", "summary.json", "metrics.jsonl", "lock")


def looks_like_run(path: Path) -> bool:
    return path.is_dir() and any((path / m).exists() for m in RUN_MARKERS)


SWEEPS_DIR = "sweeps"
"""``<runs>/sweeps/``: the sweeps' own files (engine.sweeps: their journals, trial settings and logs). Run ids
start with a timestamp, so no run is ever named this; listing it would show one unreadable run."""


def run_folders(root: Path) -> list[Path]:
    """The folders of a runs directory that hold runs: not the hidden ones (.trash, a run being created)
    and not the sweeps' folder. The one rule every listing (runs, 'latest', the app's index) follows."""
    return [root / name for name in run_folder_names(root)]


def run_folder_names(root: str | Path) -> list[str]:
    """run_folders' names (scandir: no stat per folder where the file system gives entry types)."""
    with os.scandir(root) as it:
        return [e.name for e in it if not e.name.startswith(".") and e.name != SWEEPS_DIR and e.is_dir()]


# Fields of summary.json/config.json a reader formats, and the types they must have.
_NUMBER = (int, float)
_SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    "status": (str,), "epochs": (int,), "epochs_done": (int,), "best_epoch": (int,), "wall_time_s": _NUMBER,
    "img_per_s": _NUMBER, "params_total": (int,), "params_trainable": (int,), "n_train": (int,), "n_val": (int,),
    "n_test": (int,), "error": (str,), "class_names": (list,), "per_class_acc": (dict,), "confusion": (list,),
    **{k: _NUMBER for k in ("test_acc", "test_top5", "test_top3", "test_loss", "val_acc", "val_loss", "train_acc",
                            "train_loss", "best_acc", "test_acc_at_best", "reported_test_acc")},
}
_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "dataset": (str,), "model": (str,), "strategy": (str,), "epochs": (int,), "seed": (int,), "name": (str,),
    "preset": (str,), "batch_size": (int,), "lr": _NUMBER, "extra": (dict,),
}


@dataclass
class RunInfo:
    """One run directory as read from disk (error set when unreadable)."""

    run_id: str
    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def status(self) -> RunStatus:
        if self.error:
            return RunStatus.UNREADABLE
        return live_status(self.path, self.summary)


def schema_error(data: Any, types: dict[str, tuple[type, ...]], name: str) -> str | None:
    """Why a JSON object does not fit the store's schema (None when it does)."""
    if not isinstance(data, dict):
        return f"{name} is not a JSON object"
    for key, allowed in types.items():
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, allowed):
            expected = "number" if allowed == _NUMBER else allowed[0].__name__
            return f"{name}: {key} is {type(value).__name__} {str(value)[:20]!r}, expected {expected}"
    return None


def load_run(run_dir: str | Path) -> RunInfo:
    """Read config.json and summary.json; never raises for a broken run."""
    path = Path(run_dir)
    info = RunInfo(run_id=path.name, path=path)
    config, info.error = _read_part(path, "config.json")
    if info.error is None:
        summary, info.error = _read_part(path, "summary.json")
    if info.error is not None:
        return info
    info.error = schema_error(config, _CONFIG_TYPES, "config.json") or schema_error(summary, _SUMMARY_TYPES,
                                                                                     "summary.json")
    if info.error is None:
        info.config, info.summary = config, summary
    return info


def _read_part(path: Path, name: str) -> tuple[Any, str | None]:
    """(parsed JSON, None) or (None, what is wrong with the file, naming it: 'summary.json is not valid JSON ...')."""
    try:
        return read_json(path / name), None
    except FileNotFoundError:
        return None, f"missing {name}"
    except UnicodeDecodeError:
        return None, f"{name} is corrupted: not UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, f"{name} is corrupted: not valid JSON (line {exc.lineno}, column {exc.colno})"
    except (OSError, ValueError) as exc:
        return None, f"{name} cannot be read: {getattr(exc, 'strerror', None) or exc}"


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Every run directory under runs_dir, newest first; unreadable ones included.

    Leftovers of killed writers (temp files, half-created hidden folders) are
    removed on the way, from runs no live process writes.
    """

    root = Path(runs_dir)
    if not root.is_dir():
        return []
    clean_abandoned(root)
    runs = [load_run(p) for p in run_folders(root)]
    for run in runs:
        clean_if_dead(run.path)
    return sorted(runs, key=lambda r: r.run_id, reverse=True)


def clean_if_dead(run_dir: Path) -> None:
    """Temp files of a killed write, removed once no process writes the run."""
    from engine.runs.files import clean_temp_files

    if not writer_alive(run_dir):
        clean_temp_files(run_dir, alive=pid_alive)


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every complete, well-formed line of metrics.jsonl.

    A torn last line (a writer mid-line or killed mid-line), a line that is not
    a JSON object and bytes that are not text are skipped, never raised.
    """
    path = Path(run_dir) / "metrics.jsonl"
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    records = []
    for line in raw.split(b"\n")[:-1]:  # the part after the last newline is torn or empty
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("epoch"), int):
            records.append(record)
    return records


def complete_records(info: RunInfo) -> list[dict[str, Any]]:
    """The epochs the run has committed: metrics records up to summary.json's epochs_done.

    The writer appends the metrics line before it replaces the summary, so a
    kill between the two leaves one line ahead; every reader (runs, compare,
    export, resume) stops where the summary does, and they all agree.
    """
    done = info.summary.get("epochs_done")
    records = read_metrics(info.path)
    if isinstance(done, int) and not isinstance(done, bool):
        records = [r for r in records if r["epoch"] <= done]
    return records
