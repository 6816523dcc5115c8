"""Training images/s and the fraction of the GPU's peak FLOP/s, per model (run it through benchmarks/gpu.sh).

Each model trains through engine.training.loop on synthetic CIFAR-sized data (5,000
32-px images, batches of --batch-size) with --compile, bf16 autocast,
channels_last and fused SGD: the engine's CUDA recipe. The rate is the median
of the epochs after the first two (compile and warm-up). FLOPs per image come
from torch.utils.flop_counter.FlopCounterMode over one forward and backward;
achieved FLOP/s = FLOPs per image x images/s, against the GPU's dense bf16
peak from PEAK_TFLOPS (or $GPU_PEAK_TFLOPS).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from the vendors' data sheets, matched by name.
# (The H100 SXM calls itself "NVIDIA H100 80GB HBM3": plain "H100" means SXM; PCIe and NVL say so.)
PEAK_TFLOPS = {"H200": 989.0, "H100 NVL": 835.0, "H100 PCIe": 756.0, "H100": 989.0,
               "GH200": 989.0, "A100": 312.0, "A10G": 70.0, "A10": 125.0, "L40S": 362.0, "L40": 181.0, "L4": 121.0,
               "RTX 4090": 165.0, "RTX 3090": 71.0, "B200": 2250.0}


def peak_tflops(name: str) -> float | None:
    if os.environ.get("GPU_PEAK_TFLOPS"):
        return float(os.environ["GPU_PEAK_TFLOPS"])
    for key in sorted(PEAK_TFLOPS, key=len, reverse=True):  # "H100 SXM" before "H100"
        if key in name:
            return PEAK_TFLOPS[key]
    return None


def flops_per_image(model: str, batch: int) -> float:
    """Forward + backward FLOPs of one training step, divided by the batch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from engine.models.registry import get_spec

    net = get_spec(model).build(10, 3, 32).cuda().train()
    x = torch.randn(batch, 3, 32, 32, device="cuda")
    with FlopCounterMode(display=False) as counter:
        net(x).sum().backward()
    return counter.get_total_flops() / batch


def images_per_s(model: str, args: argparse.Namespace, runs: str) -> float:
    from engine.config import RunConfig
    from engine.runs import read_metrics
    from engine.training.loop import train

    cfg = RunConfig(dataset="synthetic", model=model, epochs=args.epochs, batch_size=args.batch_size, device="cuda",
                    compile=True, amp=True, channels_last=True, val_split=0, test_limit=1000, checkpoints=False,
                    predictions=False, runs_dir=runs, seed=0)
    result = train(cfg)
    if result.status != "completed":
        raise RuntimeError(f"{model}: {result.status} {result.error}")
    rates = [r["img_per_s"] for r in read_metrics(result.run_dir)]
    return statistics.median(rates[2:] or rates)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["resnet18-cifar", "fast"])
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--json", type=Path, help="write one row per model here")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("gpu.sh: no CUDA GPU is visible to torch (torch.cuda.is_available() is False); run it on a GPU machine",
              file=sys.stderr)
        return 2
    from engine.models.registry import MODELS

    name = torch.cuda.get_device_name()
    peak = peak_tflops(name)
    print(f"# benchmarks/gpu.sh {' '.join(sys.argv[1:])}".rstrip())
    print(f"{name}, torch {torch.__version__}, CUDA {torch.version.cuda}; peak bf16 "
          + (f"{peak:g} TFLOP/s" if peak else "unknown (set GPU_PEAK_TFLOPS)")
          + f"; batch {args.batch_size}, synthetic 32-px data, compile + bf16 + channels_last + fused SGD")
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        for model in args.models:
            if model not in MODELS:
                print(f"{model}: skipped, not in this checkout's model registry")
                continue
            rate, flops = images_per_s(model, args, runs), flops_per_image(model, args.batch_size)
            achieved = rate * flops / 1e12
            frac = achieved / peak if peak else float("nan")
            print(f"{model:<16}{rate:>10.0f} img/s  {flops / 1e9:7.2f} GFLOP/img  {achieved:7.1f} TFLOP/s  "
                  f"{100 * frac:5.1f}% of peak")
            rows.append(dict(benchmark="gpu", target=f"{model} img/s", measured=round(rate, 1), goal=0.0,
                             unit="img/s", higher_is_better=True, met=True,
                             note=f"reported; {name}; {100 * frac:.1f}% of peak bf16" if peak else f"reported; {name}"))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
