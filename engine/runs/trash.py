"""Deleting runs into a trash that can be undone: ``<runs>/.trash/<run-id>/``.

A delete is one rename inside the runs directory (atomic, the same file system): listings skip
hidden folders, so the run leaves every table at once and comes back whole with ``restore``.
``empty_trash`` removes the trash for good. A run being written is never moved.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from engine.config import UserError
from engine.runs.liveness import writer_alive
from engine.runs.reader import looks_like_run

TRASH_DIR = ".trash"


def trash_dir(runs_dir: str | Path) -> Path:
    return Path(runs_dir) / TRASH_DIR


def delete_run(run_dir: str | Path, runs_dir: str | Path | None = None) -> Path:
    """Move a run into the trash; returns where it went. Refuses a run being written and anything not a run."""
    path = Path(run_dir)
    if path.is_symlink() or not path.is_dir():
        raise UserError(f"{path} is not a run directory")
    root = Path(runs_dir) if runs_dir is not None else path.parent
    if path.resolve().parent != root.resolve():
        raise UserError(f"{path} is not inside the runs directory {runs_dir}")
    if not looks_like_run(path):
        raise UserError(f"{path} does not look like a run (no config.json, summary.json or metrics.jsonl)")
    if writer_alive(path):
        raise UserError(f"run {path.name} is still running; stop it before deleting it")
    trash = trash_dir(root)
    trash.mkdir(exist_ok=True)
    target = _free(trash, path.name)
    os.replace(path, target)
    if writer_alive(target):  # a writer (e.g. a resume) took the lock between the check and the rename
        os.replace(target, path)
        raise UserError(f"run {path.name} started running again; not deleted")
    return target


def trashed(runs_dir: str | Path) -> list[Path]:
    """Runs in the trash, newest deletion last."""
    trash = trash_dir(runs_dir)
    if not trash.is_dir():
        return []
    return sorted((p for p in trash.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)


def restore_run(runs_dir: str | Path, ref: str) -> Path:
    """Move a trashed run back (by id, unique prefix or 'last': the newest deletion); returns its folder."""
    runs = trashed(runs_dir)
    if not runs:
        raise UserError(f"the trash of {runs_dir} is empty: nothing to restore")
    if ref == "last":
        chosen = runs[-1]
    else:
        matches = [p for p in runs if p.name == ref] or [p for p in runs if p.name.startswith(ref)]
        if len(matches) != 1:
            listed = ", ".join(p.name for p in runs[-5:])
            raise UserError(f"{ref!r} matches {len(matches)} runs in the trash ({listed}); give more of the run id")
        chosen = matches[0]
    home = Path(runs_dir) / chosen.name
    if home.exists():
        raise UserError(f"a run named {chosen.name} exists in {runs_dir} again; rename or delete it first")
    os.replace(chosen, home)
    return home


def empty_trash(runs_dir: str | Path) -> int:
    """Remove every trashed run for good; returns how many there were."""
    runs = trashed(runs_dir)
    for p in runs:
        shutil.rmtree(p, ignore_errors=True)
    shutil.rmtree(trash_dir(runs_dir), ignore_errors=True)
    return len(runs)


def _free(folder: Path, name: str) -> Path:
    """folder/name, else folder/name-2, -3...: the same run id deleted twice keeps both."""
    candidate, n = folder / name, 2
    while candidate.exists():
        candidate, n = folder / f"{name}-{n}", n + 1
    return candidate
