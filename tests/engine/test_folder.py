"""Image-folder datasets: folders and tarballs the test writes itself, bad input, and the cache."""
from __future__ import annotations

import os
import tarfile
import time

import numpy as np
import pytest
from PIL import Image

from engine.config import UserError
from engine.data.folder import read_folder
from tests.helpers.image_folder import CLASSES, write_folder


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_TUI_CACHE", str(tmp_path / "cache"))


def test_reads_a_folder_of_mixed_formats_and_sizes(tmp_path):
    (tx, ty), (vx, vy), classes = read_folder(write_folder(tmp_path / "data"), 32)
    assert classes == list(CLASSES)
    assert tx.shape == (12, 32, 32, 3) and tx.dtype == np.uint8 and vx.shape == (12, 32, 32, 3)
    assert list(ty) == [0] * 4 + [1] * 4 + [2] * 4
    colour_images = [i for i in range(12) if i % 4 != 2]  # the greyscale BMPs lose the colour
    assert all(int(tx[i].mean(axis=(0, 1)).argmax()) == ty[i] for i in colour_images)


def test_reads_a_tarball_with_a_top_folder_and_resizes(tmp_path):
    root = write_folder(tmp_path / "src" / "mydata", size=(40, 40))
    tarball = tmp_path / "mydata.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(root, arcname="mydata")
    (tx, ty), (vx, vy), classes = read_folder(tarball, 24)
    assert classes == list(CLASSES) and tx.shape == (12, 24, 24, 3) and len(vy) == 12


def test_second_load_hits_the_cache_and_a_changed_file_invalidates_it(tmp_path):
    root = write_folder(tmp_path / "data")
    first = read_folder(root, 32)
    cached = list((tmp_path / "cache" / "folders").iterdir())
    assert len(cached) == 1
    for p in root.rglob("*.png"):
        p.chmod(0)  # unreadable: only the cache can answer now
    try:
        second = read_folder(root, 32)
    finally:
        for p in root.rglob("*.png"):
            p.chmod(0o644)
    assert np.array_equal(first[0][0], second[0][0]) and first[2] == second[2]
    target = root / "train" / "cat" / "0.png"
    Image.fromarray(np.full((32, 32, 3), 255, np.uint8)).save(target)
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    third = read_folder(root, 32)
    assert third[0][0][0].min() == 255 and len(list((tmp_path / "cache" / "folders").iterdir())) == 2


@pytest.mark.parametrize("damage, message", [
    (lambda r: __import__("shutil").rmtree(r / "test"), "has no test/ folder"),
    (lambda r: [p.unlink() for p in (r / "train" / "dog").iterdir()], "class folder .*dog is empty"),
    (lambda r: (r / "train" / "cat" / "notes.txt").write_text("hello"), "notes.txt is not an image"),
    (lambda r: (r / "test" / "cat" / "0.png").write_bytes((r / "test" / "cat" / "0.png").read_bytes()[:80]),
     "0.png is corrupt"),
    (lambda r: (r / "test" / "dog").rename(r / "test" / "wolf"), "only in train: dog; only in test: wolf"),
])
def test_bad_folders_are_one_clear_line_and_nothing_is_cached(tmp_path, damage, message):
    root = write_folder(tmp_path / "data")
    damage(root)
    with pytest.raises(UserError, match=message):
        read_folder(root, 32)
    assert not (tmp_path / "cache" / "folders").exists() or not list((tmp_path / "cache" / "folders").iterdir())


def test_one_class_is_refused(tmp_path):
    root = tmp_path / "data"
    for split in ("train", "test"):
        (root / split / "only").mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(root / split / "only" / "a.png")
    with pytest.raises(UserError, match="at least two"):
        read_folder(root, 32)
