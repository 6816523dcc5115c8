"""The real CIFAR-10 as JPEG files (../shared/data), read as an image-folder tarball."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.config import RunConfig
from engine.training.loop import train
from tests.helpers import ROOT

JPEG_CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not JPEG_CIFAR.exists(), reason=f"{JPEG_CIFAR} is absent (a checkout without ../shared)"),
]


def test_cnn_learns_real_cifar10_jpeg(tmp_path):
    """cnn, 2 epochs, a 10,000-image stratified train subset, scored on all 10,000 test images."""
    config = RunConfig(dataset="folder", data_dir=str(JPEG_CIFAR), model="cnn", epochs=2, train_limit=10_000,
                       val_split=1000, runs_dir=str(tmp_path))
    result = train(config)
    s = result.summary
    assert result.status == "completed" and s["n_test"] == 10_000 and s["n_train"] == 10_000
    assert s["class_names"][:3] == ["airplane", "automobile", "bird"]
    assert s["test_acc"] >= 0.45, s["test_acc"]
    print(f"\nCIFAR-10 (JPEG q75), cnn, 2 epochs on 10k: test {s['test_acc']:.4f}, val {s['val_acc']:.4f}")
    assert json.loads((Path(result.run_dir) / "config.json").read_text())["dataset"] == "folder"
