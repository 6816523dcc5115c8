"""The run store: ``saved_runs/<run-id>/``, one package.

    status.py      RunStatus, the one vocabulary of run states; exit codes from a status
    files.py       atomic writes, JSON that never holds NaN, temp-file clean-up, file modes
    liveness.py    the one "is a process still writing this run?" check
    writer.py      RunWriter: creates a run complete, appends epochs, owns the lock
    checkpoint.py  last/prev/best.pt with sha256 manifest; verified loads
    reader.py      RunInfo, load_run, list_runs, read_metrics, complete_records
    resolve.py     run ids; id / prefix / name / path / 'latest' -> directory
    meta.py        names, notes, tags (meta.json); the one display-name rule
    trash.py       delete into <runs>/.trash/, restore, empty
    layout.py      where each file of a run lives, for code outside the store
    remote.py      stop / pause / resume a run from another process (control.json)
    steps.py       steps.jsonl: the loss and lr at ~10 points an epoch
    predictions.py test-set predictions of each evaluated checkpoint
    index.py       RunIndex: a listing that re-reads only what changed, for screens that poll
    index_file.py  <runs>/.index: what RunIndex read, kept for the next process (a cache)
    progress.py    progress.json: the newest step of a running run, for followers
    follow.py      follow a run another process writes

Layout::

    <run-id>/config.json      full RunConfig + environment (+ resumes: when, from where, what changed)
             metrics.jsonl    one JSON object per epoch, appended and flushed
             progress.json    while training: epoch, step, loss, lr, img/s, ETA, elapsed (replaced ~1/s)
             summary.json     status, best/final metrics, per-class, confusion (the commit point)
             checkpoints/     last.pt, prev.pt, best.pt, manifest.json (sha256 of each)
             meta.json        what a person set: name, note, tags
             steps.jsonl      the loss and lr at ~10 points an epoch
             control.json     a stop / pause / resume another process asked for
             lock             held (pid, host) while a process writes the run
"""
from __future__ import annotations

from engine.runs.files import StoreWriteError, atomic_write, atomic_write_json, read_json, utc_now
from engine.runs.liveness import live_status, pid_alive, writer_alive
from engine.runs.meta import RunMeta, read_meta, set_name, set_note, set_tags
from engine.runs.trash import delete_run, empty_trash, restore_run, trashed
from engine.runs.reader import RunInfo, complete_records, list_runs, load_run, read_metrics
from engine.runs.resolve import find_run, new_run_id, resolve_run
from engine.runs.status import RunStatus, exit_code

__all__ = [
    "StoreWriteError", "atomic_write", "atomic_write_json", "read_json", "utc_now", "live_status", "pid_alive",
    "writer_alive", "RunMeta", "delete_run", "read_meta", "set_name", "set_note", "set_tags", "RunInfo",
    "complete_records", "list_runs", "load_run", "read_metrics", "find_run", "new_run_id", "resolve_run",
    "RunStatus", "exit_code", "empty_trash", "restore_run", "trashed",
]
