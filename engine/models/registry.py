"""The model registry, filled: name -> ModelSpec for every family (one file per family registers its models).

Import the registry from here, never from a family: importing this module is what imports every
family file, so MODELS is complete wherever it is read.
"""
from __future__ import annotations

# Importing the family modules fills the registry.
from engine.models import mlp, cnn, resnet_cifar, torchvision_models  # noqa: F401
from engine.models import alexnet_cifar, plain_cnn, vgg, smallcnn, fast  # noqa: F401
from engine.config import ConfigError
from engine.models.spec import MODELS, Builder, ModelSpec, get_submodule, register, set_submodule

__all__ = ["MODELS", "Builder", "ModelSpec", "check_model", "get_spec", "get_submodule", "register", "set_submodule"]


def get_spec(name: str) -> ModelSpec:
    """The spec for a model name (the config validated it already)."""
    return MODELS[name]


def check_model(name: str) -> None:
    """ConfigError naming the choices when no family registered the model (RunConfig.validate cannot ask:
    the config sits below the registry, which imports torch)."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
