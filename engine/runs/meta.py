"""What a person adds to a saved run after the fact, and a cached run listing.

The training process owns config.json, summary.json and metrics.jsonl; edits
made while browsing (a display name, a note, tags) live in their own small
``meta.json`` so they never race the writer of a running run. Deleting is
refused while a process still writes the run.

``RunIndex`` re-lists a runs directory cheaply enough to poll every couple of
seconds: a run's JSON files are re-read only when their mtime or size change,
but its live status (running / stale) is recomputed on every scan because a
writer can die without touching any file.
"""
from __future__ import annotations

import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import UserError
from .store import STALE_AFTER_S, RunInfo, pid_alive, atomic_write_json, find_run, load_run, read_json, utc_now

META_FILE = "meta.json"
MAX_NAME = 80
MAX_NOTE = 2000
# Files whose presence says "this directory is a run": delete refuses anything else.
_RUN_MARKERS = ("config.json", "summary.json", "metrics.jsonl", "lock")


@dataclass
class RunMeta:
    """User edits of one run: display name, free-text note, tags."""

    name: str | None = None
    note: str = ""
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "note": self.note, "tags": list(self.tags), "updated_at": utc_now()}


def read_meta(run_dir: str | Path) -> RunMeta:
    """The run's meta.json; an absent or damaged file reads as no edits (never raises)."""
    try:
        data = read_json(Path(run_dir) / META_FILE)
    except (OSError, ValueError):
        return RunMeta()
    if not isinstance(data, dict):
        return RunMeta()
    name = data.get("name")
    tags = data.get("tags")
    return RunMeta(
        name=name if isinstance(name, str) and name else None,
        note=data.get("note") if isinstance(data.get("note"), str) else "",
        tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
    )


def write_meta(run_dir: str | Path, meta: RunMeta) -> None:
    """Replace meta.json atomically (a concurrent reader sees old or new)."""
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"run {path} no longer exists")
    atomic_write_json(path / META_FILE, meta.to_dict())


def _clean_line(text: str, limit: int) -> str:
    # Names end up in table cells and CSV rows: one line, no control characters.
    return "".join(c for c in " ".join(text.split()) if c.isprintable())[:limit]


def set_name(run_dir: str | Path, name: str | None) -> RunMeta:
    """Give the run a display name ('' or None clears it). The run id never changes."""
    meta = read_meta(run_dir)
    meta.name = _clean_line(name or "", MAX_NAME) or None
    write_meta(run_dir, meta)
    return meta


def set_note(run_dir: str | Path, note: str) -> RunMeta:
    """Replace the run's note."""
    meta = read_meta(run_dir)
    meta.note = note.strip()[:MAX_NOTE]
    write_meta(run_dir, meta)
    return meta


