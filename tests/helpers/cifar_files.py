"""Write datasets in the exact on-disk CIFAR python format (for tests and benchmarks).

The official files are Python 2 pickles (protocol 2) of dicts with bytes keys:
b'batch_label', b'labels' (or b'fine_labels'/b'coarse_labels'), b'data'
(N x 3072 uint8, channel-planar) and b'filenames'.
"""
from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from engine.data.readers import CIFAR10_LABELS


def _images(n: int, rng: np.random.Generator, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Learnable images: each class has its own mean colour, plus noise."""
    base = rng.integers(40, 215, size=(n_classes, 3))
    img = base[labels][:, :, None, None] + rng.normal(0, 30, size=(n, 3, 32, 32))
    return np.clip(img, 0, 255).astype(np.uint8).reshape(n, 3072)


def write_batch(path: Path, data: np.ndarray, labels: list[int], label_key: bytes = b"labels") -> None:
    obj = {
        b"batch_label": b"testing batch",
        label_key: list(labels),
        b"data": data,
        b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
    }
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar10(root: Path, per_batch: int = 50, n_test: int = 100, seed: int = 0) -> Path:
    """root/cifar-10-batches-py/ with 5 train batches, a test batch and batches.meta."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        y = np.arange(per_batch) % 10
        rng.shuffle(y)
        write_batch(folder / f"data_batch_{i}", _images(per_batch, rng, y, 10), y.tolist())
    y = np.arange(n_test) % 10
    write_batch(folder / "test_batch", _images(n_test, rng, y, 10), y.tolist())
    meta = {b"num_cases_per_batch": per_batch, b"label_names": [n.encode() for n in CIFAR10_LABELS],
            b"num_vis": 3072}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return folder


def write_cifar100(root: Path, n_train: int = 500, n_test: int = 200, seed: int = 0) -> Path:
    """root/cifar-100-python/ with train, test and meta (100 fine classes)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", n_train), ("test", n_test)):
        y = np.arange(n) % 100
        write_batch(folder / name, _images(n, rng, y, 100), y.tolist(), label_key=b"fine_labels")
    meta = {b"fine_label_names": [f"class{i:02d}".encode() for i in range(100)],
            b"coarse_label_names": [f"super{i:02d}".encode() for i in range(20)]}
    with open(folder / "meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return folder


def write_tarball(folder: Path, tarball: Path) -> Path:
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return tarball
