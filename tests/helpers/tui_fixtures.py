"""Fixed, fabricated engine events for deterministic dashboard tests and screenshots.

No timestamps or measured times: every number comes from a formula, so the
rendered dashboard is byte-identical on every machine.
"""
from __future__ import annotations

from typing import Any

from engine.events import EpochDone, Log, RunStarted, StepDone

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
N_TEST = 1000
STEPS = 50
EPOCHS = 10
DONE = 6  # epochs finished in the fabricated history
GPU_MEM, GPU_PEAK = 3_210_000_000, 4_130_000_000  # bytes of CUDA memory in use / peak: "GPU 3.2/4.1 GB"


def _confusion(epoch: int) -> list[list[int]]:
    """100 test images per class; accuracy grows with the epoch; cat<->dog confusion stays."""
    k = len(CLASSES)
    rows = []
    for i in range(k):
        base = 55 + 5 * epoch + (i * 7) % 15 - (20 if i in (3, 5) else 0)
        correct = max(10, min(98, base))
        row = [0] * k
        row[i] = correct
        wrong = 100 - correct
        partner = {3: 5, 5: 3, 1: 9, 9: 1, 0: 8, 8: 0}.get(i, (i + 1) % k)
        row[partner] += wrong // 2
        rest = wrong - wrong // 2
        j = 0
        while rest:
            col = (i + 2 + j) % k
            if col != i:
                row[col] += 1
                rest -= 1
            j += 1
        rows.append(row)
    return rows


def dashboard_events(done: int = DONE) -> list[Any]:
    """RunStarted, steps and ``done`` epochs of a 10-epoch CIFAR-10 ResNet run, mid-training."""
    config = {"model": "resnet18-cifar", "strategy": "scratch", "dataset": "cifar10", "epochs": EPOCHS,
              "preset": None, "extra": {}}
    events: list[Any] = [RunStarted(
        run_id="20260101-120000-resnet18-cifar-scratch", run_dir="saved_runs/20260101-120000-resnet18-cifar-scratch",
        config=config, device="cuda", class_names=list(CLASSES), params_total=11_173_962,
        params_trainable=11_173_962, n_train=50_000, n_val=0, n_test=N_TEST, steps_per_epoch=STEPS, input_size=32,
    )]
    for epoch in range(1, done + 1):
        for step in range(5, STEPS + 1, 5):
            t = (epoch - 1) + step / STEPS
            loss = 2.2 / (1 + 0.6 * t) + 0.05 * ((step * 7) % 5) / 5
            events.append(StepDone(epoch, step, STEPS, loss, 0.1, 5120.0, 10.0 * t, 10.0 * (EPOCHS - t),
                                   GPU_MEM, GPU_PEAK))
        conf = _confusion(epoch)
        per_class = [row[i] / sum(row) for i, row in enumerate(conf)]
        test_acc = sum(conf[i][i] for i in range(len(conf))) / N_TEST
        metrics = {"train_loss": 2.0 / (1 + 0.6 * epoch), "train_acc": min(0.99, 0.45 + 0.07 * epoch),
                   "test_loss": 2.1 / (1 + 0.5 * epoch), "test_acc": test_acc, "test_top5": 0.97, "lr": 0.1,
                   "img_per_s": 5120.0, "epoch_time_s": 10.0}
        events.append(EpochDone(epoch, EPOCHS, metrics, per_class, conf, True, 10.0 * epoch, 10.0 * (EPOCHS - epoch)))
        if epoch == 3:
            events.append(Log("warning", "GPU memory 92% full: consider a smaller --batch-size"))
    events.append(StepDone(done + 1, 20, STEPS, 0.62, 0.1, 5120.0, 10.0 * done + 4, 10.0 * (EPOCHS - done) - 4,
                           GPU_MEM, GPU_PEAK))
    return events


