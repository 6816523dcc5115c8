"""Time to 70% and 80% test accuracy: the ``fast`` presets beside the usual loop training study 004's CNN.

Usage: python benchmarks/time_to_accuracy.py [--repeats 2] [--ref-budget 300] [--ref-eval-every 15]
                                            [--fast-budget 900] [--budget 300] [--no-fast-80]
                                            [--json PATH] [--plot PNG] [--quick]

One process, the sides one after the other on the same data (CIFAR-10 (JPEG q75), the tarball in
../shared/data/, decoded once by the engine's folder loader and cached beforehand; skipped when absent):

- reference: study 004 stage 2 (preset ``004-cnn-bn-dropout``) as the studies train it: its model
  (``cnn-bn-dropout``, torch's default init), Adam 1e-3, batch 64, no augmentation, 40,000 training
  images (the preset's validation split held out), in the usual loop: uint8 images with per-sample PIL
  transforms (ToTensor, Normalize), a DataLoader with 2 workers, a plain step. Its test accuracy is
  measured every ``--ref-eval-every`` seconds of training (15 s: its time to 70% is not rounded up by
  much), outside its clock (in its favour). The first repeat runs it for ``--ref-budget`` seconds (so
  its accuracy at fast-80's finish is known); later repeats stop it once it reaches 70%.
- fast: ``engine.training.loop.train`` with the ``fast`` preset, every setting its own but the seed (the
  repeat's number - 1), checkpoints and predictions off (the reference writes none). Its test accuracy is what each epoch's evaluation
  records; its clock runs from the call to train(), so data loading, model set-up, the whitening init
  and every evaluation are inside it. A fixed budget: the schedule ends with its last epoch, and that
  epoch's evaluation is the one that counts.
- fast-80 (the first repeat only): the same with the ``fast-80`` preset; the target is 80% within
  ``--budget`` seconds (5 minutes), and the reference's accuracy at the same time is reported.

Reported: wall and CPU seconds to 70% and 80% for each side and repeat, the ratios reference / fast
(target: >= 4x to 70%) and their median, fast-80's time to 80% and where the reference was then. A PNG
(``--plot``; matplotlib, the ``bench`` extra) draws test accuracy against wall seconds for every side.

The GPU design target (>= 94% in <= 3 s on one H100, preset fast-gpu) is benchmarks/gpu.sh's.

--quick: synthetic data, a few hundred images, tiny budgets (~1 minute; the numbers mean nothing):
a smoke test of the script.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks.accuracy_curves import (  # noqa: E402
    DATA, REFERENCE, Curve, fast_config, plot, reference_config, run_fast, run_reference,
)
from engine.data.load import load_config_dataset  # noqa: E402
from engine.presets import PRESETS  # noqa: E402

THRESHOLDS = (0.70, 0.80)
GOAL_RATIO = 4.0
FAST, FAST_80 = "fast", "fast-80"


def _fmt(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds:.0f} s"


def ratio(ref: Curve, fast: Curve, acc: float) -> tuple[float | None, float | None]:
    """(wall ratio, CPU ratio) reference / fast to ``acc``; None where either never got there."""
    t_ref, t_fast, c_ref, c_fast = ref.time_to(acc), fast.time_to(acc), ref.cpu_to(acc), fast.cpu_to(acc)
    wall = t_ref / t_fast if t_ref and t_fast else None
    cpu = c_ref / c_fast if c_ref and c_fast else None
    return wall, cpu


def ratio_row(pairs: list[tuple[Curve, Curve]]) -> dict[str, Any]:
    """The 4x target on the median of the repeats' wall ratios to 70%."""
    walls = [w for w, _ in (ratio(r, f, THRESHOLDS[0]) for r, f in pairs) if w is not None]
    cpus = [c for _, c in (ratio(r, f, THRESHOLDS[0]) for r, f in pairs) if c is not None]
    row = dict(benchmark="time_to_accuracy", target=f"fast reaches 70% >= {GOAL_RATIO:g}x sooner than the reference",
               goal=GOAL_RATIO, unit="x", higher_is_better=True)
    if len(walls) < len(pairs):
        return dict(row, measured=0.0, met=False, note=f"a side did not reach 70% in {len(pairs) - len(walls)} repeat(s)")
    med = statistics.median(walls)
    return dict(row, measured=round(med, 2), met=med >= GOAL_RATIO,
                note=f"median of {len(walls)} repeats (wall {', '.join(f'{w:.2f}x' for w in walls)}; CPU seconds "
                     f"{', '.join(f'{c:.2f}x' for c in cpus)})")


