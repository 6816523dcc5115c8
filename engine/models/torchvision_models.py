"""torchvision ImageNet architectures, fed upsampled CIFAR images.

They are built with torchvision's 1000-class head so ImageNet weights load
as published; strategies then swap the head for the dataset's classes.
"""
from __future__ import annotations

import torch.nn as nn

from typing import Callable

from engine.models.spec import ModelSpec, register


def _plain(arch: str) -> Callable[[int, int, int], nn.Module]:
    """A builder for a torchvision model used as published (torchvision imported on first build)."""
    def build(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        import torchvision.models

        return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)

    return build


register(ModelSpec(
    name="alexnet",
    family="alexnet",
    description="torchvision AlexNet at 224 px (study 000), 57.0M params with 10 classes",
    build=_plain("alexnet"),
    input_size=224,
    rgb_only=True,
    head="classifier.6",
    backbone=("features.",),
    pretrained="AlexNet_Weights.IMAGENET1K_V1",
))


register(ModelSpec(
    name="resnet18",
    family="resnet",
    description="torchvision ResNet18, ImageNet stem (7x7/2 + max-pool), at 224 px (study 003 transfer)",
    build=_plain("resnet18"),
    input_size=224,
    rgb_only=True,
    head="fc",
    pretrained="ResNet18_Weights.IMAGENET1K_V1",
))


# Study 004 puts GAP -> Dense(128) -> Dropout -> Dense(10) on a frozen MobileNetV2
# ("about 160k trainable parameters": 1280*128+128 + 128*10+10 = 165,258).
# Index 0 keeps torchvision's Dropout(0.2) and index 1 stays a Linear, so the
# published 1000-class classifier.1 is recognised as a head of another shape
# and skipped, instead of being an unexpected key.
MOBILENET_HIDDEN = 128


def _mobilenet_v2(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    from torchvision.models import mobilenet_v2

    model = mobilenet_v2(weights=None)
    model.classifier = nn.Sequential(
        nn.Dropout(0.2),
        nn.Linear(model.last_channel, MOBILENET_HIDDEN),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(MOBILENET_HIDDEN, num_classes),
    )
    return model


register(ModelSpec(
    name="mobilenet_v2",
    family="mobilenet",
    description="torchvision MobileNetV2 at 96 px with a 128-unit head (study 004), 2.4M params",
    build=_mobilenet_v2,
    input_size=96,
    rgb_only=True,
    head="classifier",
    backbone=("features.",),
    pretrained="MobileNet_V2_Weights.IMAGENET1K_V1",
    # Study 004 fine-tunes "the deep layers" the Keras way (fine_tune_at = layer 100 of 154, about
    # block 11 = torchvision features.12) with BatchNorm kept in inference mode.
    finetune_frozen=tuple(f"features.{i}." for i in range(12)),
    finetune_bn_eval=True,
))


# Study 004 used Keras' ResNet50V2 (pre-activation); torchvision has no V2, so
# this is the nearest published ImageNet ResNet50 (~23.5M backbone params, as the study says).
register(ModelSpec(
    name="resnet50",
    family="resnet",
    description="torchvision ResNet50 at 160 px (study 004's ResNet50V2 stand-in), 23.5M params",
    build=_plain("resnet50"),
    input_size=160,
    rgb_only=True,
    head="fc",
    pretrained="ResNet50_Weights.IMAGENET1K_V2",
))
