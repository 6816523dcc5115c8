"""Study 004, stage 2: the first CNN - Conv + MaxPool stages with BatchNorm, and Dropout(0.5).

The study names the ingredients (Conv2D and MaxPooling keep the 2-D structure,
BatchNorm steadies training, Dropout 50% stops the MLP's overfitting) but not
the widths; we use the usual Keras-tutorial layout of that generation:
three conv-BN-ReLU-pool stages (32-64-128) and a 256-unit dense layer.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from . import ModelSpec, register
from .cnn import conv_bn


class CnnBnDropout(nn.Module):
    """[conv-BN-ReLU-pool] x 3 -> flatten -> dense 256 -> Dropout(0.5) -> classes."""

    def __init__(self, in_channels: int, num_classes: int, image_size: int, widths=(32, 64, 128)):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for w in widths:
            layers += [conv_bn(cin, w), nn.MaxPool2d(2)]
            cin = w
        self.features = nn.Sequential(*layers)
        side = image_size >> len(widths)  # each pool halves (floor): 32 -> 4, 28 -> 3
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(cin * side * side, 256), nn.ReLU(inplace=True), nn.Dropout(0.5)
        )
        self.head = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.classifier(self.features(x)))


register(ModelSpec(
    name="cnn-bn-dropout",
    family="cnn",
    description="Conv-BN-ReLU-MaxPool x3 (32-64-128), dense 256, Dropout 0.5 (study 004)",
    build=lambda nc, ch, size: CnnBnDropout(ch, nc, size),
))
