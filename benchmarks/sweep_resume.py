"""A 12-trial sweep two at a time, its driver killed with SIGKILL half way, then the same command to the end.

Usage: python benchmarks/sweep_resume.py [--runs-dir DIR] [--kill-after 4] [--epochs 3] [--train-limit 3000]

Prints the raw output of both commands (each line with the seconds since the first started), the
runs the kill left behind, and a check of the end state: exactly 12 trials, each trial number once,
every run complete (or pruned: stopped, saved), the interrupted ones continued in their own runs.
The sweep: synthetic data, lr x batch size x model (mlp, cnn), median pruning.
"""
from __future__ import annotations

import argparse
import os
import platform
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.runs import complete_records, list_runs, read_meta, writer_alive  # noqa: E402

T0 = time.monotonic()


def say(text: str) -> None:
    for line in text.splitlines() or [""]:
        print(f"[{time.monotonic() - T0:7.1f}s] {line}", flush=True)


def sweep_args(a: argparse.Namespace) -> list[str]:
    return ["sweep", "bench12", "--dataset", "synthetic", "--train-limit", str(a.train_limit), "--val-split", "500",
            "--test-limit", "500", "--epochs", str(a.epochs), "--param", "lr=0.003,0.03,0.3",
            "--param", "batch-size=32,128", "--param", "model=mlp,cnn", "--parallel", "2", "--no-ui",
            "--runs-dir", a.runs_dir]


def start(args: list[str]) -> tuple[subprocess.Popen, queue.Queue]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    say("$ cifar-tui " + " ".join(args))
    proc = subprocess.Popen([sys.executable, "-m", "tui", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def drain(lines: queue.Queue, timeout: float) -> tuple[list[str], bool]:
    """Lines that arrived within ``timeout`` (printed as they come); True once the output has ended."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            return got, True
        say(line)
        got.append(line)
    return got, False


def mid_epoch_trial(runs: Path) -> bool:
    """Some trial is between epochs: it has committed one and its process still writes it."""
    return any(writer_alive(r.path) and complete_records(r) for r in list_runs(runs))


def first_command(a: argparse.Namespace) -> None:
    proc, lines = start(sweep_args(a))
    ended = 0
    while True:
        got, done = drain(lines, 0.5)
        ended += sum(line.startswith("trial ") and " resumes " not in line for line in got)
        if done:
            raise SystemExit("the sweep ended before it could be killed; raise --kill-after's room (more trials)")
        if ended >= a.kill_after and mid_epoch_trial(Path(a.runs_dir)):
            break
    say(f"$ kill -9 {proc.pid}   # the sweep's driver, with {ended} trials ended and trials mid-way")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 120
    while any(writer_alive(r.path) for r in list_runs(a.runs_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)  # the orphaned trials got SIGTERM from the kernel: they save and end
    show(["runs", "--runs-dir", a.runs_dir])
    show(["sweeps", "--runs-dir", a.runs_dir])


def show(args: list[str]) -> None:
    say("$ cifar-tui " + " ".join(args))
    out = subprocess.run([sys.executable, "-m", "tui", *args], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    say(out.stdout.rstrip() + out.stderr.rstrip())


def second_command(a: argparse.Namespace) -> int:
    proc, lines = start(sweep_args(a))
    while not drain(lines, 1.0)[1]:
        pass
    code = proc.wait()
    say(f"exit {code}")
    return code


def check(a: argparse.Namespace) -> bool:
    runs = list_runs(a.runs_dir)
    trials = sorted(int(r.run_id.rpartition("-t")[2]) for r in runs)
    pruned = [r for r in runs if "pruned" in read_meta(r.path).tags]
    complete = [r for r in runs if r.status == "completed" and r.summary.get("epochs_done") == a.epochs]
    failed = [r for r in runs if r.status in ("failed", "diverged")]
    resumed = [r for r in runs if r.config.get("resumes")]
    ok = trials == list(range(12)) and {r.run_id for r in complete + pruned + failed} == {r.run_id for r in runs}
    say(f"check: {len(runs)} runs, trial numbers {trials}")
    say(f"check: {len(complete)} completed ({a.epochs}/{a.epochs} epochs), {len(pruned)} pruned (stopped and saved), "
        f"{len(failed)} failed or diverged (recorded with the reason)")
    say(f"check: {len(resumed)} continued in place after the kill: {', '.join(r.run_id for r in resumed) or 'none'}")
    say(f"check: {'OK' if ok else 'FAILED'}: exactly 12 trials, each once, each run ended (none left interrupted)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default=None, help="default: a new temporary folder")
    parser.add_argument("--kill-after", type=int, default=4, help="trials ended before the kill")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=3000)
    a = parser.parse_args()
    a.runs_dir = a.runs_dir or tempfile.mkdtemp(prefix="sweep-bench-")
    say(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"runs in {a.runs_dir}")
    first_command(a)
    code = second_command(a)
    return 0 if check(a) and code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
