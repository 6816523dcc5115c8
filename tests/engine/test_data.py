"""Dataset loading from real files: CIFAR format, Fashion-MNIST idx, synthetic, splits."""
from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest

from tests.helpers.cifar_files import write_batch, write_cifar10, write_tarball
from tests.helpers.cli_process import cli
from engine.config import UserError
from engine.data.load import load_dataset, stratified_indices


def test_cifar10_fixture_loads_as_uint8_nhwc(cifar10_dir):
    ds = load_dataset("cifar10", str(cifar10_dir), download=False)
    assert ds.train.x.shape == (250, 32, 32, 3) and ds.train.x.dtype == np.uint8
    assert ds.test.x.shape == (100, 32, 32, 3)
    assert ds.class_names[0] == "airplane" and ds.num_classes == 10
    assert set(np.unique(ds.train.y)) == set(range(10))


def test_cifar_folder_itself_and_tarball_are_accepted(tmp_path):
    folder = write_cifar10(tmp_path / "src", per_batch=20, n_test=20)
    assert len(load_dataset("cifar10", str(folder), download=False).train) == 100
    dest = tmp_path / "dest"
    dest.mkdir()
    write_tarball(folder, dest / "cifar-10-python.tar.gz")
    ds = load_dataset("cifar10", str(dest), download=False)
    assert len(ds.test) == 20 and (dest / "cifar-10-batches-py" / "test_batch").exists()


def test_cifar100_has_100_fine_classes(cifar100_dir):
    ds = load_dataset("cifar100", str(cifar100_dir), download=False)
    assert ds.num_classes == 100 and len(ds.train) == 500


def test_truncated_batch_gives_clear_error(tmp_path):
    folder = write_cifar10(tmp_path, per_batch=20, n_test=20)
    raw = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(UserError, match=r"data_batch_3 is corrupted or truncated.*extract the tarball again"):
        load_dataset("cifar10", str(tmp_path), download=False)


def test_garbage_batch_gives_clear_error(tmp_path):
    folder = write_cifar10(tmp_path, per_batch=20, n_test=20)
    (folder / "test_batch").write_bytes(b"\x80\x02this is not a pickle at all")
    with pytest.raises(UserError, match="test_batch is corrupted"):
        load_dataset("cifar10", str(tmp_path), download=False)


def test_restricted_unpickler_refuses_code(tmp_path):
    folder = write_cifar10(tmp_path, per_batch=20, n_test=20)

    class Evil:
        def __reduce__(self):
            return (shutil.rmtree, (str(tmp_path),))

    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(UserError, match="refusing to load shutil.rmtree"):
        load_dataset("cifar10", str(tmp_path), download=False)
    assert folder.exists()


def test_official_sized_batch_with_wrong_md5_is_rejected(tmp_path):
    folder = write_cifar10(tmp_path, per_batch=20, n_test=20)
    y = np.arange(10000) % 10
    write_batch(folder / "data_batch_2", np.zeros((10000, 3072), np.uint8), y.tolist())
    with pytest.raises(UserError, match="data_batch_2 fails its md5 check"):
        load_dataset("cifar10", str(tmp_path), download=False)


def test_missing_cifar_offline_names_both_ways_out(tmp_path):
    with pytest.raises(UserError) as err:
        load_dataset("cifar10", str(tmp_path / "nowhere"), download=True)
    msg = str(err.value)
    assert "--data-dir" in msg and "cifar-10-python.tar.gz" in msg and "nowhere" in msg
    assert "\n" not in msg


def test_fashion_mnist_real_files(needs_fashion):
    ds = load_dataset("fashion-mnist", str(needs_fashion), train_limit=1000, test_limit=500)
    assert ds.train.x.shape == (1000, 28, 28, 1) and ds.test.x.shape == (500, 28, 28, 1)
    assert ds.class_names[9] == "Ankle boot"
    assert np.bincount(ds.train.y).tolist() == [100] * 10  # stratified


def test_val_split_is_a_stratified_partition(cifar10_dir):
    ds = load_dataset("cifar10", str(cifar10_dir), val_split=50, download=False)
    assert len(ds.train) == 200 and len(ds.val) == 50
    assert np.bincount(ds.val.y, minlength=10).tolist() == [5] * 10
    with pytest.raises(UserError, match="leaves no training images"):
        load_dataset("cifar10", str(cifar10_dir), val_split=250, download=False)


