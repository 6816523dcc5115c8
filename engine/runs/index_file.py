"""``<runs>/.index``: what RunIndex read of each finished run, kept for the next process that lists them.

Listing 5,000 runs from their own files means opening 10,000 JSON files; this one file holds what they said,
keyed by run folder, with the stamp (mtime, size, inode) of each file when it was read. It is a cache, never
the truth: a record is used only while the run's config.json, summary.json and meta.json still have exactly
those stamps (RunIndex checks them), so a file changed by anything (a resume, a rename in another process,
an edit by hand) is read again. A missing, damaged or other-format index reads as empty and a record of the
wrong shape is skipped: the runs are then read from their files, as if there were no index.

One line per run after a header line: three JSON texts separated by tabs (JSON never holds a raw tab or
newline): the record's small fields, then the run's config and summary as compact JSON. Kept as text, not
nested in one JSON document: loading 5,000 runs then parses only the small fields (a nested document would
be parsed whole, its quotes escaped twice), and `runs --json` prints the texts as they are.

Written whole to a temp file and renamed (engine.runs.files.atomic_write, not fsynced: a lost index costs a
re-read, nothing else), so a reader sees one writer's file, never a mix. Two processes that save at once:
the last rename wins, and runs only the other one had read are read from their files the next time. Runs
being written are left out: they change every epoch, and are checked at every scan anyway.
"""
from __future__ import annotations

import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

from engine.runs.files import TEMP_SUFFIX, StoreWriteError, atomic_write, dumps
from engine.runs.meta import RunMeta, meta_from_dict, read_meta
from engine.runs.reader import RunInfo, load_run

INDEX_FILE = ".index"
HEADER = "cifar-tui runs index 1"
"""The first line; its number is bumped when a record's shape changes (an index of another format is ignored,
then replaced)."""
STALE_TEMP_S = 600  # a temp file of a save this old was left by a killed process, not one saving now

Stamp = tuple[int, int, int]
"""(st_mtime_ns, st_size, st_ino) of a file."""
Stamps = tuple["Stamp | None", ...]
"""The stamps of a run's config.json, summary.json and meta.json (None: the file is missing)."""


class Record:
    """One run as it was read: its files' stamps, its status word and error, a person's edits (RunMeta), and its
    config and summary both as JSON text (what the index stores, what `runs --json` prints) and parsed
    (``info``, what a screen shows). Each form is made from the other the first time it is asked for, so a
    listing printed from the index never parses a run and one read from the files never encodes one twice."""

    __slots__ = ("stamps", "path", "run_id", "meta", "error", "status", "_config_json", "_summary_json", "_info")

    def __init__(self, stamps: Stamps, path: Path, meta: RunMeta, *, info: RunInfo | None = None,
                 error: str | None = None, status: str | None = None, config_json: str | None = None,
                 summary_json: str | None = None) -> None:
        self.stamps, self.path, self.run_id, self.meta, self._info = stamps, path, path.name, meta, info
        if info is not None:
            word = info.summary.get("status")
            error, status = info.error, word if isinstance(word, str) else None
        self.error, self.status = error, status
        self._config_json, self._summary_json = config_json, summary_json

    @classmethod
    def read(cls, path: Path, stamps: Stamps) -> "Record":
        """From the run's own files (the stamps taken before: a write in between shows at the next look)."""
        return cls(stamps, path, read_meta(path), info=load_run(path))

    @property
    def info(self) -> RunInfo:
        if self._info is None:
            self._info = self._parse()
        return self._info

    def _parse(self) -> RunInfo:
        """The stored text, parsed. It is what load_run accepted (the CRC checked on loading says it was not
        changed since); should it still not parse as a JSON object, the run's files are read: they are the truth."""
        if self.error is not None:
            return RunInfo(run_id=self.run_id, path=self.path, error=self.error)
        try:
            config, summary = json.loads(self.config_json), json.loads(self.summary_json)
        except ValueError:
            return load_run(self.path)
        if not isinstance(config, dict) or not isinstance(summary, dict):
            return load_run(self.path)
        return RunInfo(run_id=self.run_id, path=self.path, config=config, summary=summary)

    @property
    def config_json(self) -> str:
        if self._config_json is None:
            self._config_json = dumps(self.info.config)
        return self._config_json

    @property
    def summary_json(self) -> str:
        if self._summary_json is None:
            self._summary_json = dumps(self.info.summary)
        return self._summary_json


