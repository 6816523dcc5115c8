"""Run the benchmark suite and print one table: python -m benchmarks [--quick] [--only NAME ...]

Each script runs in its own interpreter with ``--json TMP`` (and ``--quick``
when asked), its own output streaming through; the rows it writes (one per
Performance target (README) it checks) become the table at the end. A script that is
absent, does not take --json yet, or fails gets a line saying so, not a row.
Timed runs share the machine: wrap the whole suite in the bench lock, e.g.
``flock /tmp/cifar-bench.lock python -m benchmarks``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = ("throughput", "time_to_accuracy", "compile_cpu", "feature_cache", "startup", "tui_overhead", "inspect_cost",
         "tensorboard_cost", "many_runs")
EXTRA = ("gpu",)  # needs a GPU: only with --only gpu


def run_one(name: str, quick: bool, tmp: Path) -> tuple[list[dict], str | None]:
    """(the script's rows, or a reason it gave none)."""
    script = HERE / f"{name}.py"
    if not script.is_file():
        return [], "not in this checkout"
    source = script.read_text()
    if '"--json"' not in source:
        return [], "does not take --json yet"
    out = tmp / f"{name}.json"
    cmd = [sys.executable, str(script), "--json", str(out)]
    if quick:
        if '"--quick"' not in source:
            return [], "has no --quick mode"
        cmd.append("--quick")
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))}
    code = subprocess.run(cmd, cwd=HERE.parent, env=env).returncode
    if code != 0:
        return [], f"exited with {code}"
    if not out.is_file():
        return [], "wrote no --json file"
    return json.loads(out.read_text()), None


def table(rows: list[dict], notes: dict[str, str]) -> str:
    head = f"{'benchmark':<18}{'target':<44}{'measured':>12}{'goal':>10}  {'unit':<6}{'met':<5}"
    lines = [head, "-" * len(head)]
    for r in rows:
        goal = "-" if r["goal"] == 0 and r["note"].startswith("reported") else f"{r['goal']:g}"
        met = "-" if goal == "-" else ("yes" if r["met"] else "NO")
        lines.append(f"{r['benchmark']:<18}{r['target'][:43]:<44}{r['measured']:>12g}{goal:>10}  "
                     f"{r['unit']:<6}{met:<5}")
    for name, why in notes.items():
        lines.append(f"{name:<18}({why})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="each script's smoke mode (tiny sizes; numbers not meaningful)")
    ap.add_argument("--only", nargs="+", choices=SUITE + EXTRA, metavar="NAME", help=f"of: {', '.join(SUITE + EXTRA)}")
    ap.add_argument("--json", type=Path, help="also write every row here")
    args = ap.parse_args(argv)
    rows: list[dict] = []
    notes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or SUITE:
            got, why = run_one(name, args.quick, Path(tmp))
            rows += got
            if why:
                notes[name] = why
    print("\n" + table(rows, notes))
    if args.quick:
        print("(--quick: tiny sizes, the numbers are not meaningful)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 1 if any(n.startswith("exited") for n in notes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
