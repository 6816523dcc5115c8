"""What writing TensorBoard event files costs an epoch: the same run with and without, side by side.

Two measurements, both printed as a share of an epoch:
- interleaved rounds of one short run (synthetic data, the `cnn` model) with --tensorboard and
  --no-tensorboard: the median epoch time of each and their ratio (noisy on a shared machine: look at
  the direct figure too);
- the writer's own calls for one epoch (ten step points, the epoch's scalars and per-class accuracy,
  and the flush), timed directly, divided by the median epoch time.

    python benchmarks/tensorboard_cost.py [--rounds 3] [--json rows.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from engine.config import RunConfig
from engine.runs.reader import read_metrics
from engine.runs.tensorboard import TensorBoardLog
from engine.training.loop import train

TARGET = 0.01


def epoch_times(tensorboard: bool, root: Path, epochs: int) -> list[float]:
    config = RunConfig(dataset="synthetic", model="cnn", epochs=epochs, train_limit=2000, test_limit=500,
                       batch_size=64, runs_dir=str(root), tensorboard=tensorboard, checkpoints=False)
    result = train(config)
    return [r["epoch_time_s"] for r in read_metrics(result.run_dir)][1:]  # the first epoch warms up


def writer_cost(root: Path, classes: int = 10) -> float:
    """Seconds the writer spends on one epoch's worth of events."""
    log = TensorBoardLog(root / "direct", 100)
    record = {"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "test_loss": 1.2, "train_acc": 0.5, "val_acc": 0.4,
              "test_acc": 0.45, "test_top5": 0.9, "gap_acc": 0.1, "gap_loss": 0.1, "lr": 0.1, "img_per_s": 500.0,
              "epoch_time_s": 10.0}
    t0 = time.perf_counter()
    for step in range(10, 101, 10):
        log.step(1, step, 1.0, 0.1)
    log.epoch(record, {f"class{i}": 0.5 for i in range(classes)})
    spent = time.perf_counter() - t0
    log.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="one round of 2 epochs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rounds, epochs = (1, 2) if args.quick else (args.rounds, args.epochs)
    with_tb: list[float] = []
    without: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for flag, out in ((True, with_tb), (False, without)) if r % 2 == 0 else ((False, without), (True, with_tb)):
                out.extend(epoch_times(flag, Path(tmp) / f"runs{r}", epochs))
        direct = statistics.median(writer_cost(Path(tmp)) for _ in range(20))
    t_with, t_without = statistics.median(with_tb), statistics.median(without)
    share = direct / t_without
    print(f"epoch time with TensorBoard {t_with:.3f} s, without {t_without:.3f} s: ratio {t_with / t_without:.3f} "
          f"({rounds} interleaved rounds, {len(with_tb)} epochs each side)")
    print(f"the writer's own calls for one epoch: {1000 * direct:.2f} ms = {100 * share:.3f}% of an epoch "
          f"(target < {100 * TARGET:.0f}%)")
    if args.json:
        args.json.write_text(json.dumps([{
            "benchmark": "tensorboard_cost", "target": "TensorBoard writes / epoch time", "measured": round(share, 5),
            "goal": TARGET, "unit": "ratio", "met": share < TARGET}], indent=1) + "\n")


if __name__ == "__main__":
    main()
