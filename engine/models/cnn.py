"""A small CNN with BatchNorm: the quick default for demos and tests."""
from __future__ import annotations

import torch.nn as nn

from . import ModelSpec, register


def conv_bn(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv (no bias: BN follows) -> BN -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SmallCNN(nn.Module):
    """Three conv-BN-pool stages (32-64-128) and a global-pool linear head."""

    def __init__(self, in_channels: int, num_classes: int, widths=(32, 64, 128)):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for w in widths:
            layers += [conv_bn(cin, w), conv_bn(w, w), nn.MaxPool2d(2)]
            cin = w
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.head(self.features(x))


register(ModelSpec(
    name="cnn",
    family="cnn",
    description="small CNN with BatchNorm, 3 stages 32-64-128 (~0.29M params)",
    build=lambda nc, ch, size: SmallCNN(ch, nc),
))
