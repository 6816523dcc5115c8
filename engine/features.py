"""Penultimate features of a model, and their PCA (study 001's feature-space analysis).

The features are whatever enters the layer a linear probe would replace (the
spec's ``probe``, else its head): for study 001's AlexNets the flattened
256 x 4 x 4 conv output, for ResNets the pooled 512/2048 vector. A forward
pre-hook reads them, so no model needs a special ``features()`` method.
Study 001 compares the share of variance the first two principal components
explain (33.9% with skips vs 43.9% without); ``pca`` returns exactly that.
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn as nn

from .models import ModelSpec


def feature_layer(spec: ModelSpec) -> str:
    """Dotted path of the module whose *input* is the feature vector."""
    return spec.probe or spec.head


@torch.no_grad()
def extract_features(model: nn.Module, spec: ModelSpec, batches: Iterable[torch.Tensor]) -> torch.Tensor:
    """(N, D) float features for model-ready input batches, in eval mode."""
    layer = model.get_submodule(feature_layer(spec))
    grabbed: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple) -> None:
        grabbed.append(args[0].detach().flatten(1).float().cpu())

    handle = layer.register_forward_pre_hook(hook)
    was_training = model.training
    model.eval()
    try:
        for x in batches:
            model(x)
    finally:
        handle.remove()
        model.train(was_training)
    return torch.cat(grabbed) if grabbed else torch.empty(0, 0)


def pca(features: torch.Tensor, k: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Project (N, D) features on their top-k principal components.

    Returns (N, k) coordinates and the (k,) fraction of total variance each
    component explains. SVD of the centred data, in float64 so the ratios are
    stable for the 4096-wide features of study 001.
    """
    x = features.double()
    x = x - x.mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(x, full_matrices=False)
    var = s**2
    ratio = var[:k] / var.sum().clamp(min=1e-12)
    return (x @ vh[:k].T).float(), ratio.float()
