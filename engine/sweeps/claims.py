"""Who runs a trial: a lock per trial, so no trial ever runs twice at once, and a record of the worker.

A trial is taken over only once its driver is gone: on this machine its pid (with the process's start
time, against pid reuse) is dead; on another, its heartbeat in the study is older than STALE_S. Then
the claim decides. A claim is ``claims/tN.lock`` in the sweep's folder, held with flock by the driver
that runs trial N.
The lock's file descriptor is passed on to the trial's own process, so it stays held while either
lives and is freed by the kernel once both are gone, whatever killed them (kill -9 included: no
stale lock file to clean up). A driver takes over an unfinished trial only if it gets the claim; if
the process of a killed driver's trial still holds it (saving after the parent-death signal, or
still training where that signal does not exist), the new driver waits for it and then continues it.

Two drivers may start at the same moment after a kill: the claim lets only one continue each trial.
"""
from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.runs.liveness import pid_alive

CLAIMS_DIR = "claims"
WORKER_ATTR = "worker"
HEARTBEAT_S = 60.0
STALE_S = 10 * 60.0
"""A trial whose worker on another machine has not beaten for this long is taken to be abandoned."""
START_GRACE_S = 60.0
"""A trial with no worker yet was asked for a moment ago by a driver that is about to claim it."""


class Claim:
    """One held trial lock; ``fd`` goes to the trial's process (subprocess pass_fds)."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    @classmethod
    def take(cls, folder: Path, number: int) -> "Claim | None":
        """The claim on trial ``number``, or None while another process (driver or trial) holds it."""
        import fcntl

        path = folder / CLAIMS_DIR / f"t{number}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return cls(path, fd)

    def release(self) -> None:
        """Our hold ends; the lock is free once the trial's process (sharing it) has ended too."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def worker_record() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _start_ticks(os.getpid()), "beat": time.time()}


def _start_ticks(pid: int) -> int | None:
    """When a process started (Linux: clock ticks since boot), so a reused pid is not taken for a live driver."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def on_this_host(worker: Any) -> bool:
    return isinstance(worker, dict) and worker.get("host") == socket.gethostname()


def worker_alive(worker: Any) -> bool:
    """Whether the driver that runs a trial is still there: its pid on this machine, else its heartbeat."""
    if not isinstance(worker, dict):
        return False
    if on_this_host(worker):
        pid, started = worker.get("pid"), worker.get("started")
        if not isinstance(pid, int) or not pid_alive(pid):
            return False
        return started is None or _start_ticks(pid) in (None, started)
    beat = worker.get("beat")
    return isinstance(beat, (int, float)) and time.time() - beat < STALE_S


def may_take_over(worker: Any, started: datetime | None) -> bool:
    """Whether a running trial's driver is gone, so it may be claimed from here. Its pid decides on this
    machine (another live driver here may use another runs directory, hence other claims), its heartbeat
    elsewhere; then the claim decides whether the trial's own process has let go."""
    if not isinstance(worker, dict):
        # Asked for, but its driver has not said who it is yet: it may be claiming it right now.
        return started is None or (datetime.now() - started).total_seconds() > START_GRACE_S
    return not worker_alive(worker)
