"""Run one Job of the plan through the real command line (`python -m tui --no-ui`), its output to a log."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.replication.plan import Job

ROOT = Path(__file__).resolve().parents[2]


def newest_run(runs_dir: Path, key: str, finished: bool = True) -> Path | None:
    """The newest run folder under RUNS/<key>/, only a completed one when finished (run ids sort by time)."""
    for summary in sorted((runs_dir / key).glob("*/summary.json"), reverse=True):
        try:
            status = json.loads(summary.read_text()).get("status")
        except (OSError, ValueError):
            continue
        if not finished or status == "completed":
            return summary.parent
    return None


def data_flags(data: str, gpu: bool) -> list[str]:
    """The JPEG tarball is read as an image folder; on a GPU machine the official CIFAR-10 files."""
    if gpu:
        return ["--dataset", "cifar10", "--data-dir", data, "--device", "cuda"]
    return ["--dataset", "folder", "--data-dir", data]


def command(job: Job, data: list[str], runs_dir: Path, weights: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", "tui", "--no-ui", "--preset", job.preset, *data,
           "--runs-dir", str(runs_dir / job.key), "--name", job.key.replace("@", "-"), *job.flags]
    if job.from_key:
        source = newest_run(runs_dir, job.from_key)
        if source is None:
            raise LookupError(f"{job.key} needs a finished {job.from_key} run first")
        cmd += ["--from", str(source)]
    if weights is not None:
        cmd += ["--weights", str(weights)]
    return cmd


def unfinished(runs_dir: Path, key: str) -> Path | None:
    """The key's newest run when it did not complete (killed, stopped, failed): hours of training to continue."""
    newest = newest_run(runs_dir, key, finished=False)
    return newest if newest is not None and newest != newest_run(runs_dir, key) else None


def run_job(job: Job, data: list[str], runs_dir: Path, logs: Path, weights: Path | None = None,
            fresh: bool = False) -> int:
    """Run it into logs/<key>.log; the exit code (the run's own files say the rest).

    A run of this key that was cut short (a session's end, a kill -9) is resumed rather than started
    again: resume is bit-for-bit, so the row is still the full budget's, and its log is appended to.
    """
    previous = None if fresh else unfinished(runs_dir, job.key)
    cmd = command(job, data, runs_dir, weights)
    if previous is not None:
        cmd = [sys.executable, "-m", "tui", "--no-ui", "--resume", str(previous)]
    logs.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(logs / f"{job.key}.log", "a" if previous is not None else "w") as log:
        log.write("$ " + " ".join(cmd[1:]) + "\n")
        log.flush()
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.write(f"exit {code}, wall {time.perf_counter() - t0:.0f} s\n")
    return code
