"""Study 004, stage 3: a VGG-style network - Conv-Conv-Pool blocks, deeper than stage 2.

Two 3x3 convs per block see a 5x5 field with fewer weights and one more
non-linearity than a single 5x5 conv (Simonyan & Zisserman). BatchNorm and a
little dropout per block keep it trainable with Adam; the study pairs it with
flip / rotation / zoom augmentation (76.33%).
"""
from __future__ import annotations

import torch.nn as nn

from engine.models.spec import ModelSpec, register
from engine.models.cnn import ConvDense, conv_bn


class VggStyle(ConvDense):
    """[conv-BN-ReLU x2 -> pool -> dropout] x 3 (32-64-128) -> dense 256 -> Dropout(0.5) -> classes."""

    def __init__(self, in_channels: int, num_classes: int, image_size: int, widths=(32, 64, 128)):
        layers: list[nn.Module] = []
        cin = in_channels
        for i, w in enumerate(widths):
            # Dropout grows with depth (0.2, 0.3, 0.4): deeper maps overfit more.
            layers += [conv_bn(cin, w), conv_bn(w, w), nn.MaxPool2d(2), nn.Dropout(0.2 + 0.1 * i)]
            cin = w
        super().__init__(nn.Sequential(*layers), cin, image_size >> len(widths), num_classes)


register(ModelSpec(
    name="vgg-style",
    family="vgg",
    description="VGG-style Conv-Conv-Pool x3 (32-64-128) with BN, dense 256 (study 004)",
    build=lambda nc, ch, size: VggStyle(ch, nc, size),
))
