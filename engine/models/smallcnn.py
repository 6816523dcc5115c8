"""Study 003's SmallCNN: a light from-scratch CNN trained at 32 px with AMP (83.59%).

The study gives no layer list, only its role: 5-8x faster than ImageNet
transfer at 224 px. We use three conv-BN-ReLU x2 stages (64-128-256) with
max-pools and a global-average-pool head: wide enough for the low 80s on
CIFAR-10, small enough (~1.1M params) to be fast.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from . import ModelSpec, register
from .cnn import conv_bn


class SmallCNN003(nn.Module):
    """[conv-BN-ReLU x2 -> pool] x 3 (64-128-256) -> global avg pool -> Dropout(0.3) -> classes."""

    def __init__(self, in_channels: int, num_classes: int, widths=(64, 128, 256)):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for w in widths:
            layers += [conv_bn(cin, w), conv_bn(w, w), nn.MaxPool2d(2)]
            cin = w
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


register(ModelSpec(
    name="smallcnn",
    family="cnn",
    description="study 003's SmallCNN: conv x2 stages 64-128-256, GAP head (~1.1M params)",
    build=lambda nc, ch, size: SmallCNN003(ch, nc),
))
