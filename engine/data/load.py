"""Datasets as uint8 tensors (N, H, W, C) with int64 labels.

Every dataset is read whole into memory once and later moved to the training
device once: the fastest CIFAR trainers index batches on the GPU instead of
running a per-sample DataLoader. CIFAR is ~180 MB as uint8, so this is cheap.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.config import DATASETS, RunConfig, UserError, default_val_split
from engine.events import no_progress
from engine.data.readers import find_cifar, read_cifar, read_idx_dataset
from engine.data.registry import DatasetSpec, default_data_dir, spec as dataset_spec
from engine.data.synthetic import SYNTHETIC_LABELS, make_synthetic

STATS_BLOCK = 4096
"""Images per block when the training set's mean and std are counted (a few MB at 32 px)."""

Emit = Callable[[Any], None]
"""Hears PhaseProgress while a reader works (engine.events)."""
Arrays = tuple[Any, Any]
Read = tuple[Arrays, Arrays, list[str]]

@dataclass
class Split:
    """Images (N, H, W, C) uint8 and labels (N,) int64, numpy or torch."""

    x: Any
    """numpy uint8 (N, H, W, C) when read; a torch tensor once moved to the device."""
    y: Any

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class Dataset:
    """A loaded dataset with its splits and per-channel statistics."""

    name: str
    class_names: list[str]
    train: Split
    test: Split
    val: Split | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return int(self.train.x.shape[-1])

    @property
    def image_size(self) -> int:
        return int(self.train.x.shape[1])

    def mean_std(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training images, in [0, 1] units.

        From a histogram of the 256 pixel values, filled a block of images at a time: exact, and
        it never holds a float copy of the set (CIFAR-10's float64 copy alone was 1.2 GB, and
        std's temporaries doubled it: the peak of a whole run)."""
        x, channels = self.train.x, self.channels
        hist = np.zeros((channels, 256), np.int64)
        for start in range(0, len(x), STATS_BLOCK):
            block = np.asarray(x[start:start + STATS_BLOCK]).reshape(-1, channels)
            for c in range(channels):
                hist[c] += np.bincount(block[:, c], minlength=256)
        values = np.arange(256) / 255.0
        n = hist.sum(axis=1)
        mean = hist @ values / n
        std = np.sqrt(np.maximum(hist @ values**2 / n - mean**2, 0.0))
        return [float(m) for m in mean], [float(max(s, 1e-3)) for s in std]


def load_dataset(
    name: str,
    data_dir: str | None = None,
    *,
    download: bool = True,
    train_limit: int | None = None,
    test_limit: int | None = None,
    val_split: int | None = 0,
    seed: int = 0,
    folder_size: int = 32,
    emit: Emit = no_progress,
) -> Dataset:
    """Read a dataset, then take stratified subsets and the validation split (None: the default size)."""
    spec = dataset_spec(name)
    if spec is None:
        raise UserError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    root = Path(data_dir or default_data_dir(name)).expanduser()
    train, test, labels = READERS[spec.format](spec, root, download, folder_size, emit)
    ds = Dataset(name, labels, Split(*train), Split(*test))
    if val_split is None:
        val_split = default_val_split(len(ds.train))
    return _subset_and_split(ds, train_limit, test_limit, val_split, seed)


def _read_cifar(spec: DatasetSpec, root: Path, download: bool, folder_size: int, emit: Emit) -> Read:
    folder = find_cifar(root, spec.name, download=download)
    return read_cifar(folder, spec.name)


def _read_idx(spec: DatasetSpec, root: Path, download: bool, folder_size: int, emit: Emit) -> Read:
    train, test = read_idx_dataset(root, spec.name, spec.install_hint)
    return train, test, list(spec.class_names)


def _read_folder(spec: DatasetSpec, root: Path, download: bool, folder_size: int, emit: Emit) -> Read:
    from engine.data.folder import read_folder  # PIL and a thread pool: only for folder datasets

    return read_folder(root, folder_size, emit)


def _generate(spec: DatasetSpec, root: Path, download: bool, folder_size: int, emit: Emit) -> Read:
    train = make_synthetic(spec.train_images or 5_000, seed=1234)
    test = make_synthetic(spec.test_images or 1_000, seed=4321)
    return train, test, list(SYNTHETIC_LABELS)


READERS: dict[str, Callable[[DatasetSpec, Path, bool, int, Emit], Read]] = {
    "cifar-python": _read_cifar, "idx": _read_idx, "folder": _read_folder, "generated": _generate,
}
"""DatasetSpec.format -> reader(spec, root, download, folder_size, emit) -> (train, test, class names)."""


def load_config_dataset(config: RunConfig, *, test_limit: int | None = None, emit: Emit = no_progress) -> Dataset:
    """The dataset exactly as a run sees it: its limits, validation split, seed and folder size.

    ``test_limit`` may take fewer test images than the run did (never more).
    """
    limits = [n for n in (test_limit, config.test_limit) if n]
    return load_dataset(
        config.dataset, config.data_dir, download=config.download, train_limit=config.train_limit,
        test_limit=min(limits) if limits else None, val_split=config.val_split, seed=config.seed,
        folder_size=config.folder_size, emit=emit,
    )


def limit_notes(config: RunConfig, data: Dataset) -> list[str]:
    """What --train-limit did that a user would not guess: a limit above what there is, full val/test."""
    notes = []
    if config.train_limit and config.train_limit > len(data.train):
        notes.append(f"--train-limit {config.train_limit:,} exceeds the {len(data.train):,} training images "
                     f"{config.dataset} has (after the validation split): training on all of them")
    if config.train_limit and not config.test_limit:
        held = f"{len(data.val):,} validation and " if data.val is not None else ""
        notes.append(f"--train-limit shortens training only: {held}{len(data.test):,} test images are still "
                     "evaluated every epoch (add --test-limit N to shorten that too)")
    return notes


def _subset_and_split(
    ds: Dataset, train_limit: int | None, test_limit: int | None, val_split: int, seed: int
) -> Dataset:
    rng = np.random.default_rng(seed)
    n_train = len(ds.train)
    if val_split:
        if val_split >= n_train:
            raise UserError(
                f"--val-split {val_split} leaves no training images "
                f"({ds.name} has {n_train}); use a smaller --val-split"
            )
        rest, val = stratified_indices(ds.train.y, val_split, rng, return_rest=True)
        ds.val = Split(ds.train.x[val], ds.train.y[val])
        ds.train = Split(ds.train.x[rest], ds.train.y[rest])
    if train_limit is not None and train_limit < len(ds.train):
        keep = stratified_indices(ds.train.y, train_limit, rng)
        ds.train = Split(ds.train.x[keep], ds.train.y[keep])
    if test_limit is not None and test_limit < len(ds.test):
        keep = stratified_indices(ds.test.y, test_limit, rng)
        ds.test = Split(ds.test.x[keep], ds.test.y[keep])
    return ds


def stratified_indices(
    labels: np.ndarray, n: int, rng: np.random.Generator, *, return_rest: bool = False
):
    """Pick n indices with class proportions kept (largest-remainder rounding).

    With return_rest, returns (rest, picked) so a split is a partition.
    """
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * n / counts.sum()
    take = np.floor(quota).astype(int)
    # Hand out the rounding remainder to the classes that lost the most.
    for i in np.argsort(-(quota - take))[: n - take.sum()]:
        take[i] += 1
    picked = []
    for cls, k in zip(classes, take):
        idx = np.flatnonzero(labels == cls)
        picked.append(rng.permutation(idx)[:k])
    chosen = np.sort(np.concatenate(picked))
    if not return_rest:
        return chosen
    mask = np.ones(len(labels), dtype=bool)
    mask[chosen] = False
    return np.flatnonzero(mask), chosen
