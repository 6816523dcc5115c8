"""What one chart redraw costs: CPU ms for MetricChart.update_from and the frame it causes, per chart and size.

The dashboard redraws the loss chart every STEP_CHART_S while steps arrive and both charts at each epoch's
end (tui/screens/dashboard_redraw.py), so this is the UI's main recurring cost next to the header. A run of
EPOCHS epochs with STEPS_PER_EPOCH steps each is drawn ROUNDS times in a headless app (App.run_test); the
same number of frames with nothing to redraw is subtracted. CPU time of this process (the app renders in it).

    python benchmarks/chart_redraw.py [--quick] [--rounds N]
"""
from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.app import CifarApp  # noqa: E402
from tui.screens.dashboard import DashboardScreen  # noqa: E402
from tui.state.run_state import RunState  # noqa: E402
from tui.widgets.charts import MetricChart  # noqa: E402

EPOCHS, STEPS_PER_EPOCH = 30, 390  # CIFAR-10 at batch 128: 390 steps an epoch
SIZES = ((80, 24), (160, 48))
FRAME_S = 0.03  # each round waits this long for its frame


def run_state() -> RunState:
    """A finished run's curves: EPOCHS epochs of train/test loss and accuracy and every step's loss."""
    state = RunState()
    for e in range(1, EPOCHS + 1):
        decay = math.exp(-e / 8)
        state.apply_record({"epoch": e, "train_loss": 0.3 + 2 * decay, "test_loss": 0.4 + 2 * decay,
                            "train_acc": 0.9 - 0.5 * decay, "test_acc": 0.85 - 0.5 * decay}, epochs=EPOCHS)
    state.add_step_points([{"epoch": 1 + i // STEPS_PER_EPOCH, "step": 1 + i % STEPS_PER_EPOCH,
                            "steps_per_epoch": STEPS_PER_EPOCH,
                            "loss": 0.3 + 2 * math.exp(-i / STEPS_PER_EPOCH / 8) + 0.1 * math.sin(i)}
                           for i in range(EPOCHS * STEPS_PER_EPOCH)])
    return state


async def _timed(pilot, rounds: int, action) -> float:
    """CPU ms per round of ``action`` and one frame."""
    start = time.process_time()
    for _ in range(rounds):
        action()
        await pilot.pause(FRAME_S)
    return 1000 * (time.process_time() - start) / rounds


async def measure(size: tuple[int, int], chart_id: str, rounds: int, state: RunState) -> float:
    """Median over three batches of rounds: (redraw + frame) − (frame alone), CPU ms."""
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events([]))
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        if size[0] < 140:
            await pilot.press("1" if chart_id == "loss" else "2")  # the narrow layout shows one panel
        chart = app.screen.query_one(f"#{chart_id}", MetricChart)
        chart.update_from(state)
        await pilot.pause(0.2)
        costs = []
        for _ in range(3):
            idle = await _timed(pilot, rounds, lambda: None)
            busy = await _timed(pilot, rounds, lambda: chart.update_from(state))
            costs.append(busy - idle)
        return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run whose numbers mean little")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    state = run_state()
    print(f"{EPOCHS} epochs × {STEPS_PER_EPOCH} steps; CPU ms per redraw (update_from + its frame), "
          f"median of 3 × {rounds} rounds")
    for size in SIZES:
        for chart_id in ("loss", "acc"):
            ms = asyncio.run(measure(size, chart_id, rounds, state))
            print(f"{size[0]}x{size[1]}  {chart_id:4}  {ms:6.1f} ms", flush=True)


if __name__ == "__main__":
    main()
