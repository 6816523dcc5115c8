"""torchvision ImageNet architectures, fed upsampled CIFAR images.

They are built with torchvision's 1000-class head so ImageNet weights load
as published; strategies then swap the head for the dataset's classes.
"""
from __future__ import annotations

import torch.nn as nn

from . import ModelSpec, register


def _alexnet(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    from torchvision.models import alexnet

    return alexnet(weights=None, num_classes=num_classes)


register(ModelSpec(
    name="alexnet",
    family="alexnet",
    description="torchvision AlexNet at 224 px (study 000), 57.0M params with 10 classes",
    build=_alexnet,
    input_size=224,
    rgb_only=True,
    head="classifier.6",
    backbone=("features.",),
    pretrained="AlexNet_Weights.IMAGENET1K_V1",
))
