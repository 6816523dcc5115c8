"""Multi-layer perceptrons (study 004's baseline: flattening loses the 2-D structure)."""
from __future__ import annotations

import torch.nn as nn

from engine.models.spec import ModelSpec, register


class MLP(nn.Module):
    """Flatten -> [Linear -> ReLU -> Dropout]* -> Linear, Xavier-initialised."""

    def __init__(self, in_features: int, hidden: tuple[int, ...], num_classes: int, dropout: float):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = h
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                # Study 004: Xavier keeps activations' scale through the ReLU stack.
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.head(self.features(x))


# Study 004, stage 1: the baseline MLP and a deeper, wider one (~2.3M params) that
# memorises the training set and tests *worse* (46.19% -> 42.89%). No dropout in
# the deep one: the study's point is what unregularised capacity does.
DEEP_WIDE_HIDDEN = (512, 512, 512, 256, 128)  # 2,264,202 params at 3x32x32, 10 classes


register(ModelSpec(
    name="mlp",
    family="mlp",
    description="MLP 512-256 with Xavier init (study 004 baseline)",
    build=lambda nc, ch, size: MLP(ch * size * size, (512, 256), nc, 0.2),
))

register(ModelSpec(
    name="mlp-deep-wide",
    family="mlp",
    description="MLP 512-512-512-256-128, Xavier, no dropout: ~2.3M params (study 004)",
    build=lambda nc, ch, size: MLP(ch * size * size, DEEP_WIDE_HIDDEN, nc, 0.0),
))