def test_stratified_indices_handle_remainders():
    labels = np.array([0] * 7 + [1] * 3)
    picked = stratified_indices(labels, 5, np.random.default_rng(0))
    assert len(picked) == 5 and len(set(picked)) == 5
    assert sorted(np.bincount(labels[picked]).tolist()) == [1, 4] or np.bincount(labels[picked]).tolist() == [4, 1]


def test_synthetic_is_deterministic_and_balanced():
    a = load_dataset("synthetic", seed=0)
    b = load_dataset("synthetic", seed=0)
    assert np.array_equal(a.train.x, b.train.x) and a.train.x.shape == (5000, 32, 32, 3)
    assert np.bincount(a.train.y).tolist() == [500] * 10


@pytest.mark.parametrize("data, expected", [
    (np.full((20, 3072), 0.5), "image data as float64 array, not the uint8"),  # scaled to [0, 1]: all zeros as uint8
    (np.full((20, 3072), 300, np.int32), "image data as int32 array"),  # would wrap modulo 256
    ([[0] * 3072] * 20, "image data as list"),
    (np.zeros((20, 32, 32, 3), np.uint8), "shape (20, 32, 32, 3), not N x 3072"),
    (np.zeros((20, 1024), np.uint8), "shape (20, 1024)"),
])
def test_batch_with_wrong_image_data_is_refused_naming_the_file(tmp_path, data, expected):
    folder = write_cifar10(tmp_path, per_batch=20, n_test=20)
    write_batch(folder / "data_batch_4", data, (np.arange(20) % 10).tolist())
    with pytest.raises(UserError, match="data_batch_4") as err:
        load_dataset("cifar10", str(tmp_path), download=False)
    assert expected in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("labels, expected", [
    ([0.5] * 20, "not a list of whole numbers"),  # would be truncated into class 0
    ([[1, 2]] * 20, "not a list of whole numbers"),
    ([12] * 20, "fall outside 0..9"),
])
def test_batch_with_wrong_labels_is_refused_naming_the_file(tmp_path, labels, expected):
    folder = write_cifar10(tmp_path, per_batch=20, n_test=20)
    write_batch(folder / "test_batch", np.zeros((20, 3072), np.uint8), labels)
    with pytest.raises(UserError, match="test_batch") as err:
        load_dataset("cifar10", str(tmp_path), download=False)
    assert expected in str(err.value)


def test_float_cifar_batch_through_the_cli_is_one_line_exit_2(tmp_path):
    folder = write_cifar10(tmp_path / "data", per_batch=20, n_test=20)
    write_batch(folder / "data_batch_1", np.random.default_rng(0).random((20, 3072)), (np.arange(20) % 10).tolist())
    runs = tmp_path / "runs"
    out = cli("--no-ui", "--dataset", "cifar10", "--data-dir", tmp_path / "data", "--no-download", "--epochs", "1",
              "--val-split", "10", "--runs-dir", runs)
    assert out.returncode == 2, out.stdout + out.stderr
    [line] = out.stderr.strip().splitlines()
    assert "data_batch_1" in line and "float64" in line and "Traceback" not in out.stderr
    assert not runs.exists() or not any(runs.iterdir())


def test_a_new_dataset_is_one_registry_entry(monkeypatch, tmp_path):
    """A dataset in a format we read needs its DatasetSpec and nothing else: no reader, no branch."""
    import dataclasses
    from pathlib import Path

    from engine.data import registry
    from engine.data.load import load_dataset

    fashion = registry.DATASETS["fashion-mnist"]
    if not fashion.system_dir or not Path(fashion.system_dir).is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist for idx files")
    folder = tmp_path / "copy"
    shutil.copytree(fashion.system_dir, folder)
    spec = dataclasses.replace(fashion, name="fashion-copy", system_dir=None, class_names=tuple("abcdefghij"))
    monkeypatch.setitem(registry.DATASETS, "fashion-copy", spec)
    data = load_dataset("fashion-copy", str(folder), train_limit=100, test_limit=50, val_split=0)
    assert (data.class_names, len(data.train), len(data.test)) == (list("abcdefghij"), 100, 50)
