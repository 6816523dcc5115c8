"""What the dashboard costs training: throughput with the app open vs. plain engine.train.

Same config, same process, interleaved (plain, dashboard, plain, dashboard, ...)
so drift of a shared machine hits both sides alike; the engine's own img/s
(training steps only, evaluation excluded) is compared, best of N per side.
The dashboard runs headless (App.run_test): Textual lays out and renders every
frame as in a terminal, it only skips writing the bytes to a tty.

Also measures the first-frame time of the launcher in a fresh interpreter
(imports included) and checks torch was not imported before that frame.

    python benchmarks/tui_overhead.py                 # CPU-sized defaults
    python benchmarks/tui_overhead.py --model resnet18-cifar --train-limit 20000 --device cuda
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import RunConfig  # noqa: E402

FIRST_FRAME_SNIPPET = """
import time
t0 = time.perf_counter()
import asyncio, sys
from tui.app import CifarApp
imported = time.perf_counter() - t0
async def main():
    app = CifarApp(runs_dir={runs!r})
    async with app.run_test(size=(80, 24)) as pilot:
        while app.first_frame_s is None:
            await pilot.pause(0.01)
        print(imported, app.first_frame_s, app.torch_at_first_frame)
asyncio.run(main())
"""


def plain_run(config: RunConfig) -> float:
    from engine.train import train

    return float(train(config).summary["img_per_s"])


def thread_run(config: RunConfig) -> float:
    """engine.train in a plain thread, no UI: the control that isolates the UI's cost
    from any effect of training off the main thread (the dashboard trains in a worker)."""
    import threading

    out: list[float] = []
    worker = threading.Thread(target=lambda: out.append(plain_run(config)))
    worker.start()
    worker.join()
    return out[0]


def dashboard_run(config: RunConfig, size: tuple[int, int]) -> float:
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


def first_frame(runs: str, repeats: int) -> list[tuple[float, float, bool]]:
    out = []
    for _ in range(repeats):
        res = subprocess.run([sys.executable, "-c", FIRST_FRAME_SNIPPET.format(runs=runs)], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
        imported, frame, torch_loaded = res.stdout.split()
        out.append((float(imported), float(frame), torch_loaded == "True"))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="cnn")
    p.add_argument("--dataset", default="synthetic")
    p.add_argument("--train-limit", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="auto")
    p.add_argument("--pairs", type=int, default=3, help="rounds of plain / plain-in-thread / dashboard, interleaved")
    p.add_argument("--size", default="160x48", help="terminal size of the headless dashboard")
    args = p.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as runs:
        config = RunConfig(dataset=args.dataset, model=args.model, epochs=args.epochs, batch_size=args.batch_size,
                           train_limit=args.train_limit, test_limit=200, device=args.device, runs_dir=runs,
                           checkpoints=False).validate()
        plain_run(config.replace(epochs=1, train_limit=300))  # warm-up: imports, allocator, kernels
        plain, thread, dash = [], [], []
        for i in range(args.pairs):
            plain.append(plain_run(config))
            thread.append(thread_run(config))
            dash.append(dashboard_run(config, size))  # type: ignore[arg-type]
            print(f"round {i + 1}: plain {plain[-1]:,.0f}  plain-in-thread {thread[-1]:,.0f}  "
                  f"dashboard {dash[-1]:,.0f} img/s", flush=True)
        frames = first_frame(runs, 3)
    import torch

    print(f"\nmachine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}")
    print(f"config: {args.model} on {args.dataset}, {args.train_limit} train images, batch {args.batch_size}, "
          f"{args.epochs} epochs; dashboard at {args.size} (headless)")
    print(f"plain engine.train : best {max(plain):,.0f} img/s  (runs: {', '.join(f'{v:,.0f}' for v in plain)})")
    print(f"plain, in a thread : best {max(thread):,.0f} img/s  (runs: {', '.join(f'{v:,.0f}' for v in thread)})")
    print(f"with dashboard     : best {max(dash):,.0f} img/s  (runs: {', '.join(f'{v:,.0f}' for v in dash)})")
    med = statistics.median
    print(f"dashboard / plain            : best {100 * max(dash) / max(plain):.1f}%  "
          f"median {100 * med(dash) / med(plain):.1f}%  (target >= 97%)")
    print(f"dashboard / plain-in-thread  : best {100 * max(dash) / max(thread):.1f}%  "
          f"median {100 * med(dash) / med(thread):.1f}%  (the UI's own cost)")
    print(f"UI thread CPU while training: {', '.join(f'{100 * v:.1f}%' for v in UI_CPU)} of one core "
          f"(incl. the test pilot's 1 Hz polling)")
    print(f"load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for imported, frame, torch_loaded in frames:
        print(f"first frame        : {imported + frame:.2f} s from interpreter start to the launcher drawn "
              f"(imports {imported:.2f} s, app {frame:.2f} s); torch imported by then: {torch_loaded}")


if __name__ == "__main__":
    main()
