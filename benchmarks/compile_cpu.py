"""``--compile`` on the CPU: eager against torch.compile (inductor), for the ``cnn`` model and the ``fast`` preset.

Usage: python benchmarks/compile_cpu.py [--epochs 2] [--cnn-train 10000] [--json PATH] [--quick]

Each side is the engine's own loop (``engine.training.loop.train``) on CIFAR-10 (JPEG q75) from
../shared/data (synthetic images with --quick or without it), one after the other in one process:

- eager: the settings as they are;
- compiled, cold: ``compile=True`` with an empty inductor cache (TORCHINDUCTOR_CACHE_DIR points at a new
  folder): what the first run on a machine pays;
- compiled, warm: the same again, the cache now filled: what every later run pays.

Reported per side: epoch 1's and the last epoch's training seconds (evaluations apart), the last epoch's
img/s, and the compile cost: how much longer the run took than eager's beyond what its steady epochs
explain. "Pays" says whether a run of the preset's own length (``cnn``: 10 epochs, RunConfig's default)
saves more in its steady epochs than it spends compiling, on a machine's first run (cold) and on later
ones (warm); a preset uses --compile only where the first run pays too.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks import DATA  # noqa: E402
from benchmarks.trained import train_to_end  # noqa: E402
from engine.config import RunConfig  # noqa: E402
from engine.presets import PRESETS, preset_run_config  # noqa: E402

SIDES = ("eager", "compiled, cold", "compiled, warm")


def configs(args: argparse.Namespace, runs: str) -> dict[str, RunConfig]:
    data: dict[str, Any] = dict(dataset="synthetic", train_limit=512, test_limit=256) if args.quick else \
        dict(dataset="folder", data_dir=str(DATA))
    common = dict(data, runs_dir=runs, device="cpu", seed=0, checkpoints=False, predictions=False,
                  tensorboard=False, epochs=args.epochs)
    cnn_limit = dict(train_limit=args.cnn_train, test_limit=2000) if not args.quick else {}
    return {
        "cnn": RunConfig(**{**common, **cnn_limit}, model="cnn", batch_size=128, lr=0.05, val_split=0),
        "fast": preset_run_config("fast", **{**common, "compile": False}),
    }


def run(config: RunConfig) -> dict[str, float]:
    run = train_to_end(config)
    return dict(wall=run.wall_s, first=run.records[0]["train_time_s"], last=run.last["train_time_s"],
                rate=run.last["img_per_s"], epochs=len(run.records))


def measure(config: RunConfig, cache_root: str) -> dict[str, dict[str, float]]:
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(dir=cache_root)  # cold: nothing compiled yet
    out = {"eager": run(config)}
    compiled = dataclasses.replace(config, compile=True)
    torch._dynamo.reset()
    out["compiled, cold"] = run(compiled)
    torch._dynamo.reset()  # in-process caches gone; the inductor cache on disk stays: a later run's start
    out["compiled, warm"] = run(compiled)
    return out


def report(name: str, sides: dict[str, dict[str, float]], preset_epochs: int) -> dict[str, Any]:
    eager = sides["eager"]
    print(f"\n{name}: {eager['epochs']:.0f} epochs each")
    print(f"  {'side':<16}{'wall s':>8}{'epoch 1 s':>11}{'last epoch s':>14}{'img/s':>8}{'compile s':>11}")
    for side in SIDES:
        s = sides[side]
        extra = s["wall"] - eager["wall"] - (s["last"] - eager["last"]) * (s["epochs"] - 1)
        s["compile_s"] = max(0.0, extra)
        print(f"  {side:<16}{s['wall']:8.1f}{s['first']:11.1f}{s['last']:14.1f}{s['rate']:8.0f}"
              f"{s['compile_s'] if side != 'eager' else 0:11.1f}")
    warm, cold = sides["compiled, warm"], sides["compiled, cold"]
    gain = (eager["last"] - warm["last"]) * preset_epochs  # the steady epochs' saving over a run of the preset
    pays_cold, pays_warm = gain > cold["compile_s"], gain > warm["compile_s"]
    print(f"  steady speed-up {eager['last'] / warm['last']:.2f}x: over {preset_epochs} epochs {gain:+.1f} s against "
          f"a compile of {cold['compile_s']:.1f} s on a machine's first run (pays: {'yes' if pays_cold else 'no'}) "
          f"and {warm['compile_s']:.1f} s with the cache filled (pays: {'yes' if pays_warm else 'no'})")
    return dict(benchmark="compile_cpu", target=f"--compile pays for itself within a {name} run of {preset_epochs} "
                f"epochs, first run included", measured=round(eager["last"] / warm["last"], 3), unit="x steady",
                higher_is_better=True, goal=1.0, met=pays_cold,
                note=f"compile {cold['compile_s']:.1f} s cold, {warm['compile_s']:.1f} s warm; saves {gain:+.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2, help="epochs of every side (the steady rate is the last's)")
    ap.add_argument("--cnn-train", type=int, default=10000, help="training images of the cnn sides")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--quick", action="store_true", help="synthetic data, a few hundred images: a smoke test")
    args = ap.parse_args()
    if not args.quick and not DATA.is_file():
        raise SystemExit(f"compile_cpu: {DATA} not found (the JPEG CIFAR-10); --quick runs on synthetic images")
    print(f"# python benchmarks/compile_cpu.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"{platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads; load average at the start " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    rows = []
    run_length = {"cnn": RunConfig().epochs, "fast": PRESETS["fast"].overrides["epochs"]}  # a run of its own
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in configs(args, tmp).items():
            rows.append(report(name, measure(config, tmp), run_length[name]))
    print("load average at the end " + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
