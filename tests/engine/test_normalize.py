"""--normalize: a run's inputs standardised per channel (torchvision recipes) or pixels / 255 (Keras notebooks)."""
from __future__ import annotations

import torch

from engine.config import PRETRAINED_STRATEGIES, RunConfig
from engine.data.load import load_dataset
from engine.data.pipeline import run_pipeline
from engine.presets import PRESETS, preset_run_config


def inputs(normalize: str, strategy: str = "scratch") -> torch.Tensor:
    data = load_dataset("synthetic", val_split=0)
    config = RunConfig(dataset="synthetic", normalize=normalize, strategy=strategy, channels_last=False)
    pipe = run_pipeline(config, data, rgb_only=False, input_size=32, device=torch.device("cpu"))
    return pipe.eval_batch(torch.as_tensor(data.train.x[:512])).float()


def test_unit_is_pixels_over_255_and_standardize_centres_each_channel() -> None:
    unit = inputs("unit")
    assert 0.0 <= unit.min() and unit.max() <= 1.0 and unit.max() > 0.5
    standard = inputs("standardize")
    assert standard.mean(dim=(0, 2, 3)).abs().max() < 0.1 and standard.min() < -0.5
    raw = inputs("raw")  # the pixels' own 0-255 values, as the uint8 images hold them
    data = load_dataset("synthetic", val_split=0)
    expected = torch.as_tensor(data.train.x[:512]).permute(0, 3, 1, 2).float()
    assert torch.allclose(raw, expected, atol=1e-3) and torch.allclose(raw / 255, unit, atol=1e-6)
    signed = inputs("signed")  # Normalize(0.5, 0.5) on pixels / 255: [-1, 1], as PyTorch's CIFAR-10 tutorial has it
    assert torch.allclose(signed, unit * 2 - 1, atol=1e-6) and signed.min() < -0.5


def test_study_004_presets_feed_unit_inputs_and_say_it_is_assumed() -> None:
    for name, preset in PRESETS.items():
        if preset.study == "004":
            assert preset_run_config(name).normalize == "unit"
            # A pretrained strategy always feeds ImageNet's statistics: --normalize is not a choice it makes.
            pretrained = preset.overrides["strategy"] in PRETRAINED_STRATEGIES
            assert ("normalize" in preset.assumed) is not pretrained
        elif preset.study in ("002", "003"):  # their notebooks standardise with the data's mean and std
            assert preset_run_config(name).normalize == "standardize"
