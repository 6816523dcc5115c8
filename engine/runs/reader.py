"""The run store: ``saved_runs/<run-id>/`` with atomic writes, listing and loading.

Layout (DESIGN.md)::

    <run-id>/config.json      full RunConfig + environment
             metrics.jsonl    one JSON object per epoch, appended and flushed
             summary.json     status, best/final metrics, per-class, confusion
             checkpoints/last.pt, best.pt
             lock             held (pid, host) while a process writes the run

Whole-file writes go to a temp file in the same directory, are fsynced and
``os.replace``d, so a reader (or a crash) never sees half a file. A torn last
line of metrics.jsonl is ignored on read.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .config import UserError

STATUSES = ("running", "completed", "interrupted", "failed", "diverged", "stale")


def utc_now() -> str:
    """ISO-8601 UTC timestamp with seconds."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str = "w") -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON so readers see the old or the new file, never a mix."""
    _atomic_write(Path(path), lambda f: json.dump(obj, f, indent=1, allow_nan=False))


def atomic_torch_save(obj: Any, path: Path) -> None:
    """torch.save through a temp file + fsync + replace."""
    import torch

    _atomic_write(Path(path), lambda f: torch.save(obj, f), mode="wb")


def read_json(path: Path) -> Any:
    with open(path) as f:
        return json.load(f)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Every complete line of metrics.jsonl; a torn last line is skipped."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    records = []
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a writer is mid-line or died mid-line
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def new_run_id(model: str, strategy: str, name: str | None) -> str:
    """<UTC timestamp>-<model>-<strategy>[-name]."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return "-".join(p for p in (stamp, model, strategy, name) if p)


class RunWriter:
    """Creates one run directory and owns its files while training."""

    def __init__(self, runs_dir: str | Path, run_id: str):
        root = Path(runs_dir)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create runs directory {root}: {exc.strerror}; pass --runs-dir DIR") from None
        # Two runs started in the same second get -2, -3...: mkdir is the atomic claim.
        for n in range(1, 1000):
            candidate = root / (run_id if n == 1 else f"{run_id}-{n}")
            try:
                candidate.mkdir()
                break
            except FileExistsError:
                continue
        self.path = candidate
        self.run_id = candidate.name
        (self.path / "checkpoints").mkdir()
        self._lock = self.path / "lock"
        atomic_write_json(self._lock, {"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now()})
        self._metrics = open(self.path / "metrics.jsonl", "a")

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.path / "config.json", config)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one epoch; flushed and fsynced so followers and crashes see whole lines."""
        self._metrics.write(json.dumps(record, allow_nan=False) + "\n")
        self._metrics.flush()
        os.fsync(self._metrics.fileno())

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / "summary.json", {**summary, "updated_at": utc_now()})

    def save_checkpoint(self, state: dict[str, Any], is_best: bool) -> None:
        """Write last.pt; when best, hard-link the same bytes as best.pt (no second write)."""
        ckpt = self.path / "checkpoints"
        last = ckpt / "last.pt"
        atomic_torch_save(state, last)
        if is_best:
            tmp = ckpt / ".best.pt.tmp"
            tmp.unlink(missing_ok=True)
            try:
                os.link(last, tmp)
            except OSError:  # filesystems without hard links
                import shutil

                shutil.copyfile(last, tmp)
            os.replace(tmp, ckpt / "best.pt")

    def close(self) -> None:
        """Release the lock; the run is no longer being written."""
        if not self._metrics.closed:
            self._metrics.close()
        self._lock.unlink(missing_ok=True)


@dataclass
class RunInfo:
    """One run directory as read from disk (error set when unreadable)."""

    run_id: str
    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error:
            return "unreadable"
        return live_status(self.path, self.summary)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine (the run lock's writer check)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed writer whose parent has not reaped it yet still answers kill(0) (Linux: state Z)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (macOS) or gone meanwhile: kill(0) has the last word
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


STALE_AFTER_S = 15 * 60  # a writer on another host that has not written for this long


def live_status(run_dir: Path, summary: dict[str, Any]) -> str:
    """The summary's status, except a 'running' run whose writer is gone is 'stale'."""
    status = summary.get("status", "unknown")
    if status != "running":
        return status
    lock = Path(run_dir) / "lock"
    try:
        owner = read_json(lock)
    except (OSError, ValueError):
        return "stale"
    if owner.get("host") == socket.gethostname():
        return "running" if pid_alive(int(owner.get("pid", -1))) else "stale"
    # Another host (shared filesystem): trust the heartbeat of the summary file.
    age = time.time() - (Path(run_dir) / "summary.json").stat().st_mtime
    return "running" if age < STALE_AFTER_S else "stale"


def load_run(run_dir: str | Path) -> RunInfo:
    """Read config.json and summary.json; never raises for a broken run."""
    path = Path(run_dir)
    info = RunInfo(run_id=path.name, path=path)
    try:
        info.config = read_json(path / "config.json")
        info.summary = read_json(path / "summary.json")
        if not isinstance(info.config, dict) or not isinstance(info.summary, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError as exc:
        info.error = f"missing {Path(exc.filename).name}"
    except (OSError, ValueError) as exc:
        info.error = f"corrupted: {exc}"
    return info


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Every run directory under runs_dir, newest first; unreadable ones included."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    runs = [load_run(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(runs, key=lambda r: r.run_id, reverse=True)


def find_run(runs_dir: str | Path, ref: str) -> Path:
    """A run by path, exact id, unique id prefix/substring, or 'latest'."""
    as_path = Path(ref)
    if (as_path / "config.json").exists():
        return as_path
    root = Path(runs_dir)
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if ref == "latest" and names:
        return root / names[-1]
    if ref in names:
        return root / ref
    matches = [n for n in names if ref in n]
    if len(matches) == 1:
        return root / matches[0]
    if not matches:
        raise UserError(f"no run matches {ref!r} in {root}; 'cifar-tui runs' lists them")
    raise UserError(f"{ref!r} matches {len(matches)} runs in {root}; give more of the run id")
