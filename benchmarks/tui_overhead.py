"""What the dashboard costs training: throughput with the app open vs. `--no-ui`, and the bytes it writes.

Real-terminal mode (the default; the README's Performance targets): the same config is trained by two fresh processes,
interleaved (no-ui, app, no-ui, app, ...) so drift of a shared machine hits both alike:

- ``python -m tui --no-ui ...`` with its output to a pipe, and
- ``python -m tui train ...`` on a pseudo-terminal of 80x24 (benchmarks/terminal.py), read as a terminal
  emulator reads it, quit with ``q`` once the run is saved.

Compared: the engine's own img/s (training steps only; summary.json), medians of the repeats (target: the app
>= 97% of --no-ui), and the terminal output while training steadily (from 2 s after the dashboard shows the
run training until the run's last epoch is logged; target <= 10 KiB/s at 80x24). Also the CPU the app's main
(UI) thread used while training, read from /proc, a measure that unlike img/s does not depend on what else
runs on a shared machine. ``--size 160x48`` measures the wide layout too (bytes and UI CPU, one run).

Headless mode (``--headless``): the app in this process under App.run_test (no terminal writes) against
plain engine.training.loop and engine.training.loop in a thread: isolates the UI's cost from training off the main thread.

    python benchmarks/tui_overhead.py                       # real terminal, CPU-sized defaults
    python benchmarks/tui_overhead.py --quick --json out.json
    python benchmarks/tui_overhead.py --headless
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.terminal import Terminal  # noqa: E402

THROUGHPUT_GOAL = 97.0  # % of --no-ui
OUTPUT_GOAL = 10.0  # KiB/s at 80x24
SETTLE_S = 2.0  # the first seconds of the dashboard draw everything once: not the steady rate


@dataclass
class AppRun:
    """One run of the app on a pty."""

    img_per_s: float
    kib_per_s: float
    ui_cpu: float
    """Main-thread CPU seconds per second while training."""
    window_s: float


def train_flags(args: argparse.Namespace, runs: str) -> list[str]:
    return ["--dataset", args.dataset, "--model", args.model, "--epochs", str(args.epochs), "--train-limit",
            str(args.train_limit), "--test-limit", str(args.test_limit), "--batch-size", str(args.batch_size),
            "--device", args.device, "--runs-dir", runs, "--no-checkpoints"]


def _summary(runs: str, before: set[str]) -> dict:
    new = sorted(set(os.listdir(runs)) - before)
    assert len(new) == 1, f"expected one new run in {runs}, found {new}"
    return json.loads((Path(runs) / new[0] / "summary.json").read_text())


def no_ui_run(args: argparse.Namespace, runs: str) -> float:
    before = set(os.listdir(runs))
    subprocess.run([sys.executable, "-m", "tui", "--no-ui", *train_flags(args, runs)], cwd=ROOT, check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return float(_summary(runs, before)["img_per_s"])


def _main_thread_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_run(args: argparse.Namespace, runs: str, size: tuple[int, int]) -> AppRun:
    """`python -m tui train ...` on a pty; the steady window runs from SETTLE_S after the dashboard shows the
    run training until the last epoch's record is in metrics.jsonl (then the app is quit with q)."""
    before = set(os.listdir(runs))
    argv = [sys.executable, "-m", "tui", "train", *train_flags(args, runs)]
    with Terminal.spawn(argv, size=size, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}) as term:
        training = term.wait_for(b"TRAINING", timeout=300)
        while time.perf_counter() - term.started < training + SETTLE_S:
            time.sleep(0.01)
        start, cpu0 = time.perf_counter() - term.started, _main_thread_cpu(term.proc.pid)
        _wait_for_epochs(runs, before, args.epochs)
        end, cpu1 = time.perf_counter() - term.started, _main_thread_cpu(term.proc.pid)
        written = term.bytes_between(start, end)
        term.wait_for(b"COMPLETED", timeout=300)
        term.send(b"q")
        code = term.close()
    assert code == 0, f"the app exited with {code}"
    window = end - start
    return AppRun(float(_summary(runs, before)["img_per_s"]), written / 1024 / window, (cpu1 - cpu0) / window, window)


