"""What the drill-down costs: storing test predictions during training, and opening a confusion cell.

Usage: python benchmarks/inspect_cost.py [--repeats 3] [--train-limit 5000] [--epochs 2] [--quick] [--json PATH]

Part 1 trains ``cnn`` on the CPU with and without ``--predictions`` (interleaved
repeats, same seed and data) and compares the median epoch time. The data is the
real CIFAR-10 (JPEG q75) from ../shared/data when present, else the synthetic set;
the full 10,000-image test set is evaluated every epoch either way, so the cost of
the top-5 softmax and the 150 KB write is what differs. A subset of the training
images keeps each epoch short: the cost is then a larger share than in a full
45,000-image epoch, so the ratio printed is an upper bound.

Part 2 opens the saved run in the app (Pilot, 80x24 and 160x48), moves to the
confusion matrix and presses enter on a cell: the time from the key to the frame
with that cell's images, for several cells. The dashboard of a saved run reads the
run's test images in the background when it opens (timed on its own here), so the
first drill-down does not wait for the dataset.
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



def base_config(runs: str, train_limit: int, epochs: int, test_limit: int | None = None):
    from engine.config import RunConfig

    from benchmarks import DATA

    data = dict(dataset="folder", data_dir=str(DATA)) if DATA.exists() else dict(dataset="synthetic")
    return RunConfig(model="cnn", epochs=epochs, train_limit=train_limit, val_split=0, batch_size=128,
                     runs_dir=runs, device="cpu", checkpoints=False, seed=0, test_limit=test_limit, **data)


def write_cost(n: int, runs: str, repeats: int = 20) -> float:
    """Median seconds to store n images' predictions (encode + temp file + fsync + rename + link)."""
    import numpy as np

    from engine.runs import predictions

    rng = np.random.default_rng(0)
    preds = predictions.Predictions(1, rng.integers(0, 10, n), rng.integers(0, 10, (n, 5)),
                                    rng.random((n, 5), dtype=np.float32))
    folder = Path(runs) / "write-cost"
    folder.mkdir(parents=True, exist_ok=True)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predictions.save(folder, preds, is_best=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def part1(args: argparse.Namespace, runs: str) -> float:
    """Epoch time with and without the predictions, interleaved; the evaluation part and the write alone."""
    from benchmarks.trained import train_to_end

    base = base_config(runs, args.train_limit, args.epochs, args.test_limit)
    epoch, evaluation = {True: [], False: []}, {True: [], False: []}
    rates: list[float] = []
    for r in range(args.repeats):
        for on in ((True, False) if r % 2 == 0 else (False, True)):
            records = train_to_end(base.replace(predictions=on)).records
            steady = records[1:] or records  # epoch 1 also pays first-touch costs
            # wall_time_s steps include everything an epoch costs, the store's writes too
            walls = [b["wall_time_s"] - a["wall_time_s"] for a, b in zip(records, records[1:])] or \
                [records[0]["wall_time_s"]]
            epoch[on].extend(walls)
            evaluation[on].extend(rec["epoch_time_s"] - rec["train_time_s"] for rec in steady)
            rates.extend(rec["img_per_s"] for rec in steady)
            print(f"  repeat {r + 1} predictions={'on ' if on else 'off'} epoch wall "
                  f"{[round(w, 2) for w in walls]} s, evaluation {[round(e, 2) for e in evaluation[on][-len(steady):]]} s",
                  flush=True)
    name = "CIFAR-10 (JPEG q75)" if base.dataset == "folder" else "synthetic"
    n_test = args.test_limit or (10000 if base.dataset == "folder" else 1000)
    on, off = statistics.median(epoch[True]), statistics.median(epoch[False])
    e_on, e_off = statistics.median(evaluation[True]), statistics.median(evaluation[False])
    write = write_cost(n_test, runs)
    print(f"data: {name}, {args.train_limit} training images, {n_test} test images, cnn, CPU, "
          f"{args.repeats} interleaved repeats")
    print(f"median epoch (wall): predictions on {on:.2f} s, off {off:.2f} s, on/off {on / off:.4f}")
    print(f"median evaluation (val+test): on {e_on:.3f} s, off {e_off:.3f} s, difference {e_on - e_off:+.3f} s")
    print(f"storing {n_test} predictions (encode, fsync, rename, link): median {1000 * write:.1f} ms")
    full_epoch = 45000 / statistics.median(rates) + e_off  # a full CIFAR-10 epoch at the training rate measured here
    direct = max(0.0, e_on - e_off) + write
    print(f"direct cost per epoch (evaluation difference + write) {1000 * direct:.0f} ms: "
          f"{100 * direct / off:.2f}% of this {args.train_limit}-image epoch, "
          f"{100 * direct / full_epoch:.2f}% of a full 45,000-image cnn epoch (~{full_epoch:.0f} s)")
    return 100 * direct / full_epoch


async def open_cells(run_dir: str, runs: str, size: tuple[int, int], opens: int) -> list[float]:
    """Seconds from enter on a matrix cell to the frame that shows the cell's images (the dashboard idle first).

    The end is marked by a callback the app runs after the refresh that follows the images' arrival
    (``call_after_refresh``): the moment a terminal would receive that frame.
    """
    from tui.app import CifarApp
    from tui.screens import images
    from tui.screens.dashboard import DashboardScreen
    from tui.widgets.confusion import ConfusionMatrix
    from tui.widgets.image_grid import ImageGrid

    painted: list[float] = []
    show = images.ImagesScreen._show

    def timed_show(screen, *args, **kwargs):  # instrumentation: note when the frame after the images is done
        show(screen, *args, **kwargs)
        screen.call_after_refresh(lambda: painted.append(time.perf_counter()))

    images.ImagesScreen._show = timed_show  # type: ignore[method-assign]
    app = CifarApp(runs_dir=runs, start_screen=DashboardScreen.for_saved_run(run_dir))
    times: list[float] = []
    async with app.run_test(size=size) as pilot:
        while not app.screen.query_one(ConfusionMatrix).matrix:
            await pilot.pause(0.1)
        await pilot.pause(3)  # the run's images are read in the background meanwhile (the preload)
        for i in range(opens):
            await pilot.press("4", *(["down"] * (i % 3)), *(["right"] * (i // 3)))
            await pilot.pause(1)  # let the dashboard settle: time the open alone
            painted.clear()
            t0 = time.perf_counter()
            await pilot.press("enter")
            while not painted:
                await pilot.pause(0.001)
            times.append(painted[0] - t0)
            count = len(app.screen.query_one(ImageGrid).items)
            print(f"  {size[0]}x{size[1]} open {i + 1}: {1000 * times[-1]:.0f} ms ({count} images)", flush=True)
            await pilot.press("escape")
            await pilot.pause(0.5)
    images.ImagesScreen._show = show  # type: ignore[method-assign]
    return times


def part2(args: argparse.Namespace, runs: str) -> dict[str, float]:
    from engine.training.loop import train
    from tui.screens.inspect_data import run_images

    config = base_config(runs, args.train_limit, 2, args.test_limit).replace(checkpoints=True, name="drill")
    result = train(config)
    t0 = time.perf_counter()
    run_images(result.run_dir)
    print(f"reading the run's test images and predictions (the dashboard's preload): "
          f"{time.perf_counter() - t0:.2f} s")
    medians = {}
    for size in ((80, 24), (160, 48)):
        times = asyncio.run(open_cells(result.run_dir, runs, size, args.opens))
        medians[f"{size[0]}x{size[1]}"] = statistics.median(times)
        print(f"open a confusion cell at {size[0]}x{size[1]} ({result.summary['n_test']} test images): median "
              f"{1000 * statistics.median(times):.0f} ms, max {1000 * max(times):.0f} ms over {len(times)} cells")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--opens", type=int, default=6)
    parser.add_argument("--skip-train-cost", action="store_true")
    parser.add_argument("--test-limit", type=int, help="fewer test images (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke run")
    parser.add_argument("--json", type=Path, help="write the targets' rows here")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.train_limit, args.epochs, args.opens, args.test_limit = 1, 256, 1, 1, 500
    import platform

    import torch

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        if not args.skip_train_cost:
            share = part1(args, runs)
            rows.append(dict(benchmark="inspect_cost", target="predictions cost, % of a cnn epoch", measured=round(share, 3),
                             goal=2.0, unit="%", higher_is_better=False, met=share < 2.0,
                             note=f"{args.train_limit} train images, {args.repeats} repeats"))
        for size, median in part2(args, runs).items():
            rows.append(dict(benchmark="inspect_cost", target=f"open a confusion cell at {size}",
                             measured=round(median, 3), goal=0.2, unit="s", higher_is_better=False, met=median < 0.2,
                             note=f"median of {args.opens} cells"))
    if args.json:
        import json

        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
