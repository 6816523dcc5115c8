"""Training throughput: the engine against the usual DataLoader loop, on the same JPEG images; a step's profile.

Usage: python benchmarks/throughput.py [--models cnn smallcnn] [--train 2560] [--epochs 2] [--repeats 3]
                                       [--no-compile] [--rss] [--quick] [--json PATH]

Three ways to train the same model (same initial weights, batch, SGD), side by
side in one process, interleaved (the order rotates every repeat), medians:

- reference: the usual loop: torchvision.datasets.ImageFolder over the JPEG
  files (PIL decode of every file every epoch, as the studies do), per-sample
  RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize, a
  DataLoader (2 workers, shuffle), a plain step. Timed over its last epoch
  from the arrival of its first batch (the workers' start-up left out).
- engine: engine.training.loop with its defaults (decoded once to uint8; batches
  indexed, cropped and flipped in one batched pass; channels_last, foreach SGD).
- engine --compile: the same with torch.compile (inductor on the CPU).

The engine's rate is its last epoch's training img/s (evaluation excluded), so
--compile's one-off compile in epoch 1 is reported apart. The data: a
stratified subset of CIFAR-10 (JPEG q75) from ../shared/data, extracted to a
temporary folder both sides read; without it (and with --quick), synthetic
images written as JPEG files. --rss: peak RSS of a headless run through the
real CLI. Every Performance target (README) this checks becomes a --json row.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks.throughput_parts import (  # noqa: E402
    DATA, cpu_choices, extract_subset, peak_rss, profile_engine, profile_reference, write_json, write_synthetic_jpegs,
)
from benchmarks.trained import train_to_end  # noqa: E402
from engine.config import RunConfig  # noqa: E402

GOAL = 1.5
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def engine_config(model: str, folder: Path, runs: str, args: argparse.Namespace, compile_: bool) -> RunConfig:
    return RunConfig(dataset="folder", data_dir=str(folder), model=model, epochs=args.epochs,
                     batch_size=args.batch_size, lr=0.05, momentum=0.9, weight_decay=5e-4, val_split=0,
                     runs_dir=runs, checkpoints=False, predictions=False, device="cpu", seed=0, compile=compile_)


def run_engine(config: RunConfig) -> tuple[float, float]:
    """(last epoch's training img/s, the first epoch's extra seconds over the last: compile and warm-up)."""
    records = train_to_end(config).records
    first, last = records[0]["train_time_s"], records[-1]["train_time_s"]
    return records[-1]["img_per_s"], first - last


def run_reference(model: str, folder: Path, args: argparse.Namespace) -> float:
    """The usual loop's last-epoch training img/s (see the module docstring)."""
    import torchvision
    import torchvision.transforms as T

    from engine.models.registry import get_spec

    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    data = torchvision.datasets.ImageFolder(str(folder / "train"), transform=tf)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True, num_workers=2)
    torch.manual_seed(0)
    net = get_spec(model).build(10, 3, 32)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    crit = torch.nn.CrossEntropyLoss()
    net.train()
    rate = 0.0
    for _ in range(args.epochs):
        t0, seen = None, 0
        for xb, yb in loader:
            # The clock starts once the first batch is here: the workers' start-up is paid once an epoch, a
            # share that a short subset would inflate and a full 45,000-image epoch makes negligible.
            t0 = t0 or time.perf_counter()
            loss = crit(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(yb)
        rate = seen / (time.perf_counter() - t0)
    return rate


def measure(args: argparse.Namespace, folder: Path, variants: list[str]) -> dict[tuple[str, str], list[float]]:
    rates: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as runs:
        for rep in range(args.repeats):
            order = variants[rep % len(variants):] + variants[: rep % len(variants)]
            for model in args.models:
                for v in order:
                    if v == "reference":
                        rate, extra = run_reference(model, folder, args), None
                    else:
                        rate, extra = run_engine(engine_config(model, folder, runs, args, v == "engine --compile"))
                    rates.setdefault((model, v), []).append(rate)
                    if extra is not None:
                        rates.setdefault((model, v + " epoch-1 extra s"), []).append(extra)
                    print(f"  repeat {rep + 1} {model:<9}{v:<18}{rate:8.1f} img/s"
                          + (f"   (epoch 1 took {extra:+.1f} s more)" if extra is not None else ""), flush=True)
    return rates


def report(rates: dict[tuple[str, str], list[float]], args: argparse.Namespace, variants: list[str]) -> list[dict]:
    rows = []
    print(f"\n{'model':<10}" + "".join(f"{v:>20}" for v in variants) + f"{'best engine / ref':>20}")
    for model in args.models:
        med = {v: statistics.median(rates[(model, v)]) for v in variants}
        engines = {v: r for v, r in med.items() if v != "reference"}
        best = max(engines, key=engines.get)
        ratio = engines[best] / med["reference"]
        print(f"{model:<10}" + "".join(f"{med[v]:>14.1f} img/s" for v in variants) + f"{ratio:>19.2f}x")
        for v in engines:
            print(f"  {v} / reference: {engines[v] / med['reference']:.2f}x"
                  + (f"; epoch 1 took {statistics.median(rates[(model, v + ' epoch-1 extra s')]):+.1f} s more "
                     "(compile, warm-up)" if (model, v + " epoch-1 extra s") in rates else ""))
        rows.append(dict(benchmark="throughput", target=f"{model} 32 px engine/reference", measured=round(ratio, 3),
                         goal=GOAL, unit="x", higher_is_better=True, met=ratio >= GOAL,
                         note=f"{best}, {args.data_name}, {args.train} images, batch {args.batch_size}, "
                              f"median of {args.repeats}"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["cnn", "smallcnn"])
    ap.add_argument("--train", type=int, default=2560, help="training images (a stratified subset)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--no-compile", action="store_true", help="leave out the engine --compile variant")
    ap.add_argument("--rss", action="store_true", help="also: peak RSS of a headless CIFAR-10 run via the CLI")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one repeat, cnn only: a smoke run")
    ap.add_argument("--json", type=Path, help="write the targets' rows here")
    args = ap.parse_args()
    if args.quick:
        args.models, args.train, args.epochs, args.repeats, args.no_compile = ["cnn"], 256, 1, 1, True
    variants = ["reference", "engine"] + ([] if args.no_compile else ["engine --compile"])
    print(f"# python benchmarks/throughput.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, device cpu; load average at the start " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        use_real = DATA.is_file() and not args.quick
        folder = extract_subset(DATA, Path(tmp), args.train) if use_real else \
            write_synthetic_jpegs(Path(tmp), args.train)
        args.data_name = "CIFAR-10 (JPEG q75)" if use_real else "synthetic JPEGs"
        print(f"data: {args.data_name}, {args.train} training images as JPEG files, batch {args.batch_size}, "
              f"{args.epochs} epochs, {args.repeats} interleaved repeats")
        rows += report(measure(args, folder, variants), args, variants)
        print("\nwhere a step's time goes (engine, torch.profiler and timers, medians per step):")
        for model in args.models:
            profile_engine(engine_config(model, folder, tmp, args, False), steps=5 if args.quick else 20)
            profile_reference(model, folder, args.batch_size, steps=5 if args.quick else 20)
        print("\nthe CPU's choices in engine.device.accel (random inputs, forward + backward + SGD step):")
        for model in args.models:
            cpu_choices(model, args.batch_size, repeats=1 if args.quick else 3, steps=2 if args.quick else 6)
    if args.rss:  # a memory figure, not a timing: it does not need the machine to itself
        rows += peak_rss(quick=args.quick)
    print("\nload average at the end " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    main()
