"""Resume: bit for bit on the CPU after a stop mid-epoch, at an epoch boundary, or a kill -9."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.config import UserError
from engine.events import StepDone
from engine.runs import read_metrics
from engine.training.resume import prepare_resume
from engine.training.loop import train
from tests.helpers.resume import assert_same_run, tiny
from tests.helpers.stopping import StopAt

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The same run, never interrupted."""
    result = train(tiny(tmp_path_factory.mktemp("ref")))
    assert result.status == "completed"
    return Path(result.run_dir)


@pytest.mark.parametrize("stop_at", [5, 8 + 1, 13], ids=["mid-epoch-1", "epoch-boundary", "mid-epoch-2"])
def test_stop_then_resume_is_bitwise_identical(reference, tmp_path, stop_at):
    """8 steps an epoch and one check after it (9 checks): stopping at check 6 lands inside epoch 1,
    at check 10 on epoch 2's first step (an epoch boundary: nothing of epoch 2 done), at 14 inside epoch 2."""
    first = train(tiny(tmp_path), control=StopAt(stop_at))
    assert first.status == "interrupted"
    config, change = prepare_resume(first.run_dir, {})
    assert change == {}
    second = train(config, resume=first.run_dir)
    assert second.status == "completed" and second.run_id == first.run_id
    assert_same_run(reference, Path(second.run_dir))
    resumes = json.loads((Path(second.run_dir) / "config.json").read_text())["resumes"]
    assert len(resumes) == 1


def test_stopped_twice_then_extended(reference, tmp_path):
    """Two stops, then --epochs extends a completed run: the first 3 epochs still match the reference."""
    run = train(tiny(tmp_path, epochs=3), control=StopAt(3))
    run = train(prepare_resume(run.run_dir, {})[0], resume=run.run_dir, control=StopAt(10))
    assert run.status == "interrupted"
    run = train(prepare_resume(run.run_dir, {})[0], resume=run.run_dir)
    assert_same_run(reference, Path(run.run_dir))
    with pytest.raises(UserError, match="completed all 3 epochs"):
        prepare_resume(run.run_dir, {})
    config, change = prepare_resume(run.run_dir, {"epochs": 4})
    assert change == {"epochs": [3, 4]} and config.epochs == 4
    run = train(config, resume=run.run_dir, change=change)
    assert run.status == "completed" and [r["epoch"] for r in read_metrics(run.run_dir)] == [1, 2, 3, 4]


def test_other_changes_are_refused_before_anything_is_written(reference, tmp_path):
    run = train(tiny(tmp_path), control=StopAt(4))
    before = {p: p.stat().st_mtime_ns for p in Path(run.run_dir).rglob("*")}
    with pytest.raises(UserError) as err:
        prepare_resume(run.run_dir, {"batch_size": 64, "optimizer": "adam", "lr": 0.01, "epochs": None})
    assert "--batch-size 64 (the run has 32)" in str(err.value) and "--optimizer adam" in str(err.value)
    assert "--lr" not in str(err.value).partition("not:")[2]  # lr is allowed to change
    assert {p: p.stat().st_mtime_ns for p in Path(run.run_dir).rglob("*")} == before


def test_a_resumed_runs_eta_counts_this_sessions_speed(tmp_path):
    """The first session's epoch took seconds; the resumed one's steps take milliseconds. Its ETA must
    come from its own steps, not from epochs timed on a busier machine (they are not in the checkpoint)."""
    first = train(tiny(tmp_path), control=StopAt(8 + 1, drag_s=1.0))  # epoch 1 whole, then stop at the boundary
    assert first.status == "interrupted"
    slow_epoch = read_metrics(first.run_dir)[0]["epoch_time_s"]
    assert slow_epoch > 8 * 1.0
    etas = []
    second = train(prepare_resume(first.run_dir, {})[0], resume=first.run_dir,
                   on_event=lambda e: etas.append(e.eta_s) if isinstance(e, StepDone) else None)
    assert second.status == "completed"
    # Two epochs and more were left: at the first session's pace, over twice slow_epoch.
    assert etas[0] < slow_epoch, (etas[:3], slow_epoch)


def test_an_epoch_resumed_near_its_end_counts_whole_in_the_eta(tmp_path):
    """Resumed with one step of epoch 2 left: that epoch's few seconds must not become the length of the
    epochs after it. Every resumed step takes 0.2 s at least, so epoch 4 alone is 8 x 0.2 s away."""
    first = train(tiny(tmp_path, epochs=4), control=StopAt(8 + 1 + 7))  # 7 of epoch 2's 8 steps done
    assert first.status == "interrupted"
    steps = []
    second = train(prepare_resume(first.run_dir, {})[0], resume=first.run_dir, control=StopAt(10**6, drag_s=0.2),
                   on_event=lambda e: steps.append(e) if isinstance(e, StepDone) else None)
    assert second.status == "completed"
    first_of_3 = next(e for e in steps if e.epoch == 3)
    assert first_of_3.eta_s >= 7 * 0.2 + 8 * 0.2, first_of_3  # epoch 3's other 7 steps, then all of epoch 4
