"""The real Fashion-MNIST (Debian's dataset-fashion-mnist): the small CNN learns it on the CPU."""
from __future__ import annotations

import pytest

from engine.config import RunConfig
from engine.training.loop import train

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


def test_cnn_reaches_80_percent_on_full_fashion_test_set(needs_fashion, runs_dir):
    # One epoch over a 10k stratified subset; random crops only slow a 1-epoch run down. A one-epoch run
    # selects nothing, so no validation split: the subset is drawn from all 60k training images.
    config = RunConfig(dataset="fashion-mnist", data_dir=str(needs_fashion), model="cnn", epochs=1,
                       train_limit=10_000, crop=False, runs_dir=str(runs_dir), checkpoints=False, val_split=0)
    result = train(config)
    assert result.status == "completed", result.error
    assert result.summary["n_test"] == 10_000
    assert result.summary["test_acc"] >= 0.80, result.summary["test_acc"]
