"""Thousands of runs: `runs --json`, the app's runs screen opening, and the app idle on it, at 1 / 500 / 5,000 runs.

One small real run is trained by the real engine (`--no-ui`, synthetic data, `mlp`, one epoch); each runs
directory then holds N copies of it made with hard links (cheap, and every copy a complete run folder), each
under its own run id: the source's start time moved back a second per copy, so they list as runs of one
config started one after another (as a seed sweep without names makes them). For each N, side by side:

- ``python -m tui runs --json``: wall time of a fresh process until it exits, its output read from a pipe
  (checked once to hold N runs). The first call after the copies were made is reported apart ("cold": the
  page cache is warm, but no process has listed this directory yet), then the median of the next ones.
- the app (``python -m tui``) on a real terminal of 160x48 (benchmarks/terminal.py): once the launcher has
  drawn its first frame and gone quiet (torch imported, the runs directory's listing read: the app does both
  in the background after its first frame), ``r`` is pressed and the time until the runs screen's table is
  drawn is taken (its state line, '5000 runs · sorted by ...', is written in the same frame as its first rows).
  Then once more with ``r`` pressed as soon as the launcher's first frame is there ("at once": the screen
  competes with the import of torch and reads the listing itself).
- sitting idle on the runs screen for ``--idle`` seconds: the CPU time the app's process used per wall second
  (all its threads, from /proc), and its peak RSS (VmHWM) at the end.

Targets at 5,000 runs (README, Performance): the runs screen opens in < 1 s, idle on it the app uses < 1% of a
core, `runs --json` answers in < 1 s.

    python benchmarks/many_runs.py                        # 1, 500, 5000 runs; 20 s idle each
    python benchmarks/many_runs.py --counts 1 5000 --idle 30
    python benchmarks/many_runs.py --quick --json rows.json   # 1 and 20 runs, 3 s idle: a smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.terminal import Terminal  # noqa: E402

OPEN_GOAL_S = 1.0
IDLE_GOAL_PCT = 1.0
JSON_GOAL_S = 1.0
GOAL_AT = 5000  # the targets are for this many runs
SIZE = (160, 48)
LAUNCHER_FRAME = (b"new training run", b"Quit")
STAMP = "%Y%m%d-%H%M%S"


@dataclass
class Figures:
    """What was measured at one count of runs."""

    runs: int
    json_cold_s: float
    json_warm_s: list[float]
    open_s: float
    open_cpu_s: float
    idle_pct: float
    rss_mb: float
    at_once_s: float

    @property
    def json_s(self) -> float:
        return statistics.median(self.json_warm_s) if self.json_warm_s else self.json_cold_s


def _env(runs_root: Path) -> dict[str, str]:
    # This checkout; settings (remembered columns) of the benchmark's own, not the user's.
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(runs_root / "config")}


def make_source(tmp: Path) -> Path:
    """One small run trained by the real engine; its folder."""
    runs = tmp / "source"
    subprocess.run([sys.executable, "-m", "tui", "--no-ui", "--dataset", "synthetic", "--model", "mlp", "--epochs",
                    "1", "--train-limit", "200", "--test-limit", "100", "--runs-dir", str(runs)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=_env(tmp))
    (run,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return run


def copy_id(source_id: str, i: int) -> str:
    """The source's id with its start time moved back i seconds: '20261206-045751-mlp-scratch' -> '...045750-...'."""
    stamp, rest = source_id[:15], source_id[15:]
    return (datetime.strptime(stamp, STAMP) - timedelta(seconds=i)).strftime(STAMP) + rest


def make_copies(source: Path, runs_dir: Path, n: int) -> None:
    """n copies of the source run in runs_dir, every file a hard link to the source's."""
    files = [p.relative_to(source) for p in source.rglob("*") if p.is_file()]
    folders = sorted({f.parent for f in files} - {Path(".")})
    runs_dir.mkdir(parents=True)
    for i in range(n):
        dest = runs_dir / copy_id(source.name, i)
        dest.mkdir()
        for folder in folders:
            (dest / folder).mkdir(parents=True, exist_ok=True)
        for f in files:
            os.link(source / f, dest / f)