def index_path(runs_dir: str | Path) -> Path:
    return Path(runs_dir) / INDEX_FILE


def load(runs_dir: str | Path) -> dict[str, Record]:
    """The records of the runs directory's index; {} when there is none or it cannot be used."""
    root = Path(runs_dir)
    try:
        with open(index_path(root), "rb") as f:
            lines = f.read().decode("utf-8").split("\n")
    except (OSError, ValueError):
        return {}
    if lines[0] != HEADER:
        return {}
    out = {}
    for line in lines[1:]:
        head, _, rest = line.partition("\t")
        config, tab, summary = rest.partition("\t")
        try:
            record = _record(root, json.loads(head), config, summary) if tab else None
        except ValueError:
            record = None
        if record is not None:
            out[record.path.name] = record
    return out


def save(runs_dir: str | Path, records: dict[str, Record]) -> bool:
    """Replace the index with these records; False when it cannot be written (a read-only runs directory:
    the listing still works, it only reads the runs' files again next time)."""
    root = Path(runs_dir)
    text = "\n".join([HEADER, *(_line(name, r) for name, r in records.items())]) + "\n"
    try:
        atomic_write(index_path(root), lambda f: f.write(text), durable=False)
    except StoreWriteError:
        return False
    _remove_stale_temps(root)
    return True


def _line(name: str, r: Record) -> str:
    config, summary = r.config_json, r.summary_json
    head = {"run": name, "stamps": [list(s) if s else None for s in r.stamps], "error": r.error, "status": r.status,
            "meta": {"name": r.meta.name, "note": r.meta.note, "tags": r.meta.tags}, "crc": _crc(config, summary)}
    return f"{dumps(head)}\t{config}\t{summary}"


def _crc(config: str, summary: str) -> int:
    # `runs --json` prints the stored text as it is: a record whose text was changed since it was written
    # (by hand, by another tool) must not reach a script as broken JSON.
    return zlib.crc32(summary.encode(), zlib.crc32(config.encode()))


def _record(root: Path, head: Any, config: str, summary: str) -> Record | None:
    """A record as stored, or None when it does not have the shape _line gives it."""
    if not isinstance(head, dict):
        return None
    name, error, status = head.get("run"), head.get("error"), head.get("status")
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        return None
    stamps = _stamps(head.get("stamps"))
    if stamps is None or not isinstance(error, (str, type(None))) or not isinstance(status, (str, type(None))) \
            or head.get("crc") != _crc(config, summary):
        return None
    return Record(stamps, root / name, meta_from_dict(head.get("meta")), error=error, status=status,
                  config_json=config, summary_json=summary)


def _stamps(raw: Any) -> Stamps | None:
    if type(raw) is not list or len(raw) != 3:
        return None
    out: list[Stamp | None] = []
    for s in raw:
        if s is None:
            out.append(None)
        elif type(s) is list and len(s) == 3 and type(s[0]) is int and type(s[1]) is int and type(s[2]) is int:
            out.append((s[0], s[1], s[2]))  # type() is, not isinstance: a bool is no stamp (and this runs 15,000 times)
        else:
            return None
    return tuple(out)


def _remove_stale_temps(root: Path) -> None:
    """Temp files of saves killed midway (atomic_write names them .<name>.<random>.tmp beside the index)."""
    prefix, now = f".{INDEX_FILE}.", time.time()
    try:
        with os.scandir(root) as it:
            stale = [e.path for e in it if e.name.startswith(prefix) and e.name.endswith(TEMP_SUFFIX)
                     and now - e.stat().st_mtime > STALE_TEMP_S]
    except OSError:
        return
    for path in stale:
        try:
            os.unlink(path)
        except OSError:
            pass
