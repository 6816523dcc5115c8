"""RunIndex: a runs listing cheap enough to poll every couple of seconds.

A run's JSON files are re-read only when their mtime or size change, but its
live status (running / stale) is recomputed on every scan because a writer can
die without touching any file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.runs.liveness import writer_alive
from engine.runs.meta import META_FILE, RunMeta, display_name, read_meta, short_name
from engine.runs.reader import RunInfo, clean_if_dead, load_run, run_folders
from engine.runs.status import RunStatus


@dataclass
class RunEntry:
    """One row of a runs listing: what was read, the user's edits, the live status."""

    info: RunInfo
    meta: RunMeta
    status: RunStatus

    @property
    def name(self) -> str:
        return display_name(self.info.run_id, self.meta)

    @property
    def short_name(self) -> str:
        """The name for narrow places: the display name, else the run id without its timestamp."""
        return short_name(self.info.run_id, self.meta)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _entry_status(info: RunInfo) -> RunStatus:
    """info.status, except files still missing while their writer lives read 'starting', not 'unreadable'."""
    if info.error and info.error.startswith("missing") and writer_alive(info.path):
        return RunStatus.STARTING
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
        for path in run_folders(self.runs_dir):
            seen.add(path.name)
            key = tuple(_stamp(path / f) for f in ("config.json", "summary.json", META_FILE))
            cached = self._cache.get(path.name)
            if cached is None:
                clean_if_dead(path)  # once per run per index: leftovers of a killed write
            if cached is None or cached[0] != key:
                cached = (key, load_run(path), read_meta(path))
                self._cache[path.name] = cached
            _, info, meta = cached
            entries.append(RunEntry(info, meta, _entry_status(info)))
        for gone in set(self._cache) - seen:
            del self._cache[gone]
        return sorted(entries, key=lambda e: e.info.run_id, reverse=True)