def time_runs_json(runs_dir: Path, env: dict[str, str], n: int) -> float:
    """Seconds until `runs --json` exits, its output read from a pipe (checked to list n runs)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "tui", "runs", "--json", "--runs-dir", str(runs_dir)], cwd=ROOT,
                         env=env, check=True, stdout=subprocess.PIPE).stdout
    wall = time.perf_counter() - start
    listed = len(json.loads(out))
    assert listed == n, f"runs --json listed {listed} runs, expected {n}"
    return wall


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _wait_quiet(term: Terminal, window: float = 0.5, below: float = 0.05, timeout: float = 30.0) -> None:
    """Until the app used under ``below`` of a core over ``window`` seconds (the launcher's deferred mounts and
    torch import in a thread are over), at most ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        cpu = _proc_cpu(term.proc.pid)
        time.sleep(window)
        if _proc_cpu(term.proc.pid) - cpu < below * window:
            return


def _wait_after(term: Terminal, since: float, needles: tuple[bytes, ...], timeout: float = 120.0) -> float:
    """Seconds after the spawn at which every needle had been written since ``since`` (seconds after the spawn)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with term._lock:
            chunks = [(t - term.started, d) for t, d in term.chunks if t - term.started >= since]
        seen = b""
        for when, data in chunks:
            seen += data
            if all(n in seen for n in needles):
                return when
        if term.proc.poll() is not None:
            break
        time.sleep(0.005)
    raise TimeoutError(f"{needles!r} not seen after {since:.1f} s; last output: {term.output()[-400:]!r}")


def time_screen(runs_dir: Path, env: dict[str, str], n: int, idle_s: float) -> tuple[float, float, float, float]:
    """(seconds from r to the drawn runs table, CPU seconds the app used for it, idle % of a core, peak RSS MB)."""
    argv = [sys.executable, "-m", "tui", "--runs-dir", str(runs_dir)]
    with Terminal.spawn(argv, size=SIZE, cwd=ROOT, env=env) as term:
        term.wait_for(*LAUNCHER_FRAME)
        _wait_quiet(term)
        pressed, cpu0 = time.perf_counter() - term.started, _proc_cpu(term.proc.pid)
        term.send(b"r")
        shown = _wait_after(term, pressed, (_state_line(n),))
        open_cpu = _proc_cpu(term.proc.pid) - cpu0
        time.sleep(2.0)  # settle: the rest of the rows, the scan the opening started
        _wait_quiet(term)
        cpu1, wall1 = _proc_cpu(term.proc.pid), time.perf_counter()
        time.sleep(idle_s)
        idle = 100 * (_proc_cpu(term.proc.pid) - cpu1) / (time.perf_counter() - wall1)
        rss = _peak_rss_mb(term.proc.pid)
        term.send(b"\x11")  # ctrl+q
        code = term.close()
    assert code == 0, f"the app exited with {code}"
    return shown - pressed, open_cpu, idle, rss


def time_screen_at_once(runs_dir: Path, env: dict[str, str], n: int) -> float:
    """Seconds from r to the drawn runs table, r pressed as soon as the launcher's first frame is there."""
    argv = [sys.executable, "-m", "tui", "--runs-dir", str(runs_dir)]
    with Terminal.spawn(argv, size=SIZE, cwd=ROOT, env=env) as term:
        term.wait_for(*LAUNCHER_FRAME)
        pressed = time.perf_counter() - term.started
        term.send(b"r")
        shown = _wait_after(term, pressed, (_state_line(n),))
        _wait_quiet(term)  # quit once torch is in: a quit during the import waits for it anyway
        term.send(b"\x11")
        code = term.close()
    assert code == 0, f"the app exited with {code}"
    return shown - pressed


def _state_line(n: int) -> bytes:
    return f"{n} run{'' if n == 1 else 's'} · sorted by".encode()


def measure(tmp: Path, counts: list[int], repeats: int, idle_s: float) -> list[Figures]:
    source = make_source(tmp)
    print(f"source run: {source.name} ({sum(1 for p in source.rglob('*') if p.is_file())} files)", flush=True)
    out = []
    for n in counts:
        runs_dir = tmp / f"runs-{n}"
        make_copies(source, runs_dir, n)
        env = _env(tmp)
        cold = time_runs_json(runs_dir, env, n)
        warm = [time_runs_json(runs_dir, env, n) for _ in range(repeats)]
        open_s, open_cpu, idle, rss = time_screen(runs_dir, env, n, idle_s)
        at_once = time_screen_at_once(runs_dir, env, n)
        fig = Figures(n, cold, warm, open_s, open_cpu, idle, rss, at_once)
        print(f"{n:>6} runs: runs --json first {cold:.2f} s, then {', '.join(f'{w:.2f}' for w in warm)} s; "
              f"runs screen {open_s:.2f} s (cpu {open_cpu:.2f} s), r at once {at_once:.2f} s; idle {idle:.2f}% "
              f"of a core; peak RSS {rss:.0f} MB", flush=True)
        shutil.rmtree(runs_dir)
        out.append(fig)
    return out


