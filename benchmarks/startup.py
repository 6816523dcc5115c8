"""Start-up: `cifar-tui --help`, `models`, `presets`, `presets --json` and the app's first frame, side by side.

Each is a fresh interpreter, timed from just before the process is spawned:
the commands until they exit, the app (`python -m tui`, as a user starts it)
until its launcher's first frame has been written to a real terminal: a pty of
80x24 this script reads (benchmarks/terminal.py), the frame being the first
output holding the launcher's title, its first row and its footer. (Textual's
headless mode renders no bytes, and its idle callbacks may run after work the
launcher defers past its first frame.) Beside the wall time, the CPU time the
process used up to that point: on a shared machine the wall time grows with
the load, the CPU time much less. Whether torch was imported by the first
frame is checked once, in-process. Repeats are interleaved (every case once per round) so drift hits
all alike; medians are compared with the 0.5 s target (README, Performance). For scale, a
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
sys.path.insert(0, str(HERE))  # benchmarks.terminal
TARGET_S = 0.5
COMMANDS = {"--help": ["--help"], "models": ["models"], "presets": ["presets"], "presets --json": ["presets", "--json"]}
FIRST_FRAME = "first frame"
FLOOR = "bare Textual app"

# The launcher's first frame on the terminal: its title, the first row of its form, its footer.
LAUNCHER_FRAME = (b"new training run", b"preset", b"Quit")
FLOOR_SNIPPET = """
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    def compose(self):
        yield Static("first frame")
        yield Footer()
Bare().run()
"""
# Whether torch is imported by the launcher's first frame (the app's own mark, in-process).
TORCH_SNIPPET = """
import asyncio, os
from tui.app import CifarApp
async def main():
    app = CifarApp(runs_dir={runs!r})
    async with app.run_test(size=(80, 24)) as pilot:
        while app.first_frame_s is None:
            await pilot.pause(0.01)
        print(app.torch_at_first_frame, flush=True)
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


def time_first_frame(root: Path, argv: list[str], frame: tuple[bytes, ...]) -> tuple[float, float]:
    """(wall seconds from spawn until the frame's texts were written to the pty, CPU seconds of the process by then);
    then ctrl+q."""
    from benchmarks.terminal import Terminal

    with Terminal.spawn([sys.executable, *argv], size=(80, 24), cwd=root, env=_env(root)) as term:
        wall = term.wait_for(*frame)
        cpu = term.cpu_s()
        term.send(b"\x11")
    return wall, cpu


def torch_at_first_frame(root: Path, runs: str) -> bool:
    out = subprocess.run([sys.executable, "-c", TORCH_SNIPPET.format(runs=runs)], cwd=root, text=True,
                         capture_output=True, check=True, env=_env(root)).stdout.split()
    return out[-1] == "True"


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
                times.setdefault((str(root), FIRST_FRAME), []).append(
                    time_first_frame(root, ["-m", "tui", "--runs-dir", runs], LAUNCHER_FRAME))
            times.setdefault(("", FLOOR), []).append(time_first_frame(HERE, ["-c", FLOOR_SNIPPET], (b"first frame",)))
            print(f"round {i + 1}/{rounds} done", flush=True)
        torch_seen.update(str(root) for root in roots if torch_at_first_frame(root, runs))
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