def metrics_records(epochs: int = 3) -> list[dict[str, Any]]:
    """metrics.jsonl lines as the engine writes them (for follow/saved-run tests)."""
    out = []
    for epoch in range(1, epochs + 1):
        conf = _confusion(epoch)
        out.append({"epoch": epoch, "train_loss": 1.0 / epoch, "train_acc": 0.5, "test_loss": 1.1 / epoch,
                    "test_acc": sum(conf[i][i] for i in range(10)) / N_TEST, "test_top5": 0.9, "lr": 0.1,
                    "img_per_s": 100.0, "epoch_time_s": 1.0, "wall_time_s": float(epoch),
                    "per_class_acc": [row[i] / sum(row) for i, row in enumerate(conf)], "confusion": conf})
    return out


def tiny_config(runs_dir: Any, **kw: Any) -> Any:
    """A run that trains in about a second on two CPU cores: 4 steps an epoch."""
    from engine.config import RunConfig

    base = dict(dataset="synthetic", train_limit=200, test_limit=60, batch_size=50, model="mlp", epochs=3,
                runs_dir=str(runs_dir))
    return RunConfig(**{**base, **kw})


def stopped_run(runs_dir: Any, checks: int = 7, **kw: Any) -> Any:
    """Train tiny_config, stopping it at the ``checks``-th stop check; returns the run directory (a Path).

    The loop checks once per step and once after each epoch (5 checks an epoch here), so 7 stops
    inside epoch 2 with epoch 1 in metrics.jsonl: a real 'interrupted' run. With lr=1e9 the run
    diverges in its first steps instead.
    """
    from pathlib import Path

    from engine.training.loop import train
    from tests.helpers.stopping import StopAt

    return Path(train(tiny_config(runs_dir, **kw), control=StopAt(checks)).run_dir)


def interrupted_run(runs_dir: Any, checks: int = 7, **kw: Any) -> Any:
    """stopped_run, checked to be 'interrupted' (resumable)."""
    import json

    run = stopped_run(runs_dir, checks, **kw)
    status = json.loads((run / "summary.json").read_text())["status"]
    assert status == "interrupted", status
    return run


def drill_run(root: Any) -> Any:
    """A saved run with stored test predictions made by a formula (no training, so no timing or float noise):
    the synthetic test set (60 images), every 3rd image of a class mispredicted as the next class and the
    first class's every 2nd one as class 5; confidences from the row number. Returns the run directory."""
    import json
    from pathlib import Path

    import numpy as np

    from engine.runs import predictions
    from engine.data.load import load_config_dataset

    config = tiny_config(Path(root) / "runs", val_split=0, name="drill")
    run = Path(config.runs_dir) / "20260101-000000-mlp-scratch-drill"
    (run / "checkpoints").mkdir(parents=True)
    labels = np.asarray(load_config_dataset(config).test.y)
    n, k = len(labels), 10
    rows = np.arange(n)
    pred = np.where(rows % 3 == 0, (labels + 1) % k, labels)
    pred = np.where((labels == 0) & (rows % 2 == 0), 5, pred)
    conf = 0.35 + 0.6 * ((rows * 37) % n) / n
    top_ids = np.stack([pred] + [(pred + j) % k for j in range(1, 5)], axis=1)
    rest = (1 - conf) / 4
    top_probs = np.stack([conf] + [rest] * 4, axis=1)
    preds = predictions.Predictions(1, labels, top_ids, top_probs.astype(np.float32))
    predictions.save(run, preds, is_best=True)
    names = list(load_config_dataset(config).class_names)
    matrix = preds.confusion(k)
    (run / "config.json").write_text(json.dumps({**config.to_dict(), "run_id": run.name}))
    (run / "summary.json").write_text(json.dumps({
        "run_id": run.name, "status": "completed", "epochs": 1, "epochs_done": 1, "class_names": names,
        "confusion": matrix, "test_acc": float((pred == labels).mean()), "n_test": n, "n_val": 0}))
    record = {"epoch": 1, "train_loss": 1.0, "train_acc": 0.7, "test_loss": 1.2, "test_acc": float((pred == labels).mean()),
              "lr": 0.1, "img_per_s": 100.0, "epoch_time_s": 1.0, "wall_time_s": 1.0, "confusion": matrix,
              "per_class_acc": [row[i] / max(1, sum(row)) for i, row in enumerate(matrix)]}
    (run / "metrics.jsonl").write_text(json.dumps(record) + "\n")
    return run
