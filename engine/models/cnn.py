"""A small CNN with BatchNorm (the quick default for demos and tests), and the blocks the
other plain CNNs (smallcnn, cnn-bn-dropout, vgg-style) are built from."""
from __future__ import annotations

import torch
import torch.nn as nn

from engine.models.spec import ModelSpec, register


def conv_bn(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv (no bias: BN follows) -> BN -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SmallCNN(nn.Module):
    """[conv-BN-ReLU x2 -> pool] per width, global average pool, optional dropout, linear head."""

    def __init__(self, in_channels: int, num_classes: int, widths=(32, 64, 128), dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for w in widths:
            layers += [conv_bn(cin, w), conv_bn(w, w), nn.MaxPool2d(2)]
            cin = w
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ConvDense(nn.Module):
    """Conv features (built by the subclass), flatten -> dense 256 -> ReLU -> Dropout(0.5) -> classes.

    The Keras-era layout of study 004's CNN stages; ``features`` must end at
    ``channels`` maps of ``side`` x ``side``.
    """

    def __init__(self, features: nn.Sequential, channels: int, side: int, num_classes: int):
        super().__init__()
        self.features = features
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * side * side, 256), nn.ReLU(inplace=True), nn.Dropout(0.5)
        )
        self.head = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.classifier(self.features(x)))


register(ModelSpec(
    name="cnn",
    family="cnn",
    description="small CNN with BatchNorm, 3 stages 32-64-128 (~0.29M params)",
    build=lambda nc, ch, size: SmallCNN(ch, nc),
))
