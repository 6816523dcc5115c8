"""The training loop end to end on tiny real data: events, files, determinism, stop, divergence."""
from __future__ import annotations

import pytest

import json
import threading

import torch

from engine.config import RunConfig
from engine.control import Control
from engine.events import EpochDone, Log, RunEnded, RunStarted, StepDone
from engine.runs import read_metrics
from engine.training.loop import train
from tests.helpers.resume import tiny as resumable
from tests.helpers.stopping import StopAt

SUMMARY_KEYS = {"status", "epochs_done", "test_acc", "per_class_acc", "confusion", "class_names",
                "wall_time_s", "params_total", "params_trainable"}


def tiny(runs_dir, **kw) -> RunConfig:
    base = dict(dataset="synthetic", model="cnn", epochs=2, batch_size=64, train_limit=256,
                test_limit=100, runs_dir=str(runs_dir), lr=0.05)
    return RunConfig(**{**base, **kw})


@pytest.mark.slow
def test_events_files_and_summary(runs_dir):
    events = []
    result = train(tiny(runs_dir, val_split=100), events.append)
    assert result.status == "completed", result.error
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[-1] is RunEnded
    assert kinds.count(EpochDone) == 2 and StepDone in kinds
    started = events[0]
    assert started.n_train == 256 and started.n_val == 100 and started.n_test == 100

    run = result.run_dir
    summary = json.load(open(f"{run}/summary.json"))
    assert SUMMARY_KEYS <= summary.keys() and summary["status"] == "completed"
    assert summary["epochs_done"] == 2 and summary["best_metric"] == "val_acc"
    assert sum(map(sum, summary["confusion"])) == 100
    assert len(summary["per_class_acc"]) == 10 and summary["class_names"] == started.class_names
    config = json.load(open(f"{run}/config.json"))
    assert config["model"] == "cnn" and config["environment"]["torch"] == torch.__version__
    records = read_metrics(run)
    assert [r["epoch"] for r in records] == [1, 2]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "test_top5",
                "img_per_s", "epoch_time_s", "per_class_acc", "confusion"):
        assert key in records[0], key
    ckpt = torch.load(f"{run}/checkpoints/best.pt", weights_only=True)
    assert {"model", "epoch", "resume"} <= ckpt.keys() and {"optimizer", "rng", "book"} <= ckpt["resume"].keys()
    assert (runs_dir / result.run_id / "checkpoints" / "last.pt").exists()
    assert not (runs_dir / result.run_id / "lock").exists()  # released at the end


@pytest.mark.slow
def test_cnn_beats_chance_on_synthetic_in_one_epoch(runs_dir):
    result = train(tiny(runs_dir, epochs=1, train_limit=2000, test_limit=500))
    assert result.summary["test_acc"] > 0.3  # chance is 0.1


@pytest.mark.slow
def test_seeded_cpu_runs_are_identical(runs_dir):
    a = train(tiny(runs_dir, seed=7, epochs=1))
    b = train(tiny(runs_dir, seed=7, epochs=1))
    ma, mb = read_metrics(a.run_dir)[0], read_metrics(b.run_dir)[0]
    for key in ("train_loss", "train_acc", "test_loss", "test_acc", "confusion"):
        assert ma[key] == mb[key], key
    c = train(tiny(runs_dir, seed=8, epochs=1))
    assert read_metrics(c.run_dir)[0]["train_loss"] != ma["train_loss"]


def test_stop_saves_run_as_interrupted(runs_dir):
    control = Control()

    def on_event(event):
        if isinstance(event, StepDone):
            control.stop()

    result = train(tiny(runs_dir, epochs=5, train_limit=2000), on_event, control)
    assert result.status == "interrupted"
    summary = json.load(open(f"{result.run_dir}/summary.json"))
    assert summary["status"] == "interrupted" and summary["epochs_done"] < 5


@pytest.mark.slow
def test_pause_blocks_until_resume(runs_dir):
    control = Control()
    seen = []

    def on_event(event):
        seen.append(event)
        if isinstance(event, RunStarted):
            control.pause()
            threading.Timer(0.3, control.resume).start()

    result = train(tiny(runs_dir, epochs=1), on_event, control)
    assert result.status == "completed"


def test_divergence_is_detected_and_saved(runs_dir):
    events = []
    result = train(tiny(runs_dir, epochs=3, lr=1e12, model="mlp", weight_decay=0.0), events.append)
    assert result.status == "diverged"
    assert "lower --lr" in result.error
    assert any(isinstance(e, Log) and e.level == "error" for e in events)
    assert json.load(open(f"{result.run_dir}/summary.json"))["status"] == "diverged"


@pytest.mark.slow
def test_gray_images_feed_rgb_only_model(needs_fashion, runs_dir):
    cfg = RunConfig(dataset="fashion-mnist", model="alexnet", image_size=64, epochs=1, batch_size=16,
                    train_limit=32, test_limit=20, runs_dir=str(runs_dir), checkpoints=False)
    result = train(cfg)
    assert result.status == "completed", result.error
    assert result.summary["params_total"] == 57_044_810


def test_a_stop_at_an_epochs_end_says_how_to_resume(runs_dir):
    """Check 9 is the one after epoch 1's 8 steps: the run stops there, and says how to go on."""
    logs = []
    result = train(resumable(runs_dir, epochs=2), lambda e: logs.append(e.message) if isinstance(e, Log) else None,
                   StopAt(8))
    assert result.status == "interrupted" and len(read_metrics(result.run_dir)) == 1
    assert any(m.startswith("stopped after epoch 1, its checkpoint saved; resume with: ") for m in logs), logs