def fast80_row(ref: Curve, f80: Curve, budget: float) -> dict[str, Any]:
    t = f80.time_to(THRESHOLDS[1])
    at = ref.acc_at(t if t is not None else budget)
    return dict(benchmark="time_to_accuracy", target=f"fast-80 reaches 80% within {budget:.0f} s", goal=budget,
                unit="s", higher_is_better=False, measured=round(t, 1) if t is not None else 0.0,
                met=t is not None and t <= budget,
                note=f"reference at that time: {'-' if at is None else f'{at:.2%}'}; fast-80 best "
                     f"{max((a for _, a in f80.points), default=0):.2%}")


def table(curves: list[tuple[int, Curve]], budget: float) -> None:
    print(f"\n{'side':<22}" + "".join(f"{f'to {a:.0%} (wall/cpu)':>27}" for a in THRESHOLDS)
          + f"{f'acc at {budget:.0f} s':>14}{'last acc':>10}")
    for rep, c in curves:
        cells = "".join(f"{f'{_fmt(c.time_to(a))} / {_fmt(c.cpu_to(a))}':>27}" for a in THRESHOLDS)
        at = c.acc_at(budget)
        last = c.points[-1][1] if c.points else 0.0
        print(f"{f'{c.name} #{rep}':<22}{cells}{'-' if at is None else f'{at:.2%}':>14}{last:>10.2%}   ({c.note})")


def measure(args: argparse.Namespace, tmp: str) -> tuple[list[tuple[Curve, Curve]], Curve | None]:
    pairs: list[tuple[Curve, Curve]] = []
    f80 = None
    for rep in range(1, args.repeats + 1):
        print(f"\n--- repeat {rep} of {args.repeats}", flush=True)
        # A seed per repeat: a 2-epoch recipe's accuracy moves by about a point with it, and a
        # ratio that holds for one seed only would be luck.
        fast = run_fast(fast_config(FAST, args.quick, tmp, args.epochs, seed=rep - 1), args.fast_budget)
        first = rep == 1
        ref = run_reference(reference_config(args.quick, tmp), args.ref_budget, args.ref_eval_every,
                            stop_at=1.0 if first else THRESHOLDS[0])
        pairs.append((ref, fast))
        if first and args.fast_80:
            f80 = run_fast(fast_config(FAST_80, args.quick, tmp), args.fast_budget)
    return pairs, f80


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2, help="fast-vs-reference pairs (the ratio is their median)")
    ap.add_argument("--ref-budget", type=float, default=300.0, help="seconds the reference trains in the first repeat")
    ap.add_argument("--fast-budget", type=float, default=900.0, help="a guard: a fast run is stopped after this")
    ap.add_argument("--ref-eval-every", type=float, default=15.0, help="seconds of reference training between evaluations")
    ap.add_argument("--budget", type=float, default=300.0, help="fast-80's budget to 80%%, and where accuracies are compared")
    ap.add_argument("--epochs", type=int, default=0, help="the fast preset's epochs (0: the preset's own)")
    ap.add_argument("--no-fast-80", dest="fast_80", action="store_false", help="skip the fast-80 side")
    ap.add_argument("--json", metavar="PATH", help="also write the target rows here as a JSON list")
    ap.add_argument("--plot", metavar="PNG", help="draw every side's accuracy against wall seconds here")
    ap.add_argument("--quick", action="store_true", help="synthetic data, tiny budgets: a smoke test (~1 min)")
    args = ap.parse_args()
    args.fast_80 = args.fast_80 and FAST_80 in PRESETS
    if args.quick:
        args.ref_budget, args.ref_eval_every, args.budget, args.fast_budget, args.repeats = 10.0, 3.0, 10.0, 90.0, 1
    elif not DATA.is_file():
        print(f"skipped: {DATA} is absent (the JPEG CIFAR-10 of ../shared/data/)")
        return
    print(f"# python benchmarks/time_to_accuracy.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, device cpu; load average at the start "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        load_config_dataset(fast_config(FAST, args.quick, tmp))  # decoded once into the folder cache, outside the clocks
        print(f"data: {'synthetic (quick)' if args.quick else 'CIFAR-10 (JPEG q75)'}; reference: preset {REFERENCE}'s "
              "model and recipe in the DataLoader loop")
        pairs, f80 = measure(args, tmp)
    curves = [(i, c) for i, (r, f) in enumerate(pairs, 1) for c in (f, r)] + ([(1, f80)] if f80 else [])
    table(curves, args.budget)
    rows = [ratio_row(pairs)] + ([fast80_row(pairs[0][0], f80, args.budget)] if f80 else [])
    for row in rows:
        print(f"{'met' if row['met'] else 'NOT met':>8}: {row['target']}: {row['measured']} {row['unit']} ({row['note']})")
    print("load average at the end " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    if args.plot and plot([c for _, c in curves], Path(args.plot),
                          f"CIFAR-10 (JPEG q75) on {os.cpu_count()} CPU cores: test accuracy against wall time"):
        print(f"plot: {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
