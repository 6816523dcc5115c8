"""What the sweep screen costs with hundreds of trials: the read its worker repeats, and the UI thread's share.

Usage: python benchmarks/sweep_screen_cost.py [--trials 300] [--repeats 10]

Makes a sweep of N completed trials in a journal study (values told as a driver would, each with its run
recorded), each trial's run a copy of one tiny real run. Then times:
  - sweep_table from scratch (the study loaded, every trial's config.json and summary.json read, importance
    fitted): what re-reading everything on each poll would cost;
  - SweepWatch.read the first time and then as the screen's timer repeats it (nothing changed, and after one
    trial's run changed);
  - the sweep screen in the app (Pilot, 160x48): the UI thread placing a read that changed the rows' order
    (the table rebuilt), one row's cells (a running trial's epoch: those cells updated), or nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_sweep(root: Path, n: int) -> Path:
    from engine.config import RunConfig
    from engine.sweeps.definition import SweepDefinition, check_shape
    from engine.sweeps.space import parse_params
    from engine.sweeps.storage import open_sweep
    from engine.training.loop import train

    runs = root / "runs"
    one = Path(train(RunConfig(dataset="synthetic", model="mlp", epochs=2, train_limit=100, test_limit=50,
                               val_split=20, runs_dir=str(root / "one"), checkpoints=False)).run_dir)
    defn = check_shape(SweepDefinition("big", {"dataset": "synthetic"}, parse_params(
        ["lr=log:1e-3:1", "batch-size=32,64,128"]), "random"), n)
    study = open_sweep(runs, "big", defn=defn).study
    for i in range(n):
        trial = study.ask()
        lr = trial.suggest_float("lr", 1e-3, 1, log=True)
        bs = trial.suggest_categorical("batch_size", [32, 64, 128])
        run = runs / f"20260101-000000-mlp-scratch-big-t{i}"
        shutil.copytree(one, run)
        trial.set_user_attr("run_id", run.name)
        trial.set_user_attr("run_dir", str(run))
        study.tell(trial, 0.3 + 0.2 * (lr ** 0.5) - 0.01 * (bs == 128) + 0.0001 * (i % 7))
    return runs


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


async def ui_cost(runs: Path, repeats: int) -> dict[str, float]:
    """Seconds the UI thread takes to place a read (on_sweep_read) that changed: the order of the rows (the
    table rebuilt), one row's cells (a running trial's epoch: those cells updated), nothing (compared, skipped)."""
    import copy

    from tests.helpers.pilot import ScreenApp
    from tests.helpers.waiting import pilot_wait_until
    from tui.screens.sweep import SweepRead, SweepScreen

    app = ScreenApp(lambda: SweepScreen(runs, "big"))
    out: dict[str, float] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot_wait_until(pilot, lambda: getattr(app.screen, "snap", None) is not None, 120)
        screen = app.screen
        base = screen.snap
        reordered = copy.deepcopy(base)
        reordered.table.rows.reverse()
        one_row = copy.deepcopy(base)
        one_row.table.rows[3].epochs_done = 1
        cases = {"rows reordered": (reordered, base), "one row's cells": (one_row, base), "nothing": (base, base)}
        number = 10 ** 6  # after the screen's own reads: a read numbered lower is dropped as late
        for what, pair in cases.items():
            times = []
            for i in range(2 * repeats):  # each read brings the other of the pair: a change every time
                number += 1
                read = SweepRead(copy.deepcopy(pair[i % 2]), number)  # as the worker posts it
                t = time.perf_counter()
                screen.on_sweep_read(read)
                times.append(time.perf_counter() - t)
                await pilot.pause()
            out[what] = statistics.median(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=10)
    a = ap.parse_args()
    from engine.sweeps.storage import open_sweep
    from engine.sweeps.table import sweep_table
    from engine.sweeps.watch import SweepWatch

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        runs = make_sweep(Path(tmp), a.trials)
        print(f"made a sweep of {a.trials} completed trials in {time.perf_counter() - t:.1f} s")

        def scratch():
            opened = open_sweep(runs, "big")
            return sweep_table(opened.study, opened.defn, runs)

        full, table = timed(scratch, max(1, a.repeats // 3))
        print(f"sweep_table from scratch (study loaded, every run read, importance): {1000 * full:.0f} ms "
              f"({len(table.rows)} rows, importance {sorted(table.importances)})")
        watch = SweepWatch(runs, "big")
        first, _ = timed(watch.read, 1)
        again, _ = timed(watch.read, a.repeats)
        print(f"SweepWatch.read: first {1000 * first:.0f} ms, then {1000 * again:.1f} ms a poll (median of "
              f"{a.repeats}; nothing changed)")
        changed = runs / "20260101-000000-mlp-scratch-big-t0" / "summary.json"

        def touched():
            changed.write_text(changed.read_text())
            return watch.read()

        one, _ = timed(touched, a.repeats)
        print(f"SweepWatch.read after one trial's run changed: {1000 * one:.1f} ms")
        for what, seconds in asyncio.run(ui_cost(runs, a.repeats)).items():
            print(f"UI thread, placing a read at 160x48 that changed {what}: {1000 * seconds:.1f} ms (median)")


if __name__ == "__main__":
    main()
