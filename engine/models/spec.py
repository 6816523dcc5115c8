"""ModelSpec: how to build, feed and split one model, and the registration every family file calls.

A builder takes (num_classes, in_channels, image_size) and returns an
nn.Module. The spec says how the model is fed (input size, RGB only) and
which parts are the head and the backbone, so strategies can freeze,
replace and unfreeze without knowing the architecture. The families import this module;
everything else reads the filled registry from engine.models.registry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch.nn as nn

Builder = Callable[[int, int, int], nn.Module]


@dataclass(frozen=True)
class ModelSpec:
    """How to build, feed and split one registered model."""

    name: str
    build: Builder
    description: str
    input_size: int | None = None
    """Pixels the model is fed at; None: the dataset's own size (resized on the device otherwise)."""
    rgb_only: bool = False
    """Gray images are repeated to 3 channels (ImageNet-pretrained stems)."""
    head: str = "head"
    """Dotted path of the final classification layer (replaced for a new class count)."""
    backbone: tuple[str, ...] = ()
    """Parameter-name prefixes frozen under feature-extract; () means all but the head."""
    pretrained: str | None = None
    """torchvision weights enum, e.g. 'AlexNet_Weights.IMAGENET1K_V1'."""
    probe: str | None = None
    """Dotted path a linear-probe replaces with one fresh Linear on its input features; None: the head."""
    finetune_frozen: tuple[str, ...] = ()
    """two-phase: prefixes that stay frozen after the switch (early layers); (): everything unfreezes."""
    finetune_bn_eval: bool = False
    """two-phase: BatchNorm stays in inference mode after the switch (Keras fine-tuning)."""
    family: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry (names are unique)."""
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} registered twice")
    MODELS[spec.name] = spec
    return spec


def get_submodule(model: nn.Module, path: str) -> nn.Module:
    """model.a.b.0 for path 'a.b.0'."""
    return model.get_submodule(path)


def set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    """Replace the submodule at a dotted path."""
    parent_path, _, leaf = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, leaf, module)
