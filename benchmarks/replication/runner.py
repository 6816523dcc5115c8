"""Run one Job of the plan through the real command line (`python -m tui --no-ui`), its output to a log."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from benchmarks.replication.plan import Job
from engine.control import parent_death_signal

ROOT = Path(__file__).resolve().parents[2]
STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
"""Signals that stop a replication: each is passed on to the training run, which saves itself and exits."""


class Stopped(Exception):
    """A stop signal reached the replication while a run trained; ``code`` is how that run exited."""

    def __init__(self, key: str, signum: int, code: int):
        super().__init__(f"stopped during {key} by {signal.Signals(signum).name}: {_what_became(code)}")
        self.key, self.signum = key, signum


def _what_became(code: int) -> str:
    """What a run's exit code says of it, after a stop signal was passed on."""
    if code > 128:  # the command's own exit for a signal it handled: it saved itself
        return "its run saved itself as interrupted"
    if code < 0:
        return f"its run was killed by {signal.Signals(-code).name} (before it could save; its last checkpoint stays)"
    return f"its run exited {code} (0: it had completed)"


def newest_run(runs_dir: Path, key: str, finished: bool = True) -> Path | None:
    """The newest run folder under RUNS/<key>/, only a completed one when finished (run ids sort by time)."""
    for summary in sorted((runs_dir / key).glob("*/summary.json"), reverse=True):
        try:
            status = _read_status(summary.parent)
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
    newest = newest_run(runs_dir, key, finished=False)  # one pass over the key's runs, its status read once
    return newest if newest is not None and _read_status(newest) != "completed" else None


def _read_status(run: Path) -> str | None:
    return json.loads((run / "summary.json").read_text()).get("status")


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
        code, signum = _call(cmd, log)
        log.write(f"exit {code}, wall {time.perf_counter() - t0:.0f} s\n")
    if signum is not None:
        raise Stopped(job.key, signum, code)
    return code


def _call(cmd: list[str], log: IO[str]) -> tuple[int, int | None]:
    """Run the training command and pass each stop signal on to it; (its exit code, the first signal or None).

    It runs in a session of its own so that a terminal's Ctrl-C reaches it only through us: from the
    terminal and forwarded it would arrive twice, which the command takes as "abort". subprocess.call
    is not used because it answers Ctrl-C with SIGKILL, losing the epoch's steps since its checkpoint.
    The handlers go in before the child starts, so a signal in between is kept and passed on once it has;
    and should we die without a word (kill -9), the child gets SIGTERM and saves itself too.
    """
    seen: list[int] = []
    proc: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: object) -> None:
        seen.append(signum)
        if proc is not None:
            proc.send_signal(signum)

    # nohup's SIGHUP stays ignored: a dropped SSH session must not stop a replication started under it
    stops = [s for s in STOPS if not (s == signal.SIGHUP and signal.getsignal(s) == signal.SIG_IGN)]
    before = {s: signal.signal(s, forward) for s in stops}
    try:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
                                preexec_fn=parent_death_signal())
        if seen:
            proc.send_signal(seen[0])
        code = proc.wait()
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
    return code, (seen[0] if seen else None)
