"""Control of a run from outside the process that writes it: stop, pause and resume through its directory.

A request is one small file, ``control.json`` ({action, seq, at, by}), replaced atomically by whoever
asks (the app's dashboard or runs screen following a run started elsewhere: ``--no-ui``, torchrun,
another app). The writer reads it at its progress ticks, about once a second (and while paused), and
acts as on its own keys: a stop ends the step, saves and marks the run interrupted, resumable. ``seq``
grows with each request, so the writer acts on each once and ignores a file left from before it started.

Only a live writer on this host can be asked (a lock on another host: its files may be shared, its
process is not ours to see); a run whose files we may not write says so in one line.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from engine.config import UserError
from engine.runs.files import StoreWriteError, atomic_write_json, read_json, utc_now
from engine.runs.liveness import LOCK_FILE, writer_alive

CONTROL_FILE = "control.json"
ACTIONS = ("stop", "pause", "resume")
POLL_S = 1.0
"""How often the writer looks: a remote key answers within about a second."""


def controllable(run_dir: str | Path, action: str = "stop") -> str | None:
    """Why the run cannot be asked to ``action`` from here, in one line; None when it can."""
    path = Path(run_dir)
    if action == "pause" and _world_size(path) > 1:
        return f"run {path.name} is a torchrun job: its processes wait on each other and cannot pause; stop it"
    if not writer_alive(path):
        return f"run {path.name} is not running: nothing to stop or pause"
    try:
        owner = read_json(path / LOCK_FILE)
    except (OSError, ValueError):
        owner = None
    host = owner.get("host") if isinstance(owner, dict) else None
    if host is not None and host != socket.gethostname():
        return f"run {path.name} trains on {host}: stop or pause it there"
    if not os.access(path, os.W_OK):
        return f"run {path.name} belongs to another user (no permission to write its folder)"
    return None


def request(run_dir: str | Path, action: str) -> None:
    """Ask the run's writer to stop, pause or resume; UserError (one line) when it cannot be asked."""
    if action not in ACTIONS:
        raise ValueError(action)
    path = Path(run_dir)
    why = controllable(path, action)
    if why:
        raise UserError(why)
    seq = _seq(_read(path)) + 1
    try:
        atomic_write_json(path / CONTROL_FILE, {"action": action, "seq": seq, "at": utc_now(),
                                                "by": f"{socket.gethostname()}:{os.getpid()}"})
    except (OSError, StoreWriteError) as exc:
        raise UserError(f"cannot ask run {path.name} to {action}: {exc}") from None


class RemoteControl:
    """The writer's side: reads control.json at most every POLL_S and returns each new request once."""

    def __init__(self, run_dir: str | Path, clock: Any = time.monotonic):
        self.path = Path(run_dir) / CONTROL_FILE
        self.clock = clock
        self.seen = _seq(_read(self.path.parent))  # a request from before this writer is not for it
        self._next = 0.0

    def poll(self) -> str | None:
        now = self.clock()
        if now < self._next:
            return None
        self._next = now + POLL_S
        data = _read(self.path.parent)
        seq = _seq(data)
        if seq <= self.seen or not isinstance(data, dict) or data.get("action") not in ACTIONS:
            return None
        self.seen = seq
        return str(data["action"])

    def remove(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass


def _world_size(run_dir: Path) -> int:
    try:
        config = read_json(run_dir / "config.json")
    except (OSError, ValueError):
        return 1
    dist = config.get("distributed") if isinstance(config, dict) else None
    size = dist.get("world_size") if isinstance(dist, dict) else 1
    return size if isinstance(size, int) else 1


def _read(run_dir: Path) -> Any:
    try:
        return read_json(run_dir / CONTROL_FILE)
    except (OSError, ValueError):
        return None


def _seq(data: Any) -> int:
    seq = data.get("seq") if isinstance(data, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0
