"""Where each file of a run lives: the store's file names, for code outside engine/runs.

The store's own modules spell the files they own; everything else asks here, so a
renamed file is renamed in engine/runs only.
"""
from __future__ import annotations

from pathlib import Path

from engine.runs.files import StoreWriteError, describe_write_error

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"
ANALYSIS_DIR = "analysis"
TENSORBOARD_DIR = "tensorboard"


def config_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CONFIG_FILE


def summary_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / SUMMARY_FILE


def metrics_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / METRICS_FILE


def checkpoint_dir(run_dir: str | Path) -> Path:
    """``<run>/checkpoints/``: last.pt, prev.pt, best.pt and their manifest (engine.runs.checkpoint)."""
    return Path(run_dir) / CHECKPOINT_DIR


def tensorboard_dir(run_dir: str | Path) -> Path:
    """``<run>/tensorboard/``: the run's event files (engine.runs.tensorboard)."""
    return Path(run_dir) / TENSORBOARD_DIR


def has_weights(run_dir: str | Path) -> bool:
    """Whether the run saved a model an analysis can load (best.pt or last.pt)."""
    return any((checkpoint_dir(run_dir) / n).is_file() for n in ("best.pt", "last.pt"))


def check_writable(folder: Path) -> None:
    """StoreWriteError unless files can be created in ``folder`` (or, while it does not exist, beside it) —
    asked before work whose result would land there, not after it; nothing is left behind."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder if folder.exists() else folder.parent):
            pass
    except OSError as exc:
        raise StoreWriteError(describe_write_error(exc, folder)) from exc


def analysis_dir(run_dir: str | Path, *, create: bool = False) -> Path:
    """``<run>/analysis/``: what analyses of the run stored (made when ``create``; StoreWriteError when it cannot be)."""
    folder = Path(run_dir) / ANALYSIS_DIR
    if create:
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreWriteError(describe_write_error(exc, folder)) from exc
    return folder
