"""Run ids, and turning what a user typed (id, prefix, name, path, 'latest') into a run directory."""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

from engine.config import UserError
from engine.runs.meta import META_FILE, read_meta
from engine.runs.reader import looks_like_run, run_folders

MAX_ID = 120  # file systems allow 255 bytes; ids stay well under, with room for '-2' suffixes


def new_run_id(model: str, strategy: str, name: str | None) -> str:
    """<UTC timestamp>-<model>-<strategy>[-name]; a model given as FILE.py:Name or timm/NAME by its Name."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", model.rpartition(":")[2] or model).strip("-.") or "model"
    return "-".join(p for p in (stamp, label, strategy, name) if p)[:MAX_ID]


def _run_names(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in run_folders(root))


def find_run(runs_dir: str | Path, ref: str) -> Path:
    """A run by path, exact id, unique id prefix/substring, or 'latest'."""
    if not ref.strip():
        raise UserError("an empty run name: give its id, a unique prefix, its name, a path or 'latest' "
                        "(is a shell variable unset?)")
    as_path = Path(ref)
    if looks_like_run(as_path):
        return as_path
    root = Path(runs_dir)
    names = _run_names(root)
    if ref == "latest" and names:
        return root / names[-1]
    if ref in names:
        return root / ref
    matches = [n for n in names if ref in n]
    if len(matches) == 1:
        return root / matches[0]
    if not matches:
        if as_path.is_dir() and (os.sep in ref or ref.startswith(".")):
            raise UserError(f"{ref} is not a run directory (no config.json); 'cifar-tui runs' lists the runs")
        raise UserError(f"no run matches {ref!r} in {root}; 'cifar-tui runs' lists them")
    raise UserError(f"{ref!r} matches {len(matches)} runs in {root}; give more of the run id")


def resolve_run(runs_dir: str | Path, ref: str) -> Path:
    """A run by display name (exact, unique) or whatever find_run accepts.

    Names first: once a person has named a run 'baseline', that is how they
    will refer to it on the command line.
    """
    root = Path(runs_dir)
    if root.is_dir() and not looks_like_run(Path(ref)):
        named = [root / n for n in _run_names(root)
                 if (root / n / META_FILE).exists() and read_meta(root / n).name == ref]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise UserError(f"{len(named)} runs are named {ref!r}; give the run id instead")
    return find_run(runs_dir, ref)
