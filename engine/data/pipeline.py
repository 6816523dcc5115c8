"""Turns uint8 batches on the device into model inputs (and soft targets).

Order matters for speed: crop and flip run on uint8 at the dataset's native
size; only then is the batch converted to float, resized to the model's input
size (224 for AlexNet is ~50x the pixels) and normalised.
"""
from __future__ import annotations

import torch

from engine.data import augment
from engine.device.accel import memory_format as accel_memory_format
from engine.config import RunConfig, input_scaling

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
FIXED = {"unit": (0.0, 1.0), "raw": (0.0, 1 / 255), "signed": (0.5, 0.5)}
"""--normalize choices that need no statistics -> the (mean, std) to_float applies to pixels / 255:
[0, 1]; back to 0-255; [-1, 1] (Normalize(0.5, 0.5), as PyTorch's CIFAR-10 tutorial writes it)."""


class Pipeline:
    """Per-run batch transform: augmentation for training, plain for evaluation."""

    def __init__(
        self,
        config: RunConfig,
        *,
        mean: list[float],
        std: list[float],
        channels: int,
        native_size: int,
        input_size: int,
        num_classes: int,
        device: torch.device,
    ):
        self.c = config
        self.channels = channels
        self.input_size = input_size
        self.num_classes = num_classes
        if len(mean) != channels:  # gray data fed to an RGB model: repeat its statistics
            mean, std = mean * channels, std * channels
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)
        # 4 px of padding at 32 px (the CIFAR standard), scaled for other sizes.
        self.pad = (config.crop_padding or max(1, round(native_size / 8))) if config.crop else 0
        self.memory_format = accel_memory_format(config, device)
        self.randaugment = None
        if config.randaugment:
            from engine.data.randaugment import RandAugment

            self.randaugment = RandAugment(config.randaugment, config.randaugment_magnitude)

    def train_batch(
        self, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator, *,
        idx: torch.Tensor | None = None, epoch: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Augmented, normalised input and the target (class ids, or soft targets under MixUp).

        ``idx`` (the images' dataset indices) and ``epoch`` (1-based) decide --alternating-flip.
        """
        if self.pad:
            x = augment.random_crop(x, self.pad, gen)
        if self.c.flip and self.c.alternating_flip:
            assert idx is not None, "alternating flip needs the images' dataset indices"
            x = augment.alternating_flip(x, augment.flip_first_epoch(idx, self.c.seed), epoch)
        elif self.c.flip:
            x = augment.random_flip(x, gen)
        if self.randaugment is not None:
            x = self.randaugment(x, gen)
        out = augment.to_float(x, self.mean, self.std, self.channels)
        # At native size, before the resize: 25x fewer pixels to resample at 160 px.
        out = augment.random_affine(out, self.c.rotate, self.c.translate, self.c.zoom, gen)
        if self.c.cutout:
            # Black, as study 003 masks it (ToTensor, Cutout, then Normalize): in normalised units
            # that is -mean/std per channel, not 0 (which would be the mean colour).
            out = augment.cutout(out, self.c.cutout, gen, fill=-self.mean / self.std)
        out = augment.resize(out, self.input_size)
        target: torch.Tensor = y
        if self.c.mixup > 0:
            out, target = augment.mixup(out, y, self.c.mixup, self.num_classes, gen)
        return out.contiguous(memory_format=self.memory_format), target

    def eval_batch(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised, resized input with no randomness."""
        out = augment.resize(augment.to_float(x, self.mean, self.std, self.channels), self.input_size)
        return out.contiguous(memory_format=self.memory_format)


def run_pipeline(config: RunConfig, data, *, rgb_only: bool, input_size: int, device: torch.device) -> Pipeline:
    """A run's transform, as training, analysis and the sample grid all build it: the dataset's own
    statistics, or ImageNet's for the pretrained strategies (pretrained features expect them)."""
    scaling = input_scaling(config.strategy, config.normalize)
    if scaling == "imagenet":
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    elif scaling in FIXED:
        mean, std = [FIXED[scaling][0]] * data.channels, [FIXED[scaling][1]] * data.channels
    else:
        mean, std = data.mean_std()
    return Pipeline(config, mean=mean, std=std, channels=3 if rgb_only else data.channels,
                    native_size=data.image_size, input_size=input_size, num_classes=data.num_classes, device=device)
