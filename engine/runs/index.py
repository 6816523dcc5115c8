"""RunIndex: a runs listing cheap enough to poll every couple of seconds, with thousands of runs.

A scan looks at as little as tells it what changed:

- the runs directory's stamp: adding, removing or renaming a run folder changes it, so the folder is
  listed again only then (and while that change is recent: see RECENT_NS);
- the runs being written (running, starting, unreadable) and the runs changed in the last RECENT_NS:
  the stamps of their files and their writer's liveness, every scan (a writer can die without
  touching a file);
- the finished runs: the stamps of their files, FINISHED_PER_SCAN of them per scan, in turn, so an
  edit made elsewhere (a name or tag set from another terminal, a resume) shows within a few scans.
  ``scan(full=True)`` looks at every run now (the runs screen: right after it opens or comes back,
  on r, after an edit made on it). The first scan of an index looks at every run too.

A run's JSON is read again only when the stamp (mtime, size, inode) of its config.json, summary.json
or meta.json changed, and a finished run's liveness is never asked: its status is its summary's,
until one of those files changes. What was read is kept in ``<runs>/.index``
(engine.runs.index_file) for the next process: a fresh `cifar-tui runs` or runs screen stats the
files instead of reading them. A scan that changed nothing returns the same list object, holding
the same RunEntry objects: a screen can tell "nothing new" without looking at a row. The app keeps one
index per runs directory (shared_index) and reads it in the background once torch is imported (warm).
"""
from __future__ import annotations

import gc
import os
import stat
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from engine.runs import index_file
from engine.runs.index_file import Record, Stamps
from engine.runs.liveness import clean_abandoned, live_status, writer_alive
from engine.runs.meta import META_FILE, RunMeta, display_name, short_name
from engine.runs.reader import RunInfo, clean_if_dead, run_folder_names
from engine.runs.status import RunStatus

FILES = ("config.json", "summary.json", META_FILE)
"""The files a listing reads of a run; their stamps say when to read them again."""
FINISHED_PER_SCAN = 400
"""Finished runs whose files one scan stats (3 stats each): all of them up to this many, else these many in
turn. At 5,000 runs every run is looked at every 13 scans (26 s on the runs screen), for well under 1% of a core."""
RECENT_NS = 2_000_000_000
"""A stamp this recent may hide a second write within the file system's clock tick (same mtime, same size):
what changed this recently is looked at again at the next scans until it has been still this long."""
SAVE_EVERY_S = 30.0
"""save() writes the index at most this often (runs finishing one after another change it each time)."""
SAVE_FROM_RUNS = 100
"""save() keeps no index for fewer runs: reading their files is as quick (100 runs: ~200 small files)."""
WATCHED = (RunStatus.RUNNING, RunStatus.STARTING, RunStatus.UNREADABLE)


class RunEntry:
    """One row of a runs listing: what was read of the run (``info``, parsed when first asked for; the index's
    Record holds it as JSON text too), the user's edits, the live status."""

    __slots__ = ("record", "status")

    def __init__(self, record: Record, status: RunStatus) -> None:
        self.record, self.status = record, status

    @classmethod
    def of(cls, info: RunInfo, meta: RunMeta) -> "RunEntry":
        """An entry for a run read outside an index (a deleted run in the trash)."""
        return cls(Record((None, None, None), info.path, meta, info=info), info.status)

    @property
    def run_id(self) -> str:
        """info.run_id, without parsing the run's JSON (a listing printed from the index never needs it)."""
        return self.record.run_id

    @property
    def info(self) -> RunInfo:
        return self.record.info

    @property
    def meta(self) -> RunMeta:
        return self.record.meta

    @property
    def name(self) -> str:
        return display_name(self.record.run_id, self.meta)

    @property
    def short_name(self) -> str:
        """The name for narrow places: the display name, else the run id without its timestamp."""
        return short_name(self.record.run_id, self.meta)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while thousands of runs are read or shown, back on after (if it was on).

    Such bulk work allocates objects by the hundred thousand (parsed JSON, cells) and makes no reference
    cycles; left on, the collector walks the growing heap again and again: a third of the time of opening
    5,000 runs. Process-wide; a thread entering while another is inside leaves it to that one to turn back on.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _stamp(path: str) -> index_file.Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def file_stamps(run_dir: str) -> Stamps:
    """The stamps of a run's config.json, summary.json and meta.json (None for a missing one)."""
    return (_stamp(f"{run_dir}/{FILES[0]}"), _stamp(f"{run_dir}/{FILES[1]}"), _stamp(f"{run_dir}/{FILES[2]}"))