def _wait_for_epochs(runs: str, before: set[str], epochs: int, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in set(os.listdir(runs)) - before:
            metrics = Path(runs) / name / "metrics.jsonl"
            if metrics.exists() and metrics.read_bytes().count(b"\n") >= epochs:
                return
        time.sleep(0.05)
    raise TimeoutError("the run did not finish")


# ----------------------------------------------------------------------------- headless mode (in this process)
def plain_run(config: Any) -> float:
    from engine.training.loop import train

    return float(train(config).summary["img_per_s"])


def thread_run(config: Any) -> float:
    """engine.training.loop in a plain thread, no UI: the control that isolates the UI's cost
    from any effect of training off the main thread (the dashboard trains in a worker)."""
    import threading

    out: list[float] = []
    worker = threading.Thread(target=lambda: out.append(plain_run(config)))
    worker.start()
    worker.join()
    return out[0]


def dashboard_run(config: Any, size: tuple[int, int]) -> float:
    from tui.app import CifarApp

    async def main() -> float:
        app = CifarApp(config)
        async with app.run_test(size=size) as pilot:
            dash = app.screen
            # CPU time of this (the UI) thread while training: a measure of the UI's cost that,
            # unlike img/s on a shared machine, does not depend on what else is running.
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            while dash.state.status not in ("completed", "failed", "error", "interrupted", "diverged"):
                await pilot.pause(1.0)  # a slow poll: the pilot's own wake-ups are UI-thread CPU too
            UI_CPU.append((time.thread_time() - cpu0) / (time.perf_counter() - wall0))
            run_dir = dash.state.run_dir
        return float(json.loads((Path(run_dir) / "summary.json").read_text())["img_per_s"])

    return asyncio.run(main())


UI_CPU: list[float] = []  # UI-thread CPU seconds per wall second, one per dashboard run


def headless(args: argparse.Namespace, runs: str) -> None:
    from engine.config import RunConfig

    config = RunConfig(dataset=args.dataset, model=args.model, epochs=args.epochs, batch_size=args.batch_size,
                       train_limit=args.train_limit, test_limit=args.test_limit, device=args.device, runs_dir=runs,
                       checkpoints=False).validate()
    plain_run(config.replace(epochs=1, train_limit=300))  # warm-up: imports, allocator, kernels
    plain, thread, dash = [], [], []
    for i in range(args.repeats):
        plain.append(plain_run(config))
        thread.append(thread_run(config))
        dash.append(dashboard_run(config, (160, 48)))
        print(f"round {i + 1}: plain {plain[-1]:,.0f}  plain-in-thread {thread[-1]:,.0f}  "
              f"dashboard (headless, 160x48) {dash[-1]:,.0f} img/s", flush=True)
    med = statistics.median
    print(f"dashboard / plain           : median {100 * med(dash) / med(plain):.1f}%")
    print(f"dashboard / plain-in-thread : median {100 * med(dash) / med(thread):.1f}%  (the UI's own cost)")
    print(f"UI thread CPU while training: {', '.join(f'{100 * v:.1f}%' for v in UI_CPU)} of one core "
          f"(incl. the test pilot's 1 Hz polling)")


# ----------------------------------------------------------------------------- real terminal (the default)


def real_terminal(args: argparse.Namespace, runs: str) -> list[dict[str, Any]]:
    """Interleaved --no-ui / app rounds at 80x24, then the wide layout once; prints and returns the JSON rows."""
    no_ui_run(args, runs)  # warm-up: the page cache, the dataset's synthetic cache
    plain: list[float] = []
    app: list[AppRun] = []
    for i in range(args.repeats):
        plain.append(no_ui_run(args, runs))
        app.append(app_run(args, runs, (80, 24)))
        print(f"round {i + 1}: --no-ui {plain[-1]:,.0f} img/s   app {app[-1].img_per_s:,.0f} img/s, "
              f"{app[-1].kib_per_s:.2f} KiB/s, UI thread {100 * app[-1].ui_cpu:.1f}% of a core "
              f"(window {app[-1].window_s:.0f} s)", flush=True)
    wide = [app_run(args, runs, (160, 48)) for _ in range(0 if args.quick else 1)]
    med = statistics.median
    ratio = 100 * med(a.img_per_s for a in app) / med(plain)
    rate = med(a.kib_per_s for a in app)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"config: {args.model} on {args.dataset}, {args.train_limit} train images, batch {args.batch_size}, "
          f"{args.epochs} epochs, device {args.device}; app on a pty at 80x24")
    print(f"--no-ui            : median {med(plain):,.0f} img/s  (runs: {', '.join(f'{v:,.0f}' for v in plain)})")
    print(f"app (dashboard)    : median {med(a.img_per_s for a in app):,.0f} img/s  "
          f"(runs: {', '.join(f'{a.img_per_s:,.0f}' for a in app)})")
    print(f"app / --no-ui      : {ratio:.1f}% (target >= {THROUGHPUT_GOAL:.0f}%)")
    print(f"terminal output    : median {rate:.2f} KiB/s at 80x24 (target <= {OUTPUT_GOAL:.0f})")
    print(f"UI thread CPU      : median {100 * med(a.ui_cpu for a in app):.1f}% of one core at 80x24")
    for w in wide:
        print(f"160x48, one run    : {w.kib_per_s:.2f} KiB/s, UI thread {100 * w.ui_cpu:.1f}% of a core, "
              f"{w.img_per_s:,.0f} img/s")
    note = f"{args.model} {args.dataset} {args.train_limit} imgs x {args.epochs} ep, {args.repeats} interleaved"
    return [_row("throughput with the dashboard", ratio, THROUGHPUT_GOAL, "% of --no-ui", True, note),
            _row("terminal output at 80x24", rate, OUTPUT_GOAL, "KiB/s", False, note + "; steady, while training")]


def _row(target: str, measured: float, goal: float, unit: str, higher: bool, note: str) -> dict[str, Any]:
    met = measured >= goal if higher else measured <= goal
    return {"benchmark": "tui_overhead", "target": target, "measured": round(measured, 2), "goal": goal,
            "unit": unit, "higher_is_better": higher, "met": met, "note": note}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="cnn")
    p.add_argument("--dataset", default="synthetic")
    p.add_argument("--train-limit", type=int, default=3000)
    p.add_argument("--test-limit", type=int, default=200)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds (each: --no-ui, then the app)")
    p.add_argument("--headless", action="store_true", help="the in-process comparison (App.run_test, no terminal)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke run (numbers not meaningful)")
    p.add_argument("--json", type=Path, help="write the target rows here (a JSON list)")
    args = p.parse_args()
    if args.quick:
        args.train_limit, args.test_limit, args.epochs, args.repeats = 512, 64, 1, 1
    with tempfile.TemporaryDirectory() as runs:
        if args.headless:
            headless(args, runs)
            return
        rows = real_terminal(args, runs)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
