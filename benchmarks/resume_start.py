"""How long a resume takes to start training, beside a fresh start of the same run.

Usage: python benchmarks/resume_start.py [--dataset fashion-mnist] [--model cnn] [--train-limit 10000] [--repeats 3]

Both are timed in one process from the call of engine.training.loop to the first
training step finished (the first StepDone event): data loading and model
building are common to both; a resume adds reading and verifying the
checkpoint (sha256), restoring every state and rewriting metrics.jsonl. The
resumed run was stopped in the middle of its second epoch, so it also restores
that epoch's permutation. Prints each time, the medians and their ratio.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from engine.config import RunConfig  # noqa: E402
from engine.control import Control  # noqa: E402
from engine.events import StepDone  # noqa: E402
from engine.training.resume import prepare_resume  # noqa: E402
from engine.training.loop import train  # noqa: E402


class StopAfterSteps(Control):
    """Stops once n progress events have been seen (the loop checks the flag every step)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def on_event(self, event: object) -> None:
        if isinstance(event, StepDone):
            self.n -= 1
            if self.n <= 0:
                self.stop()


def time_to_first_step(config: RunConfig, resume: str | None = None) -> tuple[float, str]:
    """Seconds from train() to the first StepDone; the run is stopped there."""
    control = StopAfterSteps(1)
    t0 = time.perf_counter()
    first: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepDone) and not first:
            first.append(time.perf_counter() - t0)
        control.on_event(event)

    result = train(config, on_event, control, resume=resume)
    return first[0], result.run_dir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--model", default="cnn")
    p.add_argument("--train-limit", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    runs = tempfile.mkdtemp(prefix="resume-bench-")
    base = RunConfig(dataset=args.dataset, model=args.model, epochs=3, train_limit=args.train_limit, runs_dir=runs)
    # One run stopped mid-way through epoch 2: the checkpoint every resume below starts from.
    spe = -(-args.train_limit // base.batch_size)
    stopper = StopAfterSteps(1)

    def count(event: object) -> None:
        if isinstance(event, StepDone) and event.epoch == 2 and event.step >= spe // 2:
            stopper.stop()

    stopped = train(base, count, stopper)
    fresh, resumed = [], []
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both alike
        fresh.append(time_to_first_step(base)[0])
        config, _ = prepare_resume(stopped.run_dir, {})
        resumed.append(time_to_first_step(config, resume=stopped.run_dir)[0])
    ckpt = Path(stopped.run_dir) / "checkpoints" / "last.pt"
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    print(f"run: {args.model} on {args.dataset}, {args.train_limit} train images; checkpoint "
          f"{ckpt.stat().st_size / 1e6:.1f} MB")
    print("fresh start to first step  : " + ", ".join(f"{t:.2f}s" for t in fresh))
    print("resume start to first step : " + ", ".join(f"{t:.2f}s" for t in resumed))
    mf, mr = statistics.median(fresh), statistics.median(resumed)
    print(f"median fresh {mf:.2f}s, resume {mr:.2f}s, resume/fresh {mr / mf:.2f}x (+{mr - mf:.2f}s)")


if __name__ == "__main__":
    main()