def parse_tags(text: str) -> list[str]:
    """'a, b c,a' -> ['a', 'b', 'c']: commas or spaces separate, duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for raw in text.replace(",", " ").split():
        tag = _clean_line(raw.lstrip("#"), 40)
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def set_tags(run_dir: str | Path, tags: list[str] | str) -> RunMeta:
    """Replace the run's tags (a list, or text in parse_tags' form)."""
    meta = read_meta(run_dir)
    meta.tags = parse_tags(tags) if isinstance(tags, str) else parse_tags(" ".join(tags))
    write_meta(run_dir, meta)
    return meta


def display_name(info: RunInfo, meta: RunMeta | None = None) -> str:
    """The name a person gave the run, else its id."""
    meta = meta if meta is not None else read_meta(info.path)
    return meta.name or info.run_id


def resolve_run(runs_dir: str | Path, ref: str) -> Path:
    """A run by display name (exact, unique) or whatever store.find_run accepts.

    Names first: once a person has named a run 'baseline', that is how they
    will refer to it on the command line.
    """
    root = Path(runs_dir)
    if root.is_dir() and not (Path(ref) / "config.json").exists():
        named = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                 and (p / META_FILE).exists() and read_meta(p).name == ref]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise UserError(f"{len(named)} runs are named {ref!r}; give the run id instead")
    return find_run(runs_dir, ref)


# ----------------------------------------------------------------------------- delete


def writer_alive(run_dir: str | Path) -> bool:
    """True while some process may still be writing the run (its lock says so).

    Decided from the lock alone, not summary.json, so a run whose summary is
    corrupted but whose writer lives is still protected.
    """
    path = Path(run_dir)
    try:
        owner = read_json(path / "lock")
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True  # a lock we cannot read: err on the side of keeping the run
    if not isinstance(owner, dict):
        return True
    if owner.get("host") == socket.gethostname():
        try:
            return pid_alive(int(owner.get("pid", -1)))
        except (TypeError, ValueError):
            return True
    # Another host on a shared filesystem: the writer refreshes summary.json every epoch.
    newest = max((p.stat().st_mtime for p in (path / "summary.json", path / "lock") if p.exists()), default=0.0)
    return time.time() - newest < STALE_AFTER_S


def delete_run(run_dir: str | Path, runs_dir: str | Path | None = None) -> None:
    """Delete a run directory; refuses a run being written and anything not a run.

    The directory is first renamed to a hidden name (atomic: listings drop it at
    once and a crash halfway leaves no half-deleted run in the table), then removed.
    """
    path = Path(run_dir)
    if path.is_symlink() or not path.is_dir():
        raise UserError(f"{path} is not a run directory")
    if runs_dir is not None and path.resolve().parent != Path(runs_dir).resolve():
        raise UserError(f"{path} is not inside the runs directory {runs_dir}")
    if not any((path / m).exists() for m in _RUN_MARKERS):
        raise UserError(f"{path} does not look like a run (no config.json, summary.json or metrics.jsonl)")
    if writer_alive(path):
        raise UserError(f"run {path.name} is still running; stop it before deleting it")
    trash = path.with_name(f".deleting-{path.name}-{os.getpid()}")
    os.replace(path, trash)
    if writer_alive(trash):  # a writer (e.g. a resume) took the lock between the check and the rename
        os.replace(trash, path)
        raise UserError(f"run {path.name} started running again; not deleted")
    shutil.rmtree(trash, ignore_errors=True)


# ----------------------------------------------------------------------------- cached listing


@dataclass
class RunEntry:
    """One row of a runs listing: what was read, the user's edits, the live status."""

    info: RunInfo
    meta: RunMeta
    status: str

    @property
    def name(self) -> str:
        return self.meta.name or self.info.run_id

    @property
    def short_name(self) -> str:
        """The name for narrow places: the display name, else the run id without its timestamp."""
        return self.meta.name or strip_stamp(self.info.run_id)


def strip_stamp(run_id: str) -> str:
    """'20261123-115406-cnn-scratch' -> 'cnn-scratch' (the start time is shown in its own column).

    Two runs of one config then read the same; the start time and the full id tell them apart.
    """
    parts = run_id.split("-", 2)
    if len(parts) == 3 and len(parts[0]) == 8 and len(parts[1]) == 6 and parts[0].isdigit() and parts[1].isdigit():
        return parts[2]
    return run_id


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


STARTING_GRACE_S = 60  # a new run's folder exists a moment before its first files


def _entry_status(info: RunInfo) -> str:
    """info.status, except a run whose writer is still creating its files is 'starting', not 'unreadable'."""
    if info.error and info.error.startswith("missing"):
        try:
            young = time.time() - info.path.stat().st_mtime < STARTING_GRACE_S
        except OSError:
            young = False
        if writer_alive(info.path) and ((info.path / "lock").exists() or young):
            return "starting"
    return info.status


class RunIndex:
    """Lists a runs directory, re-reading only the runs whose files changed."""

    def __init__(self, runs_dir: str | Path):
        self.runs_dir = Path(runs_dir)
        self._cache: dict[str, tuple[tuple[Any, ...], RunInfo, RunMeta]] = {}

    def scan(self) -> list[RunEntry]:
        """Every run, newest id first; unreadable runs included with their reason."""
        if not self.runs_dir.is_dir():
            self._cache.clear()
            return []
        entries: list[RunEntry] = []
        seen: set[str] = set()
        for path in self.runs_dir.iterdir():
            if path.name.startswith(".") or not path.is_dir():
                continue
            seen.add(path.name)
            key = tuple(_stamp(path / f) for f in ("config.json", "summary.json", META_FILE))
            cached = self._cache.get(path.name)
            if cached is None or cached[0] != key:
                cached = (key, load_run(path), read_meta(path))
                self._cache[path.name] = cached
            _, info, meta = cached
            entries.append(RunEntry(info, meta, _entry_status(info)))
        for gone in set(self._cache) - seen:
            del self._cache[gone]
        return sorted(entries, key=lambda e: e.info.run_id, reverse=True)
