"""Training throughput of every model, and the on-device pipeline vs a DataLoader loop.

Usage: python benchmarks/throughput.py [--models cnn mlp ...] [--steps N] [--device auto]

Part 1 runs the real engine (engine.train) for a few steps per model on the
synthetic dataset and prints training img/s (evaluation excluded).
Part 2 trains the same model for the same number of steps two ways, side by
side in one process: the engine's uint8-on-device batches with batched
augmentation, and the usual torchvision loop (per-sample PIL transforms in a
DataLoader). It prints the ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from engine.config import RunConfig  # noqa: E402
from engine.environment import resolve_device  # noqa: E402
from engine.models import MODELS  # noqa: E402
from engine.train import train  # noqa: E402

# A CPU cannot train 224-px models at any speed: measure them smaller there.
CPU_SIZE_CAP = 64


def engine_rate(model: str, steps: int, batch: int, device: str, runs: str) -> tuple[float, int]:
    spec = MODELS[model]
    size = spec.input_size or 32
    if resolve_device(device).type == "cpu":
        size = min(size, CPU_SIZE_CAP)
    cfg = RunConfig(dataset="synthetic", model=model, epochs=1, batch_size=batch, train_limit=steps * batch,
                    test_limit=10, image_size=size, runs_dir=runs, checkpoints=False, device=device)
    result = train(cfg)
    if result.status != "completed":
        raise RuntimeError(result.error)
    return result.summary["img_per_s"], size


def dataloader_rate(model: str, steps: int, batch: int, device: str) -> float:
    """The usual loop: numpy images -> PIL -> per-sample transforms -> DataLoader -> device."""
    import numpy as np
    import torchvision.transforms as T
    from PIL import Image

    from engine.synthetic import make_synthetic

    x, y = make_synthetic(steps * batch, seed=0)
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])

    class DS(torch.utils.data.Dataset):
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            return tf(Image.fromarray(x[i])), int(y[i])

    dev = resolve_device(device)
    loader = torch.utils.data.DataLoader(DS(), batch_size=batch, shuffle=True, num_workers=2,
                                         drop_last=True, persistent_workers=False)
    torch.manual_seed(0)
    net = MODELS[model].build(10, 3, 32).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    net.train()
    t0 = time.perf_counter()
    seen = 0
    for xb, yb in loader:
        xb, yb = xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)
        loss = crit(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(yb)
    loss.item()
    return seen / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=sorted(MODELS))
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compare-model", default="cnn")
    args = ap.parse_args()
    dev = resolve_device(args.device)
    print(f"torch {torch.__version__}, device {dev}, threads {torch.get_num_threads()}, "
          f"batch {args.batch_size}, {args.steps} steps per model")
    with tempfile.TemporaryDirectory() as runs:
        print(f"\n{'model':<18}{'input':>7}{'train img/s':>14}")
        for name in args.models:
            try:
                rate, size = engine_rate(name, args.steps, args.batch_size, args.device, runs)
                print(f"{name:<18}{size:>5}px{rate:>14.1f}")
            except Exception as exc:  # one broken model must not hide the others' figures
                print(f"{name:<18}{'':>7}  error: {exc}")
        m = args.compare_model
        steps = max(args.steps, 20)
        ours, _ = engine_rate(m, steps, args.batch_size, args.device, runs)
        theirs = dataloader_rate(m, steps, args.batch_size, args.device)
    print(f"\n{m}, {steps} steps of {args.batch_size}: on-device pipeline {ours:.1f} img/s, "
          f"DataLoader + PIL transforms {theirs:.1f} img/s, ratio {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
