"""The model registry, filled: name -> ModelSpec for every family (one file per family registers its models).

Import the registry from here, never from a family: importing this module is what imports every
family file, so MODELS is complete wherever it is read.
"""
from __future__ import annotations

# Importing the family modules fills the registry.
from engine.models import mlp, cnn, resnet_cifar, torchvision_models  # noqa: F401
from engine.models import alexnet_cifar, plain_cnn, vgg, smallcnn, fast  # noqa: F401
import dataclasses

from engine.config import ConfigError
from engine.models.external import external_spec
from engine.models.spec import MODELS, Builder, ModelSpec, get_submodule, register, set_submodule

__all__ = ["MODELS", "Builder", "ModelSpec", "check_model", "get_spec", "get_submodule", "register", "set_submodule"]


def get_spec(name: str, head: str | None = None) -> ModelSpec:
    """The spec of a registered model, or of one named in an external form (engine.models.external):
    a torchvision name, timm/NAME, FILE.py:Name, package.module:Name. ``head``: --head, when given.

    UserError (one line) for a name in none of the forms, or user code that does not import or build.
    """
    spec = MODELS.get(name)
    if spec is not None:
        return spec if head is None else dataclasses.replace(spec, head=head)
    found = external_spec(name, head)
    if found is None:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}; or a torchvision "
                          "name (cifar-tui models --torchvision), timm/NAME, FILE.py:Name or package.module:Name")
    return found


def check_model(name: str, head: str | None = None) -> None:
    """UserError unless the model resolves (RunConfig.validate cannot ask: the config sits below the
    registry, which imports torch)."""
    get_spec(name, head)
