"""progress.json (engine.runs.progress): written by a real training loop about once a second, removed at
the end, never trusted blindly by a reader; and the headless progress lines built on the same events."""
from __future__ import annotations

import io
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest

from engine.config import RunConfig
from engine.control import Control
from engine.events import PhaseProgress, RunStarted, StepDone
from engine.runs.progress import PROGRESS_FILE, PROGRESS_INTERVAL_S, ProgressWriter, read_progress
from engine.training.loop import train
from tests.helpers.cli_process import cli
from tests.helpers.stopping import StopAt


def _event(epoch: int = 1, step: int = 1, spe: int = 100, loss: float = 2.0, elapsed: float = 1.0) -> StepDone:
    return StepDone(epoch, step, spe, loss, 0.1, 500.0, elapsed, 42.0)


class Clock:
    """A hand-driven clock for the time throttle."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.slow
def test_a_training_run_writes_progress_about_once_a_second_and_removes_it(runs_dir: Path) -> None:
    """Read progress.json from inside the loop's own callback: what the file said, and when it changed."""
    seen: list[dict] = []
    steps: list[StepDone] = []
    run_dir: list[str] = []

    def on_event(event: object) -> None:
        if isinstance(event, RunStarted):
            run_dir.append(event.run_dir)
        elif isinstance(event, StepDone):
            steps.append(event)
            record = read_progress(run_dir[0])
            if record is not None and (not seen or record != seen[-1]):
                seen.append(record)

    t0 = time.monotonic()
    # A few seconds of training whatever the machine (step events come at ~10 Hz): 3 x 157 small steps.
    result = train(RunConfig(dataset="synthetic", model="mlp", epochs=3, batch_size=32, train_limit=5000,
                             test_limit=100, runs_dir=str(runs_dir), checkpoints=False), on_event)
    took = time.monotonic() - t0
    assert result.status == "completed", result.error
    assert len(steps) >= 10 and seen, "the loop sent steps but progress.json never appeared"
    assert len(seen) <= took / PROGRESS_INTERVAL_S + 2, (len(seen), took)  # time-throttled, not per step
    times = [r["time"] for r in seen]
    assert all(b - a >= PROGRESS_INTERVAL_S - 0.05 for a, b in zip(times, times[1:])), times
    by_step = {(e.epoch, e.step): e for e in steps}
    for record in seen:  # each write is one of the steps the loop reported, field for field
        e = by_step[(record["epoch"], record["step"])]
        assert record["loss"] == e.loss and record["steps_per_epoch"] == e.steps_per_epoch
        assert record["elapsed_s"] == pytest.approx(e.elapsed_s, abs=1e-3) and record["lr"] == e.lr
        assert record["gpu_mem"] is None and record["gpu_peak"] is None  # the CPU has no CUDA memory
    assert all(e.gpu_mem is None and e.gpu_peak is None for e in steps)
    assert not (Path(result.run_dir) / PROGRESS_FILE).exists()  # the run ended: summary.json says it all
    assert sorted(os.listdir(result.run_dir)) == ["checkpoints", "config.json", "metrics.jsonl", "predictions",
                                                  "steps.jsonl", "summary.json", "tensorboard"]


def test_a_stopped_run_removes_its_progress_too(runs_dir: Path) -> None:
    control = Control()
    steps: list[StepDone] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepDone):
            steps.append(event)
            if len(steps) == 3:
                control.stop()

    result = train(RunConfig(dataset="synthetic", model="mlp", epochs=2, batch_size=64, train_limit=2000,
                             test_limit=100, runs_dir=str(runs_dir)), on_event, control)
    assert result.status == "interrupted"
    assert not (Path(result.run_dir) / PROGRESS_FILE).exists()


def test_the_first_evaluations_run_eta_counts_the_epochs_after_it(runs_dir: Path) -> None:
    """No epoch is timed whole yet while the first one is evaluated: the epochs to come are counted at its
    step rate, not left out (a 3-epoch run would say 'run ETA 0s' while two epochs remain)."""
    evals: list[PhaseProgress] = []
    config = RunConfig(dataset="synthetic", model="mlp", epochs=3, batch_size=32, train_limit=192,
                       val_split=64, test_limit=64, runs_dir=str(runs_dir), checkpoints=False)
    # 6 steps of at least 0.1 s, and a stop at epoch 1's end, after its evaluation.
    result = train(config, lambda e: evals.append(e) if isinstance(e, PhaseProgress)
                   and e.phase == "evaluating val" else None, StopAt(6 + 1, drag_s=0.1))
    assert result.status == "interrupted" and evals
    assert evals[-1].run_eta_s is not None and evals[-1].run_eta_s >= 2 * 6 * 0.1


