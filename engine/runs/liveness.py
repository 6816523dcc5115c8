"""The one answer to "is some process still writing this run?".

A writer holds ``<run>/lock`` ({pid, host}) from the moment its directory
appears until it closes. On this host the pid decides (a zombie counts as
dead: kill -9 leaves one until the parent reaps it); on another host sharing
the filesystem, the writer's heartbeat decides: summary.json is replaced every
epoch, so a long silence means the writer is gone.
"""
from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from engine.runs.files import read_json
from engine.runs.status import RunStatus

LOCK_FILE = "lock"
CREATING_PREFIX = ".creating-"
"""A run being created lives in <runs>/.creating-<id>-<pid> until its files are complete."""
STALE_AFTER_S = 15 * 60  # a writer on another host that has not written for this long


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine (the run lock's writer check)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed writer whose parent has not reaped it yet still answers kill(0) (Linux: state Z)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (macOS) or gone meanwhile: kill(0) has the last word
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def lock_record() -> dict[str, Any]:
    """What a writer puts in its lock file."""
    from engine.runs.files import utc_now

    return {"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now()}


def writer_alive(run_dir: str | Path) -> bool:
    """True while some process may still be writing the run (its lock says so).

    Decided from the lock alone, not summary.json, so a run whose summary is
    corrupted but whose writer lives is still protected. A lock we may not read errs
    on the side of "alive": deleting or resuming a live run is the worse mistake. A lock
    that reads but names no writer (garbage: our writers replace it atomically, so
    another tool or a torn copy wrote it) names no live process: stale, once it is a
    few seconds old (a foreign writer may still be mid-write).
    """
    path = Path(run_dir)
    try:
        owner = read_json(path / LOCK_FILE)
    except FileNotFoundError:
        return False
    except PermissionError:
        return True
    except (OSError, ValueError):
        return _just_written(path / LOCK_FILE)
    pid = owner.get("pid") if isinstance(owner, dict) else None
    if not isinstance(pid, int) or isinstance(pid, bool):
        return _just_written(path / LOCK_FILE)
    if owner.get("host") == socket.gethostname():
        return pid_alive(pid)
    newest = max((p.stat().st_mtime for p in (path / "summary.json", path / LOCK_FILE) if p.exists()), default=0.0)
    return time.time() - newest < STALE_AFTER_S


def _just_written(path: Path, grace_s: float = 5.0) -> bool:
    try:
        return time.time() - path.stat().st_mtime < grace_s
    except OSError:
        return False


def live_status(run_dir: str | Path, summary: dict[str, Any]) -> RunStatus:
    """The summary's status, except a 'running' run whose writer is gone is STALE."""
    status = RunStatus.parse(summary.get("status"))
    if status is RunStatus.RUNNING and not writer_alive(run_dir):
        return RunStatus.STALE
    return status


def clean_abandoned(root: Path) -> None:
    """Remove hidden .creating-* folders whose creator is dead (killed during start-up)."""
    try:
        folders = [p for p in root.iterdir() if p.name.startswith(CREATING_PREFIX) and p.is_dir()]
    except OSError:
        return
    for p in folders:
        pid = p.name.rpartition("-")[2]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
