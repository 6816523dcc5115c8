"""Start-up: `cifar-tui --help`, `models`, `presets`, `presets --json` and the app's first frame, side by side.

Each is a fresh interpreter, timed from just before the process is spawned:
the commands until they exit, the app until its launcher's first frame is
drawn (Textual's headless driver, as benchmarks/tui_overhead.py measures it:
the app's own first-frame mark, the first idle after the launcher was painted;
the child reports it on the system-wide monotonic clock, with whether torch was
imported by then). Beside the wall time, the CPU time the process used up to
that point: on a shared machine the wall time grows with the load, the CPU time
much less. Repeats are interleaved (every case once per round) so drift hits
all alike; medians are compared with the 0.5 s target of issue 13. For scale, a
bare Textual app (a Static and a Footer) is timed the same way.

    python benchmarks/startup.py                     # this checkout, 7 rounds
    python benchmarks/startup.py --root /tmp/before  # another checkout beside it (e.g. `git archive` of a commit)
    python benchmarks/startup.py --quick --json rows.json  # one round (a smoke run); the targets as JSON rows
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
TARGET_S = 0.5
COMMANDS = {"--help": ["--help"], "models": ["models"], "presets": ["presets"], "presets --json": ["presets", "--json"]}
FIRST_FRAME = "first frame"
FLOOR = "bare Textual app"

# The launcher in a fresh interpreter: prints the monotonic time of its first frame, the CPU time used by then and
# whether torch was imported, then exits at once (not waiting for the import of torch that starts after the frame).
FIRST_FRAME_SNIPPET = """
import asyncio, os, time
from tui.app import CifarApp
mark = CifarApp._first_frame
def first_frame(self):
    self.cpu_at_frame = time.process_time()
    mark(self)
CifarApp._first_frame = first_frame
async def main():
    app = CifarApp(runs_dir={runs!r})
    async with app.run_test(size=(80, 24)) as pilot:
        while app.first_frame_s is None:
            await pilot.pause(0.01)
        print(app.started_at + app.first_frame_s, app.cpu_at_frame, app.torch_at_first_frame, flush=True)
        os._exit(0)
asyncio.run(main())
"""
FLOOR_SNIPPET = """
import asyncio, os, time
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    frame = None
    def compose(self):
        yield Static("first frame")
        yield Footer()
    def on_mount(self):
        self.call_after_refresh(lambda: setattr(self, "frame", (time.perf_counter(), time.process_time())))
async def main():
    app = Bare()
    async with app.run_test(size=(80, 24)) as pilot:
        while app.frame is None:
            await pilot.pause(0.01)
        print(*app.frame, False, flush=True)
        os._exit(0)
asyncio.run(main())
"""


def time_command(root: Path, args: list[str]) -> tuple[float, float]:
    """(wall seconds from spawn to exit, CPU seconds of the process)."""
    cpu0 = _children_cpu()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui", *args], cwd=root, stdout=subprocess.DEVNULL, check=True,
                   env=_env(root))
    return time.perf_counter() - start, _children_cpu() - cpu0


def time_first_frame(root: Path, snippet: str) -> tuple[float, float, bool]:
    """(wall seconds from spawn to the first frame, CPU seconds by then, torch imported by then)."""
    start = time.perf_counter()  # CLOCK_MONOTONIC on Linux: the child's perf_counter reads the same clock
    out = subprocess.run([sys.executable, "-c", snippet], cwd=root, text=True,
                         capture_output=True, check=True, env=_env(root)).stdout.split()
    return float(out[0]) - start, float(out[1]), out[2] == "True"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _env(root: Path) -> dict[str, str]:
    # The checkout under test, not whatever copy is installed.
    return {**os.environ, "PYTHONPATH": str(root)}


Times = dict[tuple[str, str], list[tuple[float, float]]]


def measure(roots: list[Path], rounds: int) -> Times:
    times: Times = {}
    torch_seen: set[str] = set()
    with tempfile.TemporaryDirectory() as runs:
        for i in range(rounds):
            for root in roots:
                for name, args in COMMANDS.items():
                    times.setdefault((str(root), name), []).append(time_command(root, args))
                wall, cpu, torch_loaded = time_first_frame(root, FIRST_FRAME_SNIPPET.format(runs=runs))
                times.setdefault((str(root), FIRST_FRAME), []).append((wall, cpu))
                if torch_loaded:
                    torch_seen.add(str(root))
            times.setdefault(("", FLOOR), []).append(time_first_frame(HERE, FLOOR_SNIPPET)[:2])
            print(f"round {i + 1}/{rounds} done", flush=True)
    for seen in sorted(torch_seen):
        print(f"WARNING: {seen}: torch was imported before the first frame")
    return times


def report(times: Times, roots: list[Path]) -> None:
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    for root in roots:
        print(f"\n{root}  (medians of {len(times[(str(root), FIRST_FRAME)])}, interleaved; target <= {TARGET_S} s)")
        for name in [*COMMANDS, FIRST_FRAME]:
            _line(name, times[(str(root), name)])
    print("\nfor scale:")
    _line(FLOOR, times[("", FLOOR)])


def _line(name: str, runs: list[tuple[float, float]]) -> None:
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    verdict = "meets " if wall <= TARGET_S else "MISSES"
    print(f"  {name:<16} wall {wall:5.2f} s {verdict} (cpu {cpu:4.2f} s)   wall runs: "
          f"{', '.join(f'{w:.2f}' for w, _ in runs)}")


def json_rows(times: Times) -> list[dict]:
    """This checkout's medians as benchmark rows (python -m benchmarks prints them in its table)."""
    rows = []
    for name in [*COMMANDS, FIRST_FRAME]:
        runs = times[(str(HERE), name)]
        wall = statistics.median(w for w, _ in runs)
        rows.append(dict(benchmark="startup", target=f"{name} wall", measured=round(wall, 3), goal=TARGET_S,
                         unit="s", higher_is_better=False, met=wall <= TARGET_S,
                         note=f"median of {len(runs)}, cpu {statistics.median(c for _, c in runs):.2f} s"))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--root", type=Path, action="append", default=[],
                   help="another checkout to time beside this one (repeatable)")
    p.add_argument("--quick", action="store_true", help="one round: a smoke run")
    p.add_argument("--json", type=Path, help="write this checkout's targets here as JSON rows")
    args = p.parse_args()
    roots = [HERE, *(r.resolve() for r in args.root)]
    times = measure(roots, 1 if args.quick else args.rounds)
    report(times, roots)
    if args.json:
        import json

        args.json.write_text(json.dumps(json_rows(times), indent=1) + "\n")


if __name__ == "__main__":
    main()