def _recent(stamps: Stamps, now_ns: int) -> bool:
    return any(s is not None and now_ns - s[0] < RECENT_NS for s in stamps)


def _entry_status(record: Record) -> RunStatus:
    """The status the summary says (a 'running' run whose writer is gone: stale), an unreadable run's, or
    'starting' while a live writer has yet to write its files. From the record's status word: no parse."""
    if record.error:
        starting = record.error.startswith("missing") and writer_alive(record.path)
        return RunStatus.STARTING if starting else RunStatus.UNREADABLE
    return live_status(record.path, {"status": record.status})


@dataclass
class _Known:
    """A run as the index last saw it; ``watched``: looked at every scan (being written, or changed just now)."""

    entry: RunEntry
    watched: bool

    @property
    def record(self) -> Record:
        return self.entry.record


class RunIndex:
    """Lists a runs directory, re-reading only the runs whose files changed. Safe to share between threads."""

    def __init__(self, runs_dir: str | Path):
        self.runs_dir = Path(runs_dir)
        self._known: dict[str, _Known] = {}
        self._names: list[str] = []  # the run folders at the last listing, sorted: the order finished runs are looked at
        self._listed: tuple[int, int] | None = None  # (mtime_ns, inode) of the runs directory at the last listing
        self._turn = 0
        self._entries: list[RunEntry] = []
        self._changed_settled = False  # a run the saved index would hold was added, changed or removed
        self._saved_at: float | None = None
        self._cleaned: set[str] = set()  # the runs whose leftovers of killed writes were looked for
        self._lock = threading.Lock()

    def scan(self, full: bool = False) -> list[RunEntry]:
        """Every run, newest id first; unreadable runs included with their reason. The same list object as the
        last scan's while nothing changed."""
        with self._lock, collector_paused():
            if self._update(full):
                self._entries = [self._known[n].entry for n in reversed(self._names)]
            return self._entries

    def _update(self, full: bool) -> bool:
        try:
            st = os.stat(self.runs_dir)
        except OSError:
            st = None
        if st is None or not stat.S_ISDIR(st.st_mode):
            changed = bool(self._known)
            self._known.clear()
            self._names, self._listed = [], None
            return changed
        now = time.time_ns()
        first = self._listed is None
        stamp = (st.st_mtime_ns, st.st_ino)
        changed, new = False, set[str]()
        if full or first or stamp != self._listed or now - st.st_mtime_ns < RECENT_NS:
            changed, new = self._relist(stamp, index_file.load(self.runs_dir) if first else {}, now)
        if first or full:
            check = self._names
        else:
            check = [n for n in self._names if self._known[n].watched] + self._finished_turn()
        for name in check:
            if name not in new:
                changed |= self._check(name, now)
        return changed

    def _relist(self, stamp: tuple[int, int], stored: dict[str, Record], now: int) -> tuple[bool, set[str]]:
        """List the run folders; read the new ones (from the saved index where their files are unchanged).
        Returns whether the listing changed, and the runs read."""
        clean_abandoned(self.runs_dir)
        names = sorted(run_folder_names(self.runs_dir))
        self._listed = stamp
        gone = set(self._known) - set(names)
        for name in gone:
            self._changed_settled |= not self._known.pop(name).watched
        new = {n for n in names if n not in self._known}
        for name in new:
            self._read(name, now, stored.get(name))
        self._changed_settled |= bool(set(stored) - set(names))  # the saved index still holds deleted runs
        self._names = names
        return bool(gone or new), new

    def _finished_turn(self) -> list[str]:
        """The next FINISHED_PER_SCAN run folders in turn (the watched ones among them are checked anyway)."""
        names = self._names
        if len(names) <= FINISHED_PER_SCAN:
            return [n for n in names if not self._known[n].watched]
        start = self._turn % len(names)
        self._turn = start + FINISHED_PER_SCAN
        chosen = names[start:self._turn] + names[:max(0, self._turn - len(names))]
        return [n for n in chosen if not self._known[n].watched]

    def _check(self, name: str, now: int) -> bool:
        """Read the run again if its files changed; for a run being written, ask its writer's liveness."""
        known = self._known[name]
        stamps = file_stamps(str(known.record.path))
        if stamps != known.record.stamps:
            return self._read(name, now, None, stamps)
        if not known.watched:
            return False
        status = _entry_status(known.record)
        watched = status in WATCHED or _recent(stamps, now)
        if not watched:
            self._changed_settled = True  # settled now: the saved index takes it
        known.watched = watched
        if status is known.entry.status:
            return False
        known.entry = RunEntry(known.record, status)
        return True

    def _read(self, name: str, now: int, stored: Record | None, stamps: Stamps | None = None) -> bool:
        """Read the run (from ``stored`` when its files still have the stamps it was read at)."""
        path = stored.path if stored is not None else self.runs_dir / name
        stamps = stamps or file_stamps(str(path))
        if stored is not None and stored.stamps == stamps:
            record = stored
        else:
            if name not in self._cleaned:  # leftovers of a killed write: at the first read of the run, not at each
                self._cleaned.add(name)  # (meta.json edits hold no lock: cleaning as they write would race them)
                clean_if_dead(path)
            record = Record.read(path, stamps)
        status = _entry_status(record)
        watched = status in WATCHED or _recent(stamps, now)
        old = self._known.get(name)
        if record is not stored:
            self._changed_settled |= not watched or (old is not None and not old.watched)
        self._known[name] = _Known(RunEntry(record, status), watched)
        return True

    def save(self, force: bool = False) -> bool:
        """Write the finished runs read so far to ``<runs>/.index`` when they changed since the last save (at
        most every SAVE_EVERY_S unless ``force``; from SAVE_FROM_RUNS runs on); False when nothing was written."""
        with self._lock:
            due = self._saved_at is None or time.monotonic() - self._saved_at >= SAVE_EVERY_S
            if not self._changed_settled or not (due or force) or self._listed is None:
                return False
            if len(self._known) < SAVE_FROM_RUNS:
                return False
            records = {n: k.record for n, k in self._known.items() if not k.watched}
            self._changed_settled, self._saved_at = False, time.monotonic()
        # Outside the lock: encoding thousands of runs takes a while, and records are never changed in place.
        return index_file.save(self.runs_dir, records)


_SHARED: dict[str, RunIndex] = {}
_SHARED_LOCK = threading.Lock()


def shared_index(runs_dir: str | Path) -> RunIndex:
    """The process's one RunIndex of a runs directory: what it read stays read for every screen that lists the
    directory (the runs screen opened again, the app warming it while the launcher is up)."""
    key = os.path.abspath(runs_dir)
    with _SHARED_LOCK:
        index = _SHARED.get(key)
        if index is None:
            index = _SHARED[key] = RunIndex(runs_dir)
        return index


def warm(index: RunIndex) -> None:
    """Scan, and parse what was read, ahead of a screen that will show it (any thread)."""
    with collector_paused():
        for entry in index.scan():
            entry.info  # noqa: B018 - parsed now (Record.info), not when the screen first draws
