"""A tiny resumable run (checkpoints, augmentation, a plateau schedule) and a bit-for-bit comparison of two runs."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from engine.config import RunConfig
from engine.runs import read_metrics

TIMES = ("img_per_s", "train_time_s", "epoch_time_s", "wall_time_s")


def tiny(runs_dir: Path, **kw) -> RunConfig:
    base = dict(dataset="synthetic", train_limit=240, test_limit=60, batch_size=32, model="cnn-bn-dropout",
                epochs=3, runs_dir=str(runs_dir), val_split=40, cutout=8, flip=True, crop=True,
                schedule="plateau", early_stop_patience=0)
    return RunConfig(**{**base, **kw})


def without_times(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMES} for r in records]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(Path(run_dir) / "checkpoints" / "last.pt", weights_only=True)["model"]


def assert_same_run(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa), [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert without_times(read_metrics(a)) == without_times(read_metrics(b))
    sa, sb = (json.loads((p / "summary.json").read_text()) for p in (a, b))
    for key in ("status", "epochs_done", "test_acc", "best_acc", "best_epoch", "confusion"):
        assert sa[key] == sb[key], key