def test_a_pause_is_not_counted_in_the_epochs_to_come(runs_dir: Path) -> None:
    """Paused for 2 s inside epoch 1: the ETA at epoch 2's start must not carry those seconds into epochs 2 and 3."""
    control, steps = Control(), []

    def on_event(event: object) -> None:
        if isinstance(event, StepDone):
            steps.append(event)
            if len(steps) == 1:
                control.pause()
                threading.Timer(2.0, control.resume).start()

    config = RunConfig(dataset="synthetic", model="mlp", epochs=3, batch_size=32, train_limit=192,
                       val_split=64, test_limit=64, runs_dir=str(runs_dir), checkpoints=False)
    assert train(config, on_event, control).status == "completed"
    first_of_2 = next(e for e in steps if e.epoch == 2)
    assert first_of_2.eta_s < 2.0, first_of_2  # 6 steps of a small MLP, twice, and two small evaluations


def test_the_writer_is_throttled_by_time_not_steps(tmp_path: Path) -> None:
    clock = Clock()
    writer = ProgressWriter(tmp_path, interval=1.0, clock=clock)
    for step in range(1, 101):  # 100 step events 1/8 s apart (exact in binary): 12.5 s
        assert writer.tick(_event(step=step, elapsed=clock.now)) is None
        clock.now += 0.125
    assert writer.writes == 13  # steps 1, 9, 17, ..., 97: one a second
    record = json.loads((tmp_path / PROGRESS_FILE).read_text())
    assert record["step"] == 97 and record["epoch"] == 1 and record["eta_s"] == 42.0
    assert abs(record["time"] - time.time()) < 60
    assert os.listdir(tmp_path) == [PROGRESS_FILE]  # no temp files left
    writer.remove()
    assert os.listdir(tmp_path) == []


def test_an_idle_tick_costs_nothing_measurable(tmp_path: Path) -> None:
    writer = ProgressWriter(tmp_path)
    event = _event()
    writer.tick(event)  # the first tick writes
    t0 = time.perf_counter()
    for _ in range(10_000):
        writer.tick(event)
    per_tick = (time.perf_counter() - t0) / 10_000
    assert writer.writes == 1 and per_tick < 20e-6, per_tick  # a clock read and a comparison


def test_a_failed_write_is_said_once_and_never_raises(tmp_path: Path) -> None:
    clock = Clock()
    writer = ProgressWriter(tmp_path / "gone", interval=1.0, clock=clock)
    first = writer.tick(_event())
    assert first is not None and "progress.json" in first
    clock.now += 5
    assert writer.tick(_event()) is None and writer.failed and writer.writes == 0


@pytest.mark.parametrize("content", [
    b"", b"{", b"[]", b"null", b"\xff\xfe garbage", b"[" * 100_000,
    b'{"epoch": 1, "step": 5}',
    b'{"epoch": "1", "step": 5, "steps_per_epoch": 10, "loss": 1, "lr": 1, "img_per_s": 1, "elapsed_s": 1, "time": 1}',
    b'{"epoch": 1, "step": 11, "steps_per_epoch": 10, "loss": 1, "lr": 1, "img_per_s": 1, "elapsed_s": 1, "time": 1}',
    b'{"epoch": 0, "step": 1, "steps_per_epoch": 10, "loss": 1, "lr": 1, "img_per_s": 1, "elapsed_s": 1, "time": 1}',
    b'{"epoch": 1, "step": 1, "steps_per_epoch": 10, "loss": NaN, "lr": 1, "img_per_s": 1, "elapsed_s": 1, "time": 1}',
    b'{"epoch": 1, "step": 1, "steps_per_epoch": 10, "loss": 1, "lr": 1, "img_per_s": 1, "elapsed_s": 1, "time": 1,'
    b' "eta_s": "soon"}',
    b'{"epoch": 1, "step": 1, "steps_per_epoch": 10, "loss": 1, "lr": 1, "img_per_s": 1, "elapsed_s": 1, "time": 1,'
    b' "gpu_mem": 1.5}',
    b'{"epoch": true, "step": 1, "steps_per_epoch": 10, "loss": 1, "lr": 1, "img_per_s": 1, "elapsed_s": 1, "time": 1}',
])
def test_garbage_progress_reads_as_none(tmp_path: Path, content: bytes) -> None:
    (tmp_path / PROGRESS_FILE).write_bytes(content)
    assert read_progress(tmp_path) is None


def test_progress_that_is_a_directory_or_missing_reads_as_none(tmp_path: Path) -> None:
    assert read_progress(tmp_path) is None
    (tmp_path / PROGRESS_FILE).mkdir()
    assert read_progress(tmp_path) is None


