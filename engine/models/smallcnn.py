"""Study 003's SmallCNN: a light from-scratch CNN trained at 32 px with AMP (83.59%).

The study gives no layer list, only its role: 5-8x faster than ImageNet
transfer at 224 px. We use three conv-BN-ReLU x2 stages (64-128-256) with
max-pools and a global-average-pool head: wide enough for the low 80s on
CIFAR-10, small enough (~1.1M params) to be fast.
"""
from __future__ import annotations

from engine.models.spec import ModelSpec, register
from engine.models.cnn import SmallCNN


def small_cnn_003(in_channels: int, num_classes: int) -> SmallCNN:
    """[conv-BN-ReLU x2 -> pool] x 3 (64-128-256) -> global avg pool -> Dropout(0.3) -> classes."""
    return SmallCNN(in_channels, num_classes, widths=(64, 128, 256), dropout=0.3)


register(ModelSpec(
    name="smallcnn",
    family="cnn",
    description="study 003's SmallCNN: conv x2 stages 64-128-256, GAP head (~1.1M params)",
    build=lambda nc, ch, size: small_cnn_003(ch, nc),
))
