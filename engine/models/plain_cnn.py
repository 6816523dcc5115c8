"""Study 004, stage 2: the first CNN - Conv + MaxPool stages with BatchNorm, and Dropout(0.5).

The study names the ingredients (Conv2D and MaxPooling keep the 2-D structure,
BatchNorm steadies training, Dropout 50% stops the MLP's overfitting) but not
the widths; we use the usual Keras-tutorial layout of that generation:
three conv-BN-ReLU-pool stages (32-64-128) and a 256-unit dense layer.
"""
from __future__ import annotations

import torch.nn as nn

from engine.models.spec import ModelSpec, register
from engine.models.cnn import ConvDense, conv_bn


class CnnBnDropout(ConvDense):
    """[conv-BN-ReLU-pool] x 3 -> flatten -> dense 256 -> Dropout(0.5) -> classes."""

    def __init__(self, in_channels: int, num_classes: int, image_size: int, widths=(32, 64, 128)):
        layers: list[nn.Module] = []
        cin = in_channels
        for w in widths:
            layers += [conv_bn(cin, w), nn.MaxPool2d(2)]
            cin = w
        side = image_size >> len(widths)  # each pool halves (floor): 32 -> 4, 28 -> 3
        super().__init__(nn.Sequential(*layers), cin, side, num_classes)


register(ModelSpec(
    name="cnn-bn-dropout",
    family="cnn",
    description="Conv-BN-ReLU-MaxPool x3 (32-64-128), dense 256, Dropout 0.5 (study 004)",
    build=lambda nc, ch, size: CnnBnDropout(ch, nc, size),
))