# ----------------------------------------------------------------------------- headless progress lines


def _started(steps: int = 100, epochs: int = 10) -> RunStarted:
    return RunStarted("r1", "/tmp/r1", {"model": "cnn", "strategy": "scratch", "dataset": "synthetic",
                                        "epochs": epochs}, "cpu", ["a", "b"], 1000, 1000, 4500, 500, 1000, steps, 32)


def test_piped_output_has_a_progress_line_per_tenth_of_an_epoch() -> None:
    from tui.cli.headless import Reporter

    out, clock = io.StringIO(), Clock()
    reporter = Reporter(out, tty=False, clock=clock)
    reporter(_started(steps=391))
    for step in range(1, 392, 3):  # a step event every 3 steps, 0.1 s apart: a 13 s epoch
        clock.now += 0.1
        reporter(StepDone(2, step, 391, 1.23456, 0.1, 612.4, 100 + clock.now, 192.0))
    lines = [line for line in out.getvalue().splitlines() if line.startswith("  epoch ")]
    assert len(lines) == 9, lines  # 10%, 20%, ... 90%; the epoch's own line says 100%
    assert lines[0] == "  epoch 2/10  step 40/391 (10%)  loss 1.2346  612 img/s  ETA 3m12s"
    assert not any(line.startswith("epoch ") for line in out.getvalue().splitlines())  # grep '^epoch ' = epochs


def test_piped_output_shows_life_every_30_seconds_in_a_long_epoch() -> None:
    from tui.cli.headless import PROGRESS_LINE_S, Reporter

    out, clock = io.StringIO(), Clock()
    reporter = Reporter(out, tty=False, clock=clock)
    reporter(_started(steps=10_000, epochs=1))
    printed_at = []
    for step in range(1, 1000):  # 1 s a step: a tenth of this epoch takes 1000 s
        clock.now += 1.0
        before = out.getvalue().count("\n")
        reporter(StepDone(1, step, 10_000, 2.0, 0.1, 64.0, clock.now, 9000.0))
        if out.getvalue().count("\n") > before:
            printed_at.append(clock.now)
    gaps = [b - a for a, b in zip([0.0, *printed_at], printed_at)]
    assert len(printed_at) >= 30 and max(gaps) <= PROGRESS_LINE_S, gaps


def test_term_dumb_on_a_real_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.cli.headless import Reporter

    master, slave = os.openpty()
    with os.fdopen(slave, "w") as terminal:
        try:
            monkeypatch.setenv("TERM", "xterm-256color")
            assert Reporter(terminal).tty  # a terminal gets the bar
            monkeypatch.setenv("TERM", "dumb")
            reporter = Reporter(terminal)
            assert not reporter.tty
            reporter(_started())
            reporter(StepDone(1, 50, 100, 1.0, 0.1, 500.0, 10.0, 20.0))
            assert reporter.progress is None
        finally:
            os.close(master)


@pytest.mark.parametrize("width", [80, 120])
def test_the_terminal_bar_labels_epoch_time_and_run_eta_on_one_line(width: int) -> None:
    from rich.console import Console

    from tui.cli.headless import progress_bar

    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    bar = progress_bar(console)
    bar.add_task("train", total=391, completed=140, what="epoch 10/10", loss="1.2346", rate="1234", eta="1h02m")
    console.print(bar.get_renderable())
    [line] = console.file.getvalue().splitlines()  # the widest values still fit an 80-column terminal
    assert line.startswith("epoch 10/10 ━") and "140/391 loss 1.2346 1234 img/s" in line
    assert line.endswith("epoch time 0.0s run ETA 1h02m"), line


@pytest.mark.slow
def test_a_piped_headless_run_shows_progress_lines(tmp_path: Path) -> None:
    """`cifar-tui --no-ui ... | cat`: a real process, its stdout a pipe."""
    out = cli("--no-ui", "--dataset", "synthetic", "--model", "mlp", "--epochs", "2", "--train-limit", "3000",
              "--test-limit", "200", "--batch-size", "32", "--no-checkpoints", "--runs-dir", tmp_path / "runs",
              env={"OMP_NUM_THREADS": "1", "TERM": "xterm"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines if line.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]
    progress = [line for line in lines if line.startswith("  epoch ")]
    shape = re.compile(r"  epoch [12]/2  step \d+/\d+ \(\d+%\)  loss \d+\.\d{4}  \d+ img/s  ETA \S+")
    assert progress and all(shape.fullmatch(line) for line in progress), progress
    assert "\x1b[" not in out.stdout  # no bar, no cursor movement in a log
