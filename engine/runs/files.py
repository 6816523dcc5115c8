"""Whole-file writes that a crash can never tear, and the JSON rules of the store.

Every whole file goes to a temp file in the same directory, is fsynced and
``os.replace``d: a reader (or a crash) sees the old file or the new one, never
a mix. Temp files are named ``.<name>.<random>.tmp`` so a later open can find
and remove the leftovers of a writer that was killed mid-write.

The store never writes NaN or Infinity: ``json_safe`` turns non-finite floats
into null, so a diverging run can still be saved and every file stays standard
JSON (``runs --json`` piped into jq must not meet a bare ``NaN``).
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import signal
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from engine.config import UserError

TEMP_SUFFIX = ".tmp"
# Errors that mean "the disk (or the user's quota, or a file-size limit) is full".
_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def _read_umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask is racy across threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; runs are shared on team servers, so store files get
# the mode a plain open() would give them under the user's umask (0644 under 022).
FILE_MODE = 0o666 & ~_read_umask()


def utc_now() -> str:
    """ISO-8601 UTC timestamp with seconds."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StoreWriteError(UserError):
    """A write of the run store failed (disk full, permissions): one line naming the place."""


def describe_write_error(exc: BaseException, path: Path) -> str:
    """'no space left on the device writing <path>' or the OS's own words, one line."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return f"no space left on the device writing {path} ({os.strerror(exc.errno or 0)}); free some space or pass --runs-dir"
    if isinstance(exc, OSError):
        return f"cannot write {path}: {exc.strerror or exc}"
    return f"cannot write {path}: {type(exc).__name__}: {exc}"


class _Faults:
    """Fault injection for tests: ``CIFAR_TUI_KILL_AT_WRITE=N`` SIGKILLs this process at the N-th
    fault point of the store (a temp file written but not yet renamed, half a metrics line on disk,
    a checkpoint half rotated): the worst moments a real kill can land on, hit on purpose."""

    at = int(os.environ.get("CIFAR_TUI_KILL_AT_WRITE", "0") or 0)
    seen = 0


def faults_enabled() -> bool:
    return bool(_Faults.at)


def fault_point() -> None:
    if _Faults.at:
        _Faults.seen += 1
        if _Faults.seen == _Faults.at:
            os.kill(os.getpid(), signal.SIGKILL)


class _Critical:
    """Writes in progress; a second Ctrl-C that lands inside one waits for it to finish."""

    depth = 0
    pending = False


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """Mark a store write: ``abort_now_or_after_write`` defers its KeyboardInterrupt past it."""
    _Critical.depth += 1
    try:
        yield
    finally:
        _Critical.depth -= 1
        if _Critical.depth == 0 and _Critical.pending:
            _Critical.pending = False
            raise KeyboardInterrupt


def abort_now_or_after_write() -> None:
    """For a signal handler giving up on a clean stop: never tear a file, then raise KeyboardInterrupt."""
    if _Critical.depth:
        _Critical.pending = True
    else:
        raise KeyboardInterrupt


def write_temp(path: Path, write: Callable[[Any], None], mode: str = "w", *, durable: bool = True) -> str:
    """Write the would-be content of ``path`` to a temp file beside it (fsynced if durable); returns its path."""
    # The writer's pid in the name: a clean-up can tell a killed write's leftover from a write in progress
    # by a process that does not hold the run's lock (a name or tag edited elsewhere).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, mode) as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        _discard(tmp)
        raise
    return tmp


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "w", *, durable: bool = True) -> None:
    """Write a whole file through temp + fsync + replace; a failure leaves the old file and no temp.

    ``durable=False`` (progress.json, replaced every second) skips the fsync, which can stall the
    training thread for milliseconds on a busy disk, and is no fault point: time-driven writes would
    make CIFAR_TUI_KILL_AT_WRITE's count depend on timing. Still atomic: a reader sees old or new.
    """
    path = Path(path)
    with critical():
        tmp = None
        try:
            tmp = write_temp(path, write, mode, durable=durable)
            if durable:
                fault_point()
            os.replace(tmp, path)
        except OSError as exc:
            _discard(tmp)
            raise StoreWriteError(describe_write_error(exc, path)) from exc


def _discard(tmp: str | None) -> None:
    if tmp is not None:
        try:
            Path(tmp).unlink(missing_ok=True)
        except OSError:
            pass


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data), mode="wb")


def json_safe(obj: Any) -> Any:
    """A copy with every NaN/Infinity replaced by None (the store's JSON is always standard)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """json.dumps of json_safe(obj): never NaN, never a crash on a non-finite metric.

    Most objects hold no non-finite float: they are encoded as they are, and copied through json_safe only
    when the encoder meets one (copying every value of thousands of runs cost `runs --json` seconds).
    """
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError:
        return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON so readers see the old or the new file, never a mix."""
    text = dumps(obj, indent=1)
    atomic_write(Path(path), lambda f: f.write(text))


def read_json(path: Path) -> Any:
    """A JSON file; NaN/Infinity (which older engines could write) read as null, like json_safe writes them."""
    with open(path, encoding="utf-8") as f:
        return json.load(f, parse_constant=lambda _: None)


def temp_writer(name: str) -> int | None:
    """The pid write_temp put in a temp file's name (None: a name from before it did)."""
    parts = name[: -len(TEMP_SUFFIX)].rsplit(".", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def clean_temp_files(run_dir: Path, alive: Callable[[int], bool] = lambda pid: False) -> int:
    """Remove leftovers of killed writes in a run (call only when no live writer owns it); a temp file whose
    writer ``alive`` says still runs is a write in progress and stays."""
    removed = 0
    # Not analysis/: analyze writes there without the run's lock, so a temp file there may be in use.
    for folder in (run_dir, run_dir / "checkpoints", run_dir / "predictions"):
        try:
            names = [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX)]
        except OSError:
            continue
        for p in names:
            pid = temp_writer(p.name)
            if pid is not None and alive(pid):
                continue
            try:
                p.unlink()
                removed += 1
            except OSError:
                pass
    return removed
