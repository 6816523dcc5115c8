"""Export the per-epoch metrics of several runs into one CSV or JSON file.

CSV is long format — one row per (run, epoch) — because that is what
spreadsheets, pandas and R group and pivot on; per-class accuracies become
``acc:<class>`` columns and the confusion matrix is left to the JSON export.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable

from engine.analysis.compare import RunData, load_compare_runs
from engine.config import UserError
from engine.runs import atomic_write, utc_now
from engine.runs.files import dumps

FORMATS = ("csv", "json")
# Columns that say which run a row belongs to, ahead of the metrics.
ID_COLUMNS = ("run_id", "name", "dataset", "model", "strategy", "seed", "status")
# Preferred order for the usual metrics; any others a newer engine writes follow.
METRIC_ORDER = (
    "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_top5", "test_loss", "test_acc", "test_top5",
    "lr", "img_per_s", "train_time_s", "epoch_time_s", "wall_time_s",
)
PER_CLASS_PREFIX = "acc:"


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool)) or value is None


def epoch_rows(runs: list[RunData]) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of the long-format table: one row per epoch per run."""
    metric_cols: list[str] = [c for c in METRIC_ORDER if any(c in r for run in runs for r in run.metrics)]
    class_cols: list[str] = []
    rows: list[dict[str, Any]] = []
    for run in runs:
        ident = {
            "run_id": run.run_id, "name": run.meta.name or "", "dataset": run.config.get("dataset"),
            "model": run.config.get("model"), "strategy": run.config.get("strategy"),
            "seed": run.config.get("seed"), "status": run.status,
        }
        names = run.class_names
        for record in run.metrics:
            row = dict(ident)
            for key, value in record.items():
                if key == "per_class_acc" and isinstance(value, list):
                    for cname, acc in zip(names, value):
                        col = PER_CLASS_PREFIX + cname
                        row[col] = acc
                        if col not in class_cols:
                            class_cols.append(col)
                elif _scalar(value) and key not in ident:
                    row[key] = value
                    if key not in metric_cols:
                        metric_cols.append(key)
            rows.append(row)
    return [*ID_COLUMNS, *metric_cols, *class_cols], rows


def to_csv(runs: list[RunData]) -> str:
    """The CSV text; empty cells where a run lacks a column (e.g. no val split)."""
    columns, rows = epoch_rows(runs)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def to_json(runs: list[RunData]) -> str:
    """The JSON text: each run's config, summary and every epoch record in full."""
    doc = {
        "exported_at": utc_now(),
        "runs": [
            {"run_id": r.run_id, "name": r.meta.name, "note": r.meta.note, "tags": r.meta.tags,
             "path": str(r.path), "status": r.status, "config": r.config, "summary": r.summary,
             "epochs": r.metrics}
            for r in runs
        ],
    }
    return dumps(doc, indent=1)  # NaN/Infinity become null: the file must load in jq and browsers


def render(runs: list[RunData], fmt: str) -> str:
    """The export text in fmt ('csv' or 'json')."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; choose csv or json")
    return to_csv(runs) if fmt == "csv" else to_json(runs)


def format_for(path: str | Path, default: str = "csv") -> str:
    """The format a file name asks for (.json -> json, .csv -> csv), else default."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else default


def export_runs(run_dirs: Iterable[str | Path], fmt: str, out: str | Path | None = None) -> str:
    """Export runs; write to out atomically when given, and return the text."""
    runs = load_compare_runs(run_dirs)
    if not runs:
        raise UserError("no runs to export")
    text = render(runs, fmt)
    if out is not None:
        write_output(Path(out), text)
    return text


def write_output(path: Path, text: str) -> None:
    """Write where the user pointed, as cp does: through a symlink to its target (the link stays), into a
    FIFO or device as it is; a regular file is replaced atomically (a reader never sees half of it)."""
    target = path.resolve() if path.is_symlink() else path
    if target.is_dir():
        raise UserError(f"{path} is a directory; give a file name")
    if not target.parent.exists():
        raise UserError(f"directory {target.parent} does not exist")
    try:
        if target.exists() and not target.is_file():
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            atomic_write(target, lambda f: f.write(text))
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
