"""RunWriter: the one process that writes a run directory.

A new run's directory is built complete under a hidden temporary name (lock,
config.json, summary.json, an empty metrics.jsonl, checkpoints/) and renamed
into place, so no reader ever sees a half-made run and a writer killed at
start-up leaves only a hidden folder that the next listing removes.

Per epoch the writer saves, in this order: the checkpoint (which carries the
epoch's metrics record), the metrics.jsonl line, then summary.json. The
summary is the commit point that readers trust (see reader.complete_records);
a resume trusts the checkpoint and rewrites the other two to match it.
Between epochs, progress.json (engine.runs.progress) says where the loop is.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from engine.config import UserError
from engine.runs.checkpoint import CheckpointWriter
from engine.runs.files import (
    StoreWriteError,
    atomic_write,
    atomic_write_json,
    clean_temp_files,
    critical,
    describe_write_error,
    dumps,
    fault_point,
    faults_enabled,
    utc_now,
)
from engine.runs.liveness import CREATING_PREFIX, LOCK_FILE, lock_record, pid_alive, writer_alive
from engine.runs.progress import ProgressWriter
from engine.runs.remote import RemoteControl
from engine.runs.steps import StepLog
from engine.runs.reader import read_metrics



class RunWriter:
    """Creates (``create``) or takes over (``reopen``) one run directory and owns its files."""

    def __init__(self, path: Path):
        self.path = path
        self.run_id = path.name
        self.checkpoints = CheckpointWriter(path / "checkpoints")
        self.progress = ProgressWriter(path)
        """progress.json, replaced at most every PROGRESS_INTERVAL_S while training; removed by close()."""
        self.steps = StepLog(path)
        """steps.jsonl: the loss and lr at about ten points an epoch (engine.runs.steps)."""
        self.remote = RemoteControl(path)
        """control.json: stop / pause / resume asked by another process (engine.runs.remote)."""
        self._metrics = open(path / "metrics.jsonl", "a", encoding="utf-8")

    @classmethod
    def create(cls, runs_dir: str | Path, run_id: str, config: dict[str, Any], summary: dict[str, Any]) -> "RunWriter":
        """Build the run complete under a hidden name, then rename it to a free ``run_id[-n]``."""
        root = Path(runs_dir)
        check_runs_dir(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create runs directory {root}: {exc.strerror}; pass --runs-dir DIR") from None
        tmp = root / f"{CREATING_PREFIX}{run_id}-{os.getpid()}"
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            (tmp / "checkpoints").mkdir(parents=True)
            atomic_write_json(tmp / LOCK_FILE, lock_record())
            atomic_write_json(tmp / "config.json", {**config, "run_id": run_id})
            atomic_write_json(tmp / "summary.json", {**summary, "run_id": run_id, "updated_at": utc_now()})
            (tmp / "metrics.jsonl").touch(mode=0o666)
        except (OSError, StoreWriteError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StoreWriteError(exc.args[0] if isinstance(exc, StoreWriteError)
                                  else describe_write_error(exc, tmp)) from None
        final = _claim(root, run_id, tmp)
        writer = cls(final)
        if final.name != run_id:  # a second run started in the same second: the id it got is the folder's
            for name in ("config.json", "summary.json"):
                data = json.loads((final / name).read_text())
                atomic_write_json(final / name, {**data, "run_id": final.name})
        return writer

    @classmethod
    def reopen(cls, run_dir: str | Path) -> "RunWriter":
        """Take over an existing run (resume): refuse a live writer, take its lock, clean leftovers."""
        path = Path(run_dir)
        if writer_alive(path):
            raise UserError(f"run {path.name} is still being written by another process; stop it first")
        atomic_write_json(path / LOCK_FILE, lock_record())
        clean_temp_files(path, alive=pid_alive)
        (path / "checkpoints").mkdir(exist_ok=True)
        writer = cls(path)
        writer.progress.remove()  # where a killed session got to: no longer where the run is
        return writer

    # ------------------------------------------------------------------ per epoch
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.path / "config.json", config)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one epoch; flushed and fsynced so followers and crashes see whole lines."""
        line = dumps(record) + "\n"
        with critical():
            try:
                if faults_enabled():
                    self._metrics.write(line[: len(line) // 2])
                    self._metrics.flush()
                    fault_point()
                    line = line[len(line) // 2:]
                self._metrics.write(line)
                self._metrics.flush()
                os.fsync(self._metrics.fileno())
            except OSError as exc:
                raise StoreWriteError(describe_write_error(exc, self.path / "metrics.jsonl")) from exc

    def rewrite_metrics(self, records: list[dict[str, Any]]) -> None:
        """Replace metrics.jsonl with exactly these records (resume: match the checkpoint)."""
        self._metrics.close()
        text = "".join(dumps(r) + "\n" for r in records)
        atomic_write(self.path / "metrics.jsonl", lambda f: f.write(text))
        self._metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")

    def records(self) -> list[dict[str, Any]]:
        return read_metrics(self.path)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.path / "summary.json", {**summary, "updated_at": utc_now()})

    def save_checkpoint(self, state: dict[str, Any], *, is_best: bool, epoch: int, step: int) -> None:
        self.checkpoints.save(state, is_best=is_best, epoch=epoch, step=step)

    def write_error_log(self, text: str) -> None:
        try:
            atomic_write(self.path / "error.log", lambda f: f.write(text))
        except StoreWriteError:
            pass  # the disk is full: the summary's error line is what is left to say it

    def close(self) -> None:
        """Remove progress.json and release the lock; the run is no longer being written.

        Called after the final summary: a follower that still finds progress.json also
        finds a final status, and goes by the summary.
        """
        self.progress.remove()
        self.remote.remove()
        self.steps.close()
        if not self._metrics.closed:
            try:
                self._metrics.close()
            except OSError:
                pass
        (self.path / LOCK_FILE).unlink(missing_ok=True)


def check_runs_dir(root: Path) -> None:
    """The runs directory is, or can be made, a writable directory: checked before any data loads.

    Nothing is created here: a command that then fails (no dataset, say) leaves no empty
    runs directory behind. RunWriter.create makes it when the run really starts.
    """
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the nearest ancestor that exists decides
    if not existing.is_dir():
        what = "is not a directory" if existing == root else f"cannot be created ({existing} is not a directory)"
        raise UserError(f"runs directory {root} {what}; pass --runs-dir DIR")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == root else f"cannot be created ({existing} is not writable)"
        raise UserError(f"runs directory {root} {what}; pass --runs-dir DIR")


def _claim(root: Path, run_id: str, tmp: Path) -> Path:
    """Rename the finished temp folder to the first free id: a non-empty target makes rename fail."""
    for n in range(1, 1000):
        candidate = root / (run_id if n == 1 else f"{run_id}-{n}")
        if candidate.exists():
            continue
        try:
            os.rename(tmp, candidate)
            return candidate
        except OSError:
            continue
    shutil.rmtree(tmp, ignore_errors=True)
    raise UserError(f"cannot find a free run id for {run_id} in {root}")
