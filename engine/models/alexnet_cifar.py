"""AlexNet re-laid for 32x32 inputs (study 002), with an optional skip-connection variant (study 001).

Study 002's layout: five 3x3 convs 96-256-384-384-256 with 2x2 max-pools after
conv1, conv2 and conv5 (32 -> 16 -> 8 -> 4), then FC 4096-4096-classes with
Dropout(0.5) *before* each ReLU, exactly as the study's code orders them.

Study 001 compares that AlexNet with one that has skip connections (48.92% vs
55.27% after 5 SGD epochs) without printing its code; we add residual paths
around conv2..conv5, identity where the shape allows (conv4) and 1x1
projections where the width changes, so the only difference between the two
models is the skips.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from engine.models.spec import ModelSpec, register

WIDTHS = (96, 256, 384, 384, 256)
POOL_AFTER = (0, 1, 4)  # conv indices followed by a 2x2 max-pool


class AlexNetCifar(nn.Module):
    """Study 002's CIFAR AlexNet; ``skip=True`` adds study 001's residual paths."""

    def __init__(self, in_channels: int, num_classes: int, image_size: int, skip: bool = False):
        super().__init__()
        self.skip = skip
        convs, shortcuts = [], []
        cin = in_channels
        for i, width in enumerate(WIDTHS):
            convs.append(nn.Conv2d(cin, width, 3, padding=1))
            # conv1 has no skip: its input is the raw image (3 channels).
            if skip and i > 0:
                shortcuts.append(nn.Identity() if cin == width else nn.Conv2d(cin, width, 1, bias=False))
            else:
                shortcuts.append(nn.Identity())
            cin = width
        self.convs = nn.ModuleList(convs)
        self.shortcuts = nn.ModuleList(shortcuts)
        self.pool = nn.MaxPool2d(2, 2)
        side = image_size // 2 // 2 // 2  # 32 -> 4 (study 002: 256 x 4 x 4 = 4096 inputs)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(WIDTHS[-1] * side * side, 4096),
            nn.Dropout(0.5),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 4096),
            nn.Dropout(0.5),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The five conv stages: (N, 256, H/8, W/8)."""
        for i, (conv, short) in enumerate(zip(self.convs, self.shortcuts)):
            out = conv(x)
            if self.skip and i > 0:
                out = out + short(x)
            x = torch.relu(out)
            if i in POOL_AFTER:
                x = self.pool(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


register(ModelSpec(
    name="alexnet-cifar",
    family="alexnet",
    description="study 002's 32 px AlexNet: 3x3 convs 96-256-384-384-256, 3 pools, FC 4096-4096 (36.9M)",
    build=lambda nc, ch, size: AlexNetCifar(ch, nc, size),
    head="classifier.7",
    probe="classifier",
))

register(ModelSpec(
    name="alexnet-skip",
    family="alexnet",
    description="alexnet-cifar with residual skips around conv2-conv5 (study 001)",
    build=lambda nc, ch, size: AlexNetCifar(ch, nc, size, skip=True),
    head="classifier.7",
    probe="classifier",
))
