"""Test-set predictions stored by training (engine.runs.predictions): what the drill-down reads."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.runs import predictions
from engine.config import RunConfig, UserError
from engine.data.load import load_config_dataset
from engine.training.loop import train

# Trains for real (tiny runs): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = RunConfig(dataset="synthetic", model="cnn", epochs=2, train_limit=300, test_limit=200, batch_size=50,
                       runs_dir=str(tmp_path_factory.mktemp("preds") / "runs"), seed=1, val_split=50)
    result = train(config)
    assert result.status == "completed", result.error
    return config, Path(result.run_dir), result.summary


def test_stored_predictions_are_the_summarys_last_epoch(run) -> None:
    _, run_dir, summary = run
    preds = predictions.load(predictions.path_of(run_dir))
    assert preds.epoch == summary["epochs_done"] == 2
    assert preds.confusion(10) == summary["confusion"]
    assert float((preds.pred == preds.labels).mean()) == pytest.approx(summary["test_acc"])
    assert preds.top_ids.shape == (200, 5) and preds.top_probs.dtype == np.float32
    assert np.all(np.diff(preds.top_probs, axis=1) <= 1e-3)  # most probable first
    assert np.all(preds.top_probs.sum(1) <= 1 + 1e-2)
    best = predictions.load(predictions.path_of(run_dir, "best"))
    assert best.epoch == summary["best_epoch"]


def test_a_cell_is_exactly_the_test_images_of_that_pair(run) -> None:
    config, run_dir, summary = run
    preds = predictions.load(predictions.path_of(run_dir))
    test = load_config_dataset(config.replace(download=False)).test
    assert np.array_equal(preds.labels, np.asarray(test.y))  # row i is the run's i-th test image
    for true, pred, count in preds.confused_pairs()[:3] + [(0, 0, summary["confusion"][0][0])]:
        rows = preds.cell(true, pred)
        assert len(rows) == count == summary["confusion"][true][pred]
        assert set(rows) == set(np.flatnonzero((np.asarray(test.y) == true) & (preds.pred == pred)))
        conf = preds.confidence[rows]
        assert np.all(np.diff(conf) >= 0) if true == pred else np.all(np.diff(conf) <= 0)


def test_mistakes_are_wrong_and_most_confident_first(run) -> None:
    _, run_dir, _ = run
    preds = predictions.load(predictions.path_of(run_dir))
    rows = preds.mistakes()
    assert len(rows) == int((preds.pred != preds.labels).sum()) > 0
    assert np.all(preds.pred[rows] != preds.labels[rows])
    assert np.all(np.diff(preds.confidence[rows]) <= 0)
    pairs = preds.confused_pairs()
    assert [c for *_, c in pairs] == sorted((c for *_, c in pairs), reverse=True)


def test_the_gap_is_in_every_epoch_record(run) -> None:
    _, run_dir, _ = run
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert record["gap_acc"] == pytest.approx(record["train_acc"] - record["val_acc"])
        assert record["gap_loss"] == pytest.approx(record["val_loss"] - record["train_loss"])


def test_predictions_off_stores_none(tmp_path) -> None:
    config = RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=100, test_limit=50, batch_size=50,
                       runs_dir=str(tmp_path / "runs"), predictions=False)
    result = train(config)
    assert result.status == "completed"
    assert not (Path(result.run_dir) / predictions.FOLDER).exists()


def test_a_bad_predictions_file_is_one_line(tmp_path) -> None:
    with pytest.raises(UserError, match="no stored predictions"):
        predictions.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(UserError, match="not a readable predictions file"):
        predictions.load(tmp_path / "bad.npz")


def test_a_damaged_or_stale_training_file_gives_way_to_analyzes(run, tmp_path) -> None:
    """The advice every error gives (cifar-tui analyze RUN --errors) must work even while last.npz exists."""
    import shutil

    from engine.analysis.analyze import run_predictions, save_predictions

    _, run_dir, _ = run
    copy = Path(shutil.copytree(run_dir, tmp_path / run_dir.name))
    good = predictions.load(predictions.path_of(copy))
    (copy / "predictions" / "last.npz").write_text("torn")
    with pytest.raises(UserError, match="not a readable predictions file"):
        run_predictions(copy)
    save_predictions(copy, good)  # what analyze --errors writes
    preds, source = run_predictions(copy)
    assert source.startswith("analyze") and np.array_equal(preds.pred, good.pred)
    stale = predictions.Predictions(2, (good.labels + 1) % 10, good.top_ids, good.top_probs)
    predictions.save(copy, stale, is_best=False)  # made on other test images
    preds, source = run_predictions(copy, labels=good.labels)
    assert source.startswith("analyze")


def test_a_relative_data_dir_is_saved_absolute(tmp_path, monkeypatch, cifar10_dir) -> None:
    """A run trained with --data-dir ../x is read again from any directory (the app, analyze, resume)."""
    monkeypatch.chdir(cifar10_dir.parent)
    config = RunConfig(dataset="cifar10", data_dir=f"./{cifar10_dir.name}", model="mlp", epochs=1, train_limit=100,
                       test_limit=50, batch_size=50, runs_dir=str(tmp_path / "runs"), download=False)
    result = train(config)
    assert result.status == "completed", result.error
    saved = json.loads((Path(result.run_dir) / "config.json").read_text())
    assert saved["data_dir"] == str(cifar10_dir.resolve())
