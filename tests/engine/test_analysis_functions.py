"""engine.analysis.analyze on real tiny runs: predictions agree with training, rows map to images, PCA, probe, samples."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.analysis import analyze as A
from engine.runs import predictions as store
from engine.config import RunConfig, UserError
from engine.data.load import load_config_dataset
from engine.analysis.pca import pca, pca_basis
from engine.runs.files import atomic_write_json
from engine.runs.liveness import lock_record
from engine.training.loop import train

# Trains for real: the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    runs = tmp_path_factory.mktemp("analysis") / "runs"
    config = RunConfig(dataset="synthetic", model="cnn", epochs=1, train_limit=200, test_limit=100, batch_size=20,
                       lr=0.05, runs_dir=str(runs), seed=3)
    result = train(config)
    assert result.status == "completed", result.error
    return runs, Path(result.run_dir), result.summary


@pytest.fixture(scope="module")
def loaded(trained):
    return A.load_run_model(trained[1])


@pytest.fixture(scope="module")
def preds(loaded):
    return A.compute_predictions(loaded)


def test_predictions_agree_with_the_runs_own_evaluation(trained, loaded, preds) -> None:
    _, _, summary = trained
    assert loaded.checkpoint == "best.pt" and loaded.epoch == 1 and loaded.step == 0
    assert not loaded.model.training
    assert preds.epoch == 1 and len(preds) == summary["n_test"] == 100
    assert preds.confusion(len(summary["class_names"])) == summary["confusion"]
    assert float((preds.pred == preds.labels).mean()) == pytest.approx(summary["test_acc"])
    assert preds.top_ids.shape == (100, 5)
    assert np.all(np.diff(preds.top_probs, axis=1) <= 0)  # most probable first
    assert np.all(preds.top_probs.sum(1) <= 1 + 1e-5)
    assert all(len(set(row)) == 5 for row in preds.top_ids.tolist())


def test_recomputed_predictions_equal_the_ones_training_stored(trained, preds) -> None:
    _, run_dir, _ = trained
    path = store.path_of(run_dir, "last")
    if not path.is_file():
        pytest.skip("this engine does not store predictions while training")
    kept, where = A.run_predictions(run_dir)
    assert where == "training, epoch 1" and kept.epoch == preds.epoch
    assert np.array_equal(kept.labels, preds.labels) and np.array_equal(kept.pred, preds.pred)
    assert np.allclose(kept.top_probs, preds.top_probs, atol=1e-3)  # stored as float16


def test_a_cell_is_exactly_the_test_rows_with_that_true_and_predicted_class(trained, loaded, preds) -> None:
    _, run_dir, _ = trained
    images, labels, names = A.test_images(run_dir)
    A.check_rows(preds, labels)
    assert names == loaded.class_names and images.dtype == np.uint8 and images.shape == (100, 32, 32, 3)
    pairs = preds.confused_pairs(3) + [(c, c, 0) for c in range(3)]
    for true, pred, _ in pairs:
        rows = preds.cell(true, pred)
        expected = np.flatnonzero((labels == true) & (preds.pred == pred))
        assert sorted(rows.tolist()) == expected.tolist()
        if not len(rows):
            continue
        # The images test_images gives for those rows are the ones the model predicted `pred` for.
        with torch.no_grad():
            out = loaded.model(loaded.pipeline.eval_batch(torch.as_tensor(images[rows])))
        assert out.argmax(1).tolist() == [pred] * len(rows)
        assert (labels[rows] == true).all()


def test_mistakes_are_wrong_and_most_confident_first(preds) -> None:
    rows = preds.mistakes()
    assert len(rows) == int((preds.pred != preds.labels).sum()) > 0
    assert (preds.labels[rows] != preds.pred[rows]).all()
    conf = preds.confidence[rows]
    assert np.all(np.diff(conf) <= 0)


def test_stored_predictions_training_first_then_analyze(trained, preds, tmp_path) -> None:
    _, source, _ = trained
    run = Path(shutil.copytree(source, tmp_path / source.name))
    shutil.rmtree(run / store.FOLDER, ignore_errors=True)
    with pytest.raises(UserError, match=f"cifar-tui analyze {run.name} --errors --no-ui"):
        A.run_predictions(run)
    A.save_predictions(run, preds)
    got, where = A.run_predictions(run)
    assert where == "analyze, epoch 1" and got.confusion() == preds.confusion()
    store.save(run, store.Predictions(7, preds.labels, preds.top_ids, preds.top_probs), is_best=True)
    got, where = A.run_predictions(run)
    assert where == "training, epoch 7"


def test_check_rows_refuses_other_data(preds) -> None:
    with pytest.raises(UserError, match="data changed"):
        A.check_rows(preds, preds.labels[:-1])
    other = preds.labels.copy()
    other[:3] = (other[:3] + 1) % 10
    with pytest.raises(UserError, match="differ .* in 3 of 100"):
        A.check_rows(preds, other)


def test_pca_recovers_a_known_direction() -> None:
    """Three clusters along one direction of a 50-d space, plus small noise everywhere."""
    rng = np.random.default_rng(0)
    direction = rng.normal(size=50)
    direction /= np.linalg.norm(direction)
    cluster = np.repeat([-5.0, 0.0, 5.0], 200)
    x = cluster[:, None] * direction[None] + rng.normal(0, 0.3, (600, 50)) + 3.0  # off-centre too
    coords, ratio, components = pca_basis(torch.as_tensor(x), 3)
    assert abs(float(components[0].double() @ torch.as_tensor(direction))) > 0.999
    signal, noise = 25 * 2 / 3, 50 * 0.3**2  # variance along the direction, and the noise's over all 50 axes
    assert float(ratio[0]) == pytest.approx(signal / (signal + noise), abs=0.02)  # ~0.79
    assert float(ratio[1]) < 0.01  # the rest is isotropic noise: each other axis ~0.4%
    pc1 = coords[:, 0].numpy()
    means = [pc1[cluster == c].mean() for c in (-5.0, 0.0, 5.0)]
    assert means == sorted(means) or means == sorted(means, reverse=True)
    assert abs(means[2] - means[0]) == pytest.approx(10.0, rel=0.05)
    same, _ = pca(torch.as_tensor(x), 3)
    assert torch.equal(same, coords)


def test_feature_space_stores_and_loads_back(trained, loaded, tmp_path) -> None:
    _, source, _ = trained
    run = Path(shutil.copytree(source, tmp_path / source.name))
    assert A.load_feature_space(run) is None
    fs = A.feature_space(loaded, limit=50)
    assert fs.coords.shape == (50, 2) and fs.coords.dtype == np.float32
    assert np.bincount(fs.labels, minlength=10).tolist() == [5] * 10  # stratified
    assert (np.asarray(loaded.data.test.y)[fs.rows] == fs.labels).all()
    assert fs.dim == 128 and fs.layer == "head" and fs.epoch == 1 and len(fs.explained) == 10
    assert all(a >= b - 1e-6 for a, b in zip(fs.explained, fs.explained[1:])) and sum(fs.explained) <= 1 + 1e-6
    A.save_feature_space(run, fs)
    back = A.load_feature_space(run)
    assert back is not None
    assert np.array_equal(back.coords, fs.coords) and np.array_equal(back.rows, fs.rows)
    assert back.explained == pytest.approx(fs.explained) and back.class_names == fs.class_names
    assert (back.layer, back.dim, back.epoch, back.checkpoint) == ("head", 128, 1, "best.pt")
    (run / "analysis" / "pca.npz").write_text("not numpy")
    with pytest.raises(UserError, match="--pca"):
        A.load_feature_space(run)


def test_errors_are_one_line_user_errors(trained, tmp_path) -> None:
    _, source, _ = trained
    run = Path(shutil.copytree(source, tmp_path / "copy"))
    # A damaged best.pt is refused by name, never swapped for last.pt.
    best = run / "checkpoints" / "best.pt"
    best.unlink()  # a hard link to last.pt: replace it, don't write through it
    best.write_bytes((run / "checkpoints" / "last.pt").read_bytes()[:-10])
    with pytest.raises(UserError, match="best.pt does not match its recorded sha256"):
        A.load_run_model(run)
    assert A.load_run_model(run, checkpoint="last").checkpoint == "last.pt"
    # The data is gone (another machine): said so, naming the run.
    config = json.loads((run / "config.json").read_text())
    atomic_write_json(run / "config.json", {**config, "dataset": "cifar10", "data_dir": str(tmp_path / "nowhere")})
    with pytest.raises(UserError, match="the data run copy was trained on cannot be loaded: cifar10 not found"):
        A.load_run_model(run, checkpoint="last")
    shutil.rmtree(run / "checkpoints")
    with pytest.raises(UserError, match="run copy has no checkpoint"):
        A.load_run_model(run)
    (run / "config.json").unlink()
    with pytest.raises(UserError, match="unreadable .missing config.json"):
        A.load_run_model(run)


def test_a_running_run_is_analysed_without_touching_its_lock(trained, tmp_path) -> None:
    _, source, _ = trained
    run = Path(shutil.copytree(source, tmp_path / source.name))
    summary = json.loads((run / "summary.json").read_text())
    atomic_write_json(run / "summary.json", {**summary, "status": "running"})
    atomic_write_json(run / "lock", lock_record())  # this process "writes" the run
    from engine.runs import load_run

    assert load_run(run).status == "running"
    lock = (run / "lock").read_bytes()
    before = {p.name for p in run.iterdir()}
    out = A.analyze(run, log=lambda m: None)
    assert out["errors"]["epoch"] == 1 and out["pca"]["n_images"] == 100
    assert (run / "lock").read_bytes() == lock
    assert {p.name for p in run.iterdir()} - before == {"analysis"}


def test_sample_grid_shows_the_pipelines_own_augmentation() -> None:
    config = RunConfig(dataset="synthetic", train_limit=200, crop=False, flip=True, val_split=0)
    data = load_config_dataset(config)
    plain = A.sample_grid(config, per_class=3, seed=1)
    assert plain.images.shape == (30, 32, 32, 3) and plain.labels.tolist() == sorted(plain.labels.tolist())
    assert np.array_equal(plain.images, np.asarray(data.train.x)[plain.rows])
    assert plain.captions[0] == plain.class_names[0]
    flipped = A.sample_grid(config, per_class=3, augmented=True, seed=1)
    assert np.array_equal(flipped.rows, plain.rows)  # the same seed: the same images, plain or augmented
    assert not np.array_equal(A.sample_grid(config, per_class=3, seed=2).rows, plain.rows)
    mirrored = 0
    for a, b in zip(flipped.images.astype(int), plain.images.astype(int)):
        same, mirror = np.abs(a - b).max(), np.abs(a - b[:, ::-1]).max()
        assert min(same, mirror) <= 1  # exactly the stored image or its mirror, de-normalised back to uint8
        mirrored += mirror <= 1 < same
    assert 0 < mirrored < 30
    mixed = A.sample_grid(config.replace(mixup=1.0, cutout=8, randaugment=2), per_class=2, augmented=True,
                          classes=[0, 1, 2])
    assert mixed.images.shape == (6, 32, 32, 3) and mixed.images.dtype == np.uint8
    for caption in mixed.captions:
        parts = [p.split(" ", 1) for p in caption.split(" + ")]
        if len(parts) > 1:
            assert sum(float(w) for w, _ in parts) == pytest.approx(1.0, abs=0.02)
            assert all(name in mixed.class_names for _, name in parts)
    assert any(" + " in c for c in mixed.captions)
    with pytest.raises(UserError, match="class 12 does not exist"):
        A.sample_grid(config, classes=[12])


def test_a_linear_probe_beats_chance_and_is_found(tmp_path) -> None:
    runs = tmp_path / "runs"
    base = train(RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=200, test_limit=100,
                           batch_size=20, lr=0.05, runs_dir=str(runs), seed=3))
    assert base.status == "completed", base.error
    assert A.probe_runs(runs, base.run_id) == []
    result = A.train_probe(base.run_dir, epochs=5, batch_size=20, lr=0.05)
    assert result.status == "completed", result.error
    assert result.summary["test_acc"] > 0.2  # 10 classes: chance is 0.1
    record = A.read_probe(base.run_dir)
    assert record is not None and record["probe_run_id"] == result.run_id
    assert record["test_acc"] == result.summary["test_acc"] and record["run_test_acc"] == base.summary["test_acc"]
    [found] = A.probe_runs(runs, base.run_id)
    assert found["run_id"] == result.run_id and found["test_acc"] == result.summary["test_acc"]
    assert A.probe_config(base.run_dir).lr == 0.01  # study 001's recipe by default
    with pytest.raises(UserError, match="itself a linear probe"):
        A.train_probe(result.run_dir)
