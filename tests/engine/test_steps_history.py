"""steps.jsonl: the loss inside each epoch kept with the run (~10 points an epoch), cut back on resume."""
from __future__ import annotations

from pathlib import Path

from engine.config import RunConfig
from engine.control import Control
from engine.events import StepDone
from engine.runs.steps import POINTS_PER_EPOCH, StepLog, read_steps
from engine.training.loop import train


def test_a_run_keeps_about_ten_points_an_epoch(runs_dir: Path) -> None:
    config = RunConfig(dataset="synthetic", model="mlp", epochs=2, train_limit=2000, test_limit=100, batch_size=16,
                       runs_dir=str(runs_dir))
    result = train(config)
    points = read_steps(result.run_dir)
    for epoch in (1, 2):
        mine = [p for p in points if p["epoch"] == epoch]
        assert 2 <= len(mine) <= POINTS_PER_EPOCH + 1, mine
        assert [p["step"] for p in mine] == sorted({p["step"] for p in mine})
    assert points[-1]["lr"] < points[0]["lr"]  # the schedule's decay is in it


def test_a_resume_cuts_the_points_back_to_its_checkpoint(runs_dir: Path) -> None:
    config = RunConfig(dataset="synthetic", model="mlp", epochs=2, train_limit=2000, test_limit=100, batch_size=16,
                       runs_dir=str(runs_dir))
    control = Control()
    stop_at = {"step": 0}

    def on_event(event: object) -> None:
        if isinstance(event, StepDone) and event.epoch == 2 and event.step > 30 and not stop_at["step"]:
            stop_at["step"] = event.step
            control.stop()

    first = train(config, on_event, control)
    assert first.status == "interrupted"
    before = read_steps(first.run_dir)
    resumed = train(config, resume=first.run_dir)
    after = read_steps(resumed.run_dir)
    keys = [(p["epoch"], p["step"]) for p in after]
    assert keys == sorted(set(keys)), "a resumed run repeats points"
    assert [p for p in after if p["epoch"] == 1] == [p for p in before if p["epoch"] == 1]
    assert max(k for k in keys if k[0] == 2)[1] == 125


def test_damaged_lines_are_skipped(tmp_path: Path) -> None:
    log = StepLog(tmp_path)
    log.add(StepDone(1, 5, 10, 1.5, 0.1, 100.0, 1.0, None))
    log.close()
    with open(tmp_path / "steps.jsonl", "a") as f:
        f.write('{"epoch": "x"}\nnot json\n{"epoch": 1, "step": 9, "steps_per_epoch": 10, "loss": NaN, "lr": 0.1}\n{"ep')
    assert [p["step"] for p in read_steps(tmp_path)] == [5]
