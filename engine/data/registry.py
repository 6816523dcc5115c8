"""The dataset registry: every fact about a dataset in one place (like the model registry).

Name, what it is, its native image size and channels, how many training images
its official files hold, where it is looked for by default, whether it can be
downloaded, whether it needs a data directory. The config's choices, the
default validation split, the launcher's dataset panel and the loader all read
these facts from here.

Plain data, no numpy/torch: the command line imports it to build --help.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "CIFAR_TUI_DATA"
DEFAULT_DATA_DIR = "data"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    native_size: int | None
    """Image side in pixels as stored (None: an image folder decides, see RunConfig.folder_size)."""
    channels: int
    classes: int | None
    """Classes (None: an image folder's are known once it is read)."""
    train_images: int | None
    """Training images in the official files (None: unknown before reading)."""
    test_images: int | None = None
    """Test images in the official files (None: unknown before reading)."""
    downloadable: bool = False
    needs_data_dir: bool = False
    """No default location: --data-dir must name the folder or tarball."""
    system_dir: str | None = None
    """Where a distribution package installs it (used when present and --data-dir is not given)."""
    format: str = "folder"
    """How its files are read: a key of engine.data.load.READERS ('cifar-python', 'idx', 'folder', 'generated').
    A new dataset in a format we read is this one entry."""
    class_names: tuple[str, ...] = ()
    """Names of the classes, for formats whose files do not hold them (idx)."""
    install_hint: str = "pass --data-dir DIR"
    """How to get the files, said when they are missing."""


DATASETS: dict[str, DatasetSpec] = {s.name: s for s in (
    DatasetSpec("cifar10", "CIFAR-10: 10 classes of 32x32 colour photos", 32, 3, 10, 50_000, 10_000,
                downloadable=True, format="cifar-python"),
    DatasetSpec("cifar100", "CIFAR-100: 100 classes of 32x32 colour photos", 32, 3, 100, 50_000, 10_000,
                downloadable=True, format="cifar-python"),
    DatasetSpec("fashion-mnist", "Fashion-MNIST: 10 classes of 28x28 greyscale clothing", 28, 1, 10, 60_000, 10_000,
                system_dir="/usr/share/datasets/fashion-mnist", format="idx",
                class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
                install_hint="install it with 'apt-get install dataset-fashion-mnist' or pass --data-dir DIR"),
    DatasetSpec("synthetic", "synthetic demo data: coloured bars, generated (no files)", 32, 3, 10, 5_000, 1_000,
                format="generated"),
    DatasetSpec("folder", "an image folder or .tar.gz: train/<class>/*, test/<class>/*", None, 3, None, None,
                needs_data_dir=True, format="folder"),
)}
NAMES = tuple(DATASETS)


def spec(name: str) -> DatasetSpec | None:
    return DATASETS.get(name)


def default_data_dir(name: str) -> str:
    """Where a dataset is looked for when --data-dir is not given: its system copy, $CIFAR_TUI_DATA, ./data."""
    s = DATASETS.get(name)
    if s is not None and s.system_dir and Path(s.system_dir).is_dir():
        return s.system_dir
    return os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR


def native_size(name: str, folder_size: int = 32) -> int:
    """The side in pixels of the dataset's images as the loader gives them (a folder: its folder_size)."""
    s = DATASETS.get(name)
    return folder_size if s is None or s.native_size is None else s.native_size


def is_native(name: str, size: int, folder_size: int = 32) -> bool:
    """Whether a model's input size is the dataset's own (no resize on the device)."""
    return size == native_size(name, folder_size)
