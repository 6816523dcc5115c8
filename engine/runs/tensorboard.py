"""A run's curves as TensorBoard event files, under ``RUN/tensorboard/``, written as it trains.

So ``tensorboard --logdir saved_runs`` shows every run, and ``wandb sync --sync-tensorboard`` takes them to
W&B. tensorboardX writes them: a maintained, small writer of the event format with no TensorFlow and no
TensorBoard server to install (torch.utils.tensorboard needs the whole ``tensorboard`` package just to write).

One x axis for every tag: the global training step, so the within-epoch loss and the epoch's evaluations
line up. Per step (at the progress rate, ~10 points an epoch): ``train/loss_step``, ``train/lr``. Per
epoch, at its last step: losses and accuracies of each split, top-5, the generalisation gap, lr, img/s,
and each class's test accuracy. When the run ends, its settings and final numbers through the HParams
plugin (a ``hparams`` folder beside the curves), so TensorBoard's HParams tab compares runs.

A resumed run writes a new file whose first event purges what the killed session wrote past the
checkpoint, as TensorBoard's own readers expect; a run exported later (``export --format tensorboard``)
is replayed from metrics.jsonl and steps.jsonl through the same writer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

HPARAMS_DIR = "hparams"
EPOCH_TAGS = {
    "train_loss": "loss/train", "val_loss": "loss/val", "test_loss": "loss/test",
    "train_acc": "accuracy/train", "val_acc": "accuracy/val", "test_acc": "accuracy/test",
    "test_top5": "accuracy/test_top5", "gap_acc": "gap/accuracy", "gap_loss": "gap/loss",
    "lr": "train/lr_epoch", "img_per_s": "speed/img_per_s", "epoch_time_s": "speed/epoch_time_s",
}
"""metrics.jsonl key -> TensorBoard tag (what a reader of both finds under which name)."""
HPARAMS = ("dataset", "model", "strategy", "epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
           "schedule", "label_smoothing", "mixup", "cutout", "randaugment", "seed", "image_size", "preset")


class TensorBoardLog:
    """The event writer of one run (or of one export)."""

    def __init__(self, folder: str | Path, steps_per_epoch: int, resume_at: int | None = None):
        from tensorboardX import SummaryWriter  # only where a run is written: listing commands never pay for it

        self.folder = Path(folder)
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.writer = SummaryWriter(logdir=str(self.folder), purge_step=resume_at, flush_secs=10)

    def global_step(self, epoch: int, step: int) -> int:
        return (epoch - 1) * self.steps_per_epoch + step

    def step(self, epoch: int, step: int, loss: float, lr: float) -> None:
        at = self.global_step(epoch, step)
        self.writer.add_scalar("train/loss_step", loss, at)
        self.writer.add_scalar("train/lr", lr, at)

    def epoch(self, record: dict[str, Any], per_class: dict[str, float] | None = None) -> None:
        at = self.global_step(int(record["epoch"]) + 1, 0)
        for key, tag in EPOCH_TAGS.items():
            value = record.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(tag, value, at)
        for name, acc in (per_class or {}).items():
            self.writer.add_scalar(f"per_class/{name}", acc, at)
        self.writer.flush()  # an epoch is worth a flush: a follower's TensorBoard sees it now

    def finish(self, config: dict[str, Any], summary: dict[str, Any]) -> None:
        """The run's settings and final numbers for the HParams tab."""
        hparams = {k: _hparam(config.get(k)) for k in HPARAMS if config.get(k) is not None}
        metrics = {f"hparam/{k}": float(summary[k]) for k in ("best_acc", "test_acc", "test_acc_at_best",
                                                                "wall_time_s")
                   if isinstance(summary.get(k), (int, float)) and not isinstance(summary.get(k), bool)}
        if metrics:
            self.writer.add_hparams(hparams, metrics, name=HPARAMS_DIR)

    def close(self) -> None:
        self.writer.close()


def _hparam(value: Any) -> bool | str | float | int:
    return value if isinstance(value, (bool, str, float, int)) else str(value)


def export_run(run_dir: Path, out: Path) -> Path:
    """Event files for a run trained before this writer existed: its metrics.jsonl and steps.jsonl replayed."""
    from engine.runs.reader import load_run, read_metrics
    from engine.runs.steps import read_steps

    info = load_run(run_dir)
    records, steps = read_metrics(run_dir), read_steps(run_dir)
    spe = steps[0]["steps_per_epoch"] if steps else 1
    log = TensorBoardLog(out / info.run_id, spe)
    try:
        for p in steps:
            log.step(p["epoch"], p["step"], p["loss"], p["lr"])
        names = [str(n) for n in info.summary.get("class_names") or []]
        for r in records:
            per_class = r.get("per_class_acc")
            log.epoch(r, dict(zip(names, per_class)) if isinstance(per_class, list) else None)
        log.finish(info.config, info.summary)
    finally:
        log.close()
    return out / info.run_id
