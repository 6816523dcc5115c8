"""Multi-layer perceptrons (study 004's baseline: flattening loses the 2-D structure)."""
from __future__ import annotations

import torch.nn as nn

from . import ModelSpec, register


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


register(ModelSpec(
    name="mlp",
    family="mlp",
    description="MLP 512-256 with Xavier init (study 004 baseline)",
    build=lambda nc, ch, size: MLP(ch * size * size, (512, 256), nc, 0.2),
))
