"""Data-parallel scaling: the same headless run in 1 process and under torchrun with N, side by side.

Each side is the real command line (`python -m tui --no-ui ...` and
`python -m torch.distributed.run --nproc-per-node=N -m tui --no-ui ...`), on the
same config, interleaved round by round so drift hits both alike. The engine's own
training img/s (evaluation excluded) is read from each run's summary; the ratio of
medians is printed. One process uses every core (torch's threads); each of the N
processes gets cores/N threads, so on a CPU the N processes share the cores the one
process had: expect at most 1x there, and less for the all-reduce of the gradients.

    python benchmarks/ddp.py                       # cnn on synthetic CIFAR-sized data, 2 processes
    python benchmarks/ddp.py --nproc 4 --device cuda --model resnet18-cifar --train-limit 50000
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def command(nproc: int, args: argparse.Namespace, runs: Path) -> list[str]:
    run = ["-m", "tui", "--no-ui", "--dataset", "synthetic", "--model", args.model, "--epochs", str(args.epochs),
           "--train-limit", str(args.train_limit), "--test-limit", "200", "--batch-size", str(args.batch_size),
           "--device", args.device, "--no-checkpoints", "--no-predictions", "--runs-dir", str(runs)]
    if nproc == 1:
        return [sys.executable, *run]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *run]


def rate(nproc: int, args: argparse.Namespace) -> float:
    """Training img/s of the run's last epoch (the first pays the warm-up)."""
    cores = os.cpu_count() or 1
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(max(1, cores // nproc))}
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(command(nproc, args, Path(tmp)), env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{nproc}-process run failed:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
        (run,) = Path(tmp).iterdir()
        last = (run / "metrics.jsonl").read_text().splitlines()[-1]
        return float(json.loads(last)["img_per_s"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--model", default="cnn")
    p.add_argument("--device", default="cpu")
    p.add_argument("--train-limit", type=int, default=6000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="tiny sizes, one round: checks the script runs")
    p.add_argument("--json", type=Path, help="write the result rows here (python -m benchmarks reads them)")
    args = p.parse_args(argv)
    if args.quick:
        args.train_limit, args.epochs, args.repeats = 600, 1, 1
    import torch

    print(f"# python benchmarks/ddp.py  ({platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"device {args.device})")
    print(f"{args.model} on synthetic 32 px, {args.train_limit} train images, global batch {args.batch_size}, "
          f"{args.epochs} epochs; img/s of the last epoch; 1 process with {os.cpu_count()} threads vs "
          f"{args.nproc} processes with {max(1, (os.cpu_count() or 1) // args.nproc)} each")
    one, many = [], []
    for r in range(args.repeats):
        one.append(rate(1, args))
        many.append(rate(args.nproc, args))
        print(f"round {r + 1}: 1 process {one[-1]:.0f} img/s, {args.nproc} processes {many[-1]:.0f} img/s", flush=True)
    ratio = statistics.median(many) / statistics.median(one)
    print(f"median: 1 process {statistics.median(one):.0f} img/s, {args.nproc} processes "
          f"{statistics.median(many):.0f} img/s, ratio {ratio:.2f}x")
    if args.json:
        args.json.write_text(json.dumps([{
            "benchmark": "ddp", "target": f"{args.nproc} processes / 1 ({args.device}; expected <= 1x on a CPU)",
            "measured": round(ratio, 3), "goal": 1.0, "unit": "x", "higher_is_better": True,
            "met": ratio >= 1.0 if args.device != "cpu" else True,
            "note": "on a CPU the processes share the same cores; informative, not a target"}], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
