"""Run the studies' presets on real images and write the replication table, its summary and its plot.

Usage:
  python benchmarks/replicate.py [--only KEY ...]      # CPU rows (and experiments named), JPEG CIFAR-10
  python benchmarks/replicate.py --experiments         # the runs that test the gaps
  python benchmarks/replicate.py --proof               # the GPU presets on a tiny CPU budget (recipe trains)
  python benchmarks/replicate.py --gpu --data DIR      # the GPU presets at full budget, official CIFAR-10
  python benchmarks/replicate.py --report              # remake summary.json and the page from the runs
  python benchmarks/replicate.py --table-only          # remake docs/replication.md from summary.json

Each run goes through the real command line (``python -m tui --no-ui --preset ...``) into
RUNS/<key>/, its output into benchmarks/results/replication/<key>.log. After every run the summary
(benchmarks/results/replication/summary.json) and the page (docs/replication.md, with its plot) are
remade from the runs, so a session that stops part way still leaves true files. A key whose last
run was cut short (killed, or its session ended) is resumed where its last checkpoint left it
(``--fresh`` starts it again). Run one at a time: each wants every core.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import DATA  # noqa: E402
from benchmarks.replication.page import write_page  # noqa: E402
from benchmarks.replication.plan import GPU_PRESETS, Job, Plan  # noqa: E402
from benchmarks.replication.report import collect, write_summary  # noqa: E402
from benchmarks.replication.runner import Stopped, data_flags, run_job  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "replication"
SUMMARY = RESULTS / "summary.json"


def gpu_plan() -> Plan:
    return Plan(rows=tuple(Job(p, p) for p in GPU_PRESETS), experiments=(), extra=())


def random_weights(preset: str, folder: Path) -> Path | None:
    """A state dict of the preset's torchvision model with random values: stands in for ImageNet's here."""
    import torch
    import torchvision.models as tvm

    from engine.presets import PRESETS

    if PRESETS[preset].overrides.get("strategy") == "scratch":
        return None
    arch = PRESETS[preset].overrides["model"]
    path = folder / f"{arch}-random.pt"
    if not path.exists():
        torch.save(getattr(tvm, arch)().state_dict(), path)
    return path


def choose(plan: Plan, args: argparse.Namespace) -> list[Job]:
    if args.only:
        unknown = [k for k in args.only if k not in {j.key for j in plan.all()}]
        if unknown:
            sys.exit(f"replicate: no job named {', '.join(unknown)}; the keys are: "
                     + " ".join(j.key for j in plan.all()))
        return [plan.find(k) for k in args.only]
    if args.experiments:
        return list(plan.experiments)
    if args.proof:
        return list(plan.extra)
    return list(plan.rows)


def remake(plan: Plan, runs_dir: Path) -> None:
    rows = collect(plan, runs_dir, RESULTS)
    write_summary(rows, SUMMARY)
    write_page(rows, ROOT / "docs")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="the JPEG CIFAR-10 tarball (default ../shared/data/...), or "
                   "with --gpu the folder of the official CIFAR-10 python files")
    p.add_argument("--only", nargs="*", metavar="KEY", help="these rows/experiments only")
    p.add_argument("--experiments", action="store_true", help="run the experiments that test the gaps")
    p.add_argument("--proof", action="store_true", help="run the GPU presets on a tiny CPU budget")
    p.add_argument("--gpu", action="store_true", help="run the GPU presets at full budget on CUDA")
    p.add_argument("--runs-dir", default=str(ROOT / "saved_runs" / "replication"))
    p.add_argument("--fresh", action="store_true", help="start a key's run again even where its last one was "
                   "cut short (by default that one is resumed)")
    p.add_argument("--report", action="store_true", help="remake summary.json and the page from the runs, run nothing")
    p.add_argument("--table-only", action="store_true", help="remake the page from summary.json, run nothing")
    args = p.parse_args()
    if args.table_only:
        write_page(json.loads(SUMMARY.read_text()), ROOT / "docs")
        return
    plan, runs_dir = (gpu_plan() if args.gpu else Plan()), Path(args.runs_dir)
    if args.report:
        remake(plan, runs_dir)
        return
    data = args.data or str(DATA)
    if not Path(data).exists():
        sys.exit(f"replicate: {data} not found; pass --data PATH (the JPEG CIFAR-10 tarball, or with --gpu "
                 "the official CIFAR-10 folder)")
    jobs = choose(plan, args)
    with tempfile.TemporaryDirectory() as tmp:
        for n, job in enumerate(jobs):
            print(f"{time.strftime('%H:%M:%S')} {job.key}", flush=True)
            weights = random_weights(job.preset, Path(tmp)) if job.key.endswith("@proof") else None
            try:
                run_job(job, data_flags(data, args.gpu), runs_dir, RESULTS, weights, args.fresh)
            except LookupError as exc:
                print(f"skipped: {exc}", flush=True)
            except Stopped as exc:
                remake(plan, runs_dir)
                left = " ".join(j.key for j in jobs[n:])
                with contextlib.suppress(OSError):  # after a hangup the terminal may be gone: the exit code stays
                    print(f"replicate: {exc}; to go on (it resumes {job.key}): --only {left}", file=sys.stderr)
                sys.exit(128 + exc.signum)
            remake(plan, runs_dir)
    remake(plan, runs_dir)


if __name__ == "__main__":
    main()
