"""What the drill-down costs: storing test predictions during training, and opening a confusion cell.

Usage: python benchmarks/inspect_cost.py [--repeats 3] [--train-limit 5000] [--epochs 2]

Part 1 trains ``cnn`` on the CPU with and without ``--predictions`` (interleaved
repeats, same seed and data) and compares the median epoch time. The data is the
real CIFAR-10 (JPEG q75) from ../shared/data when present, else the synthetic set;
the full 10,000-image test set is evaluated every epoch either way, so the cost of
the top-5 softmax and the 150 KB write is what differs. A subset of the training
images keeps each epoch short: the cost is then a larger share than in a full
45,000-image epoch, so the ratio printed is an upper bound.

Part 2 opens the saved run in the app (Pilot, 160x48), moves to the confusion
matrix and presses enter on the cursor's cell: the time from the key to the grid
filled with that cell's images, the first time (test images read from disk) and
again for another cell (cached), median of several opens.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

JPEG_CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def base_config(runs: str, train_limit: int, epochs: int):
    from engine.config import RunConfig

    data = dict(dataset="folder", data_dir=str(JPEG_CIFAR)) if JPEG_CIFAR.exists() else dict(dataset="synthetic")
    return RunConfig(model="cnn", epochs=epochs, train_limit=train_limit, val_split=0, batch_size=128,
                     runs_dir=runs, device="cpu", checkpoints=False, seed=0, **data)


def epoch_times(config) -> list[float]:
    from engine.train import train

    result = train(config)
    if result.status != "completed":
        raise SystemExit(f"run failed: {result.error}")
    lines = (Path(result.run_dir) / "metrics.jsonl").read_text().splitlines()
    import json

    return [json.loads(line)["epoch_time_s"] for line in lines]


def part1(args: argparse.Namespace, runs: str) -> str:
    base = base_config(runs, args.train_limit, args.epochs)
    times: dict[bool, list[float]] = {True: [], False: []}
    for r in range(args.repeats):
        for on in ((True, False) if r % 2 == 0 else (False, True)):
            t = epoch_times(base.replace(predictions=on))
            times[on].extend(t[1:] or t)  # epoch 1 also pays the first-touch costs: keep the steady ones
            print(f"  repeat {r + 1} predictions={'on ' if on else 'off'} epoch times {t}", flush=True)
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"data: {base.dataset} ({'CIFAR-10 (JPEG q75)' if base.dataset == 'folder' else 'synthetic'}), "
          f"{args.train_limit} training images, full test set, cnn, CPU")
    print(f"median epoch time: predictions on {on:.2f} s, off {off:.2f} s; on/off = {on / off:.4f} "
          f"(cost {100 * (on / off - 1):+.2f}%)")
    return base.dataset


async def open_cells(run_dir: str, runs: str, opens: int) -> tuple[float, list[float]]:
    from tui.app import CifarApp
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.images import ImagesScreen
    from tui.widgets.confusion import ConfusionMatrix
    from tui.widgets.image_grid import ImageGrid

    app = CifarApp(runs_dir=runs, start_screen=DashboardScreen.for_saved_run(run_dir))
    times: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            await pilot.pause(0.1)
            if app.screen.query_one(ConfusionMatrix).matrix:
                break
        for i in range(opens + 1):
            await pilot.press("4")
            matrix = app.screen.query_one(ConfusionMatrix)
            if i:  # another cell each time after the first: the cached images, a new selection
                await pilot.press("right")
            t0 = time.perf_counter()
            await pilot.press("enter")
            while not (isinstance(app.screen, ImagesScreen) and app.screen.query_one(ImageGrid).items):
                await pilot.pause(0.005)
            await pilot.pause()  # the grid's first frame
            times.append(time.perf_counter() - t0)
            assert matrix is not None
            await pilot.press("escape")
            await pilot.pause()
    return times[0], times[1:]


def part2(args: argparse.Namespace, runs: str) -> None:
    from engine.train import train

    config = base_config(runs, args.train_limit, 1).replace(checkpoints=True, name="drill")
    result = train(config)
    cold, warm = asyncio.run(open_cells(result.run_dir, runs, args.opens))
    print(f"open a confusion cell ({result.summary['n_test']} test images): first {1000 * cold:.0f} ms "
          f"(reads the test images), then median {1000 * statistics.median(warm):.0f} ms "
          f"(max {1000 * max(warm):.0f} ms over {len(warm)} opens)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--opens", type=int, default=5)
    parser.add_argument("--skip-train-cost", action="store_true")
    args = parser.parse_args()
    import platform

    import torch

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as runs:
        if not args.skip_train_cost:
            part1(args, runs)
        part2(args, runs)


if __name__ == "__main__":
    main()