def report(figs: list[Figures], repeats: int, idle_s: float) -> None:
    base = figs[0]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"runs --json: the first call, then the median of {repeats}; the runs screen on a {SIZE[0]}x{SIZE[1]} pty, "
          f"from r to its drawn table, r pressed once the launcher was quiet (and 'at once': at its first frame); "
          f"idle: over {idle_s:.0f} s on it; x: / the {base.runs}-run figure")
    head = f"{'runs':>6}  {'json first':>10}  {'json':>6} {'x':>6}  {'screen':>6} {'x':>6}  {'(cpu)':>6}  " \
           f"{'at once':>7}  {'idle %':>6} {'x':>6}  {'RSS MB':>6} {'x':>5}"
    print(head + "\n" + "-" * len(head))
    for f in figs:
        print(f"{f.runs:>6}  {f.json_cold_s:>10.2f}  {f.json_s:>6.2f} {_x(f.json_s, base.json_s)}  "
              f"{f.open_s:>6.2f} {_x(f.open_s, base.open_s)}  {f.open_cpu_s:>6.2f}  {f.at_once_s:>7.2f}  "
              f"{f.idle_pct:>6.2f} {_x(f.idle_pct, base.idle_pct)}  {f.rss_mb:>6.0f} {_x(f.rss_mb, base.rss_mb, 5)}")
    goal = next((f for f in figs if f.runs == GOAL_AT), None)
    if goal is not None:
        print(f"\nat {GOAL_AT} runs: runs screen {goal.open_s:.2f} s (goal < {OPEN_GOAL_S:g}; r at once: "
              f"{goal.at_once_s:.2f} s) "
              f"{_met(goal.open_s < OPEN_GOAL_S)}; idle {goal.idle_pct:.2f}% of a core (goal < {IDLE_GOAL_PCT:g}) "
              f"{_met(goal.idle_pct < IDLE_GOAL_PCT)}; runs --json {goal.json_s:.2f} s (goal < {JSON_GOAL_S:g}) "
              f"{_met(goal.json_s < JSON_GOAL_S)}")


def _x(value: float, base: float, width: int = 6) -> str:
    return f"{value / base:>{width - 1}.1f}x" if base > 0 else f"{'-':>{width}}"


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def json_rows(figs: list[Figures]) -> list[dict]:
    """The largest count's figures against the targets (python -m benchmarks prints them in its table)."""
    f = figs[-1]
    note = f"{f.runs} runs" + ("" if f.runs == GOAL_AT else f" (the goals are for {GOAL_AT})")

    def row(target: str, measured: float, goal: float, unit: str) -> dict:
        return dict(benchmark="many_runs", target=f"{target}, {f.runs} runs", measured=round(measured, 3),
                    goal=goal, unit=unit, higher_is_better=False, met=measured < goal if goal else True,
                    note=note if goal else "reported (no goal)")

    return [row("runs screen opens", f.open_s, OPEN_GOAL_S, "s"), row("idle on the runs screen", f.idle_pct,
            IDLE_GOAL_PCT, "%core"), row("runs --json", f.json_s, JSON_GOAL_S, "s"),
            row("app peak RSS on the runs screen", f.rss_mb, 0.0, "MB")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--counts", type=int, nargs="+", default=[1, 500, GOAL_AT], help="runs in each directory")
    p.add_argument("--repeats", type=int, default=3, help="runs --json calls after the first, per count")
    p.add_argument("--idle", type=float, default=20.0, metavar="S", help="seconds idle on the runs screen")
    p.add_argument("--quick", action="store_true", help="1 and 20 runs, 3 s idle, one repeat: a smoke run")
    p.add_argument("--json", type=Path, help="write the target rows here (a JSON list)")
    args = p.parse_args()
    if args.quick:
        args.counts, args.repeats, args.idle = [1, 20], 1, 3.0
    with tempfile.TemporaryDirectory(prefix="many-runs-") as tmp:
        figs = measure(Path(tmp), args.counts, args.repeats, args.idle)
    report(figs, args.repeats, args.idle)
    if args.json:
        args.json.write_text(json.dumps(json_rows(figs), indent=1) + "\n")


if __name__ == "__main__":
    main()
