"""Model selection reads the validation split only: best, best.pt, early stopping, plateau."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.config import ConfigError, RunConfig
from engine.runs import read_metrics
from engine.runs.checkpoint import load_checkpoint
from engine.training.loop import train


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_TUI_CACHE", str(tmp_path / "cache"))


def write_disagreeing_folder(root: Path, n_train: int = 60, n_test: int = 30) -> Path:
    """Train images are learnable (class = bright channel); test labels are those of the *other*
    class: the better the model gets on validation, the worse it does on test, so their peaks differ."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        for k, name in enumerate(("a", "b")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 120, (16, 16, 3), dtype=np.uint8)
                img[..., k if split == "train" else 1 - k] += 25
                Image.fromarray(img).save(folder / f"{i}.png")
    return root


def test_best_checkpoint_is_the_best_validation_epoch_not_the_best_test_epoch(tmp_path):
    data = write_disagreeing_folder(tmp_path / "data")
    config = RunConfig(dataset="folder", data_dir=str(data), folder_size=16, model="mlp", epochs=6, batch_size=16,
                       lr=0.002, schedule="none", val_split=20, crop=False, flip=False, runs_dir=str(tmp_path / "runs"))
    result = train(config)
    records = read_metrics(result.run_dir)
    val = [r["val_acc"] for r in records]
    test = [r["test_acc"] for r in records]
    best_val_epoch = 1 + max(range(len(val)), key=lambda i: (val[i], -i))
    best_test_epoch = 1 + max(range(len(test)), key=lambda i: (test[i], -i))
    assert best_val_epoch != best_test_epoch  # the run is built so that the two disagree
    s = result.summary
    assert s["best_metric"] == "val_acc" and s["best_epoch"] == best_val_epoch
    assert s["test_acc_at_best"] == test[best_val_epoch - 1]
    assert load_checkpoint(Path(result.run_dir) / "checkpoints" / "best.pt")["epoch"] == best_val_epoch


def test_without_a_validation_split_best_is_the_last_epoch(tmp_path):
    config = RunConfig(dataset="synthetic", model="mlp", epochs=2, train_limit=100, test_limit=50, batch_size=50,
                       val_split=0, runs_dir=str(tmp_path))
    result = train(config)
    s = result.summary
    assert s["best_metric"] is None and s["best_acc"] is None and s["n_val"] == 0
    assert s["test_acc_at_best"] == s["test_acc"]
    assert load_checkpoint(Path(result.run_dir) / "checkpoints" / "best.pt")["epoch"] == 2


def test_the_default_validation_split(tmp_path):
    result = train(RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=100, test_limit=50,
                             runs_dir=str(tmp_path)))
    assert result.summary["n_val"] == 500  # 10% of synthetic's 5,000 training images


@pytest.mark.parametrize("changes, field", [(dict(early_stop_patience=2), "early_stop_patience"),
                                            (dict(schedule="plateau"), "schedule")])
def test_what_selects_needs_a_validation_split(changes, field):
    with pytest.raises(ConfigError, match="needs a validation split") as err:
        RunConfig(val_split=0, **changes).validate()
    assert err.value.field == field


def test_no_code_path_reads_test_metrics_to_select():
    """The selection code names val_acc only: a guard against a 'test_acc' creeping back in."""
    import inspect

    from engine.training import run_book as bookkeeping, optim, loop

    assert "test" not in inspect.getsource(bookkeeping.RunBook._select).split('"""')[-1].replace(
        'self.test_at_best = record["test_acc"]', "")
    assert "test_acc" not in inspect.getsource(loop._run_epochs).split("plateau")[1].split("\n")[0]
    assert "test" not in inspect.getsource(optim.LRSchedule.epoch_end)
