"""Penultimate features of a model, and their PCA (study 001's feature-space analysis).

The features are whatever enters the layer a linear probe would replace (the
spec's ``probe``, else its head): for study 001's AlexNets the flattened
256 x 4 x 4 conv output, for ResNets the pooled 512/2048 vector. A forward
pre-hook reads them, so no model needs a special ``features()`` method.
Study 001 compares the share of variance the first two principal components
explain (33.9% with skips vs 43.9% without); ``pca`` returns exactly that.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

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


@dataclass
class FeaturePCA:
    """Explained variance of a trained run's features over (part of) its test set."""

    run_id: str
    layer: str
    n_images: int
    dim: int
    explained: list[float]
    """Fraction of the total variance each of the top components explains."""

    @property
    def cumulative(self) -> list[float]:
        out, total = [], 0.0
        for r in self.explained:
            total += r
            out.append(total)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "layer": self.layer, "n_images": self.n_images, "dim": self.dim,
                "explained": self.explained, "cumulative": self.cumulative}


def run_feature_pca(run_dir: str | Path, k: int = 10, limit: int | None = 2000, device: str = "cpu",
                    batch_size: int = 256) -> FeaturePCA:
    """PCA of the features a saved run's best (else last) checkpoint computes on its test images.

    ``limit`` caps the test images used (a stratified subset); the run's own
    ``test_limit`` caps them too.
    The model is rebuilt from the run's config.json, its own checkpoint is
    loaded, and test images go through the same evaluation transform as in
    training (resize and the run's normalisation).
    """
    from .config import RunConfig, UserError
    from .data import load_config_dataset
    from .environment import resolve_device
    from .models import get_spec
    from .pipeline import IMAGENET_MEAN, IMAGENET_STD, Pipeline
    from .runs import load_run
    from .strategies import PRETRAINED_STRATEGIES, build_model, load_matching, run_checkpoint_weights

    info = load_run(run_dir)
    if info.error:
        raise UserError(f"run {info.run_id} is unreadable ({info.error})")
    weights = run_checkpoint_weights(info.path)  # verified, finite; before the dataset is read
    config = RunConfig.from_dict(info.config).replace(download=False)
    dev = resolve_device(device)
    # The run's own data: its train subset and validation split give the normalisation it trained with,
    # and never more test images than it was tested on.
    data = load_config_dataset(config, test_limit=limit)
    spec = get_spec(config.model)
    size = config.image_size or spec.input_size or data.image_size
    model, _ = build_model(config, spec, data.num_classes, data.channels, size, load_weights=False)
    load_matching(model, weights, spec, source=f"run {info.run_id}")
    pretrained = config.strategy in PRETRAINED_STRATEGIES
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if pretrained else data.mean_std()
    pipe = Pipeline(config.replace(channels_last=False), mean=mean, std=std,
                    channels=3 if spec.rgb_only else data.channels, native_size=data.image_size,
                    input_size=size, num_classes=data.num_classes, device=dev)
    model = model.to(dev)
    x_all = torch.as_tensor(data.test.x)
    batches = (pipe.eval_batch(x_all[i : i + batch_size].to(dev)) for i in range(0, len(x_all), batch_size))
    feats = extract_features(model, spec, batches)
    if not torch.isfinite(feats).all():  # finite weights can still overflow; SVD would fail with a traceback
        raise UserError(f"run {info.run_id}'s features hold NaN/Inf (its weights overflow on these images); "
                        "use a run that trained without diverging")
    _, ratio = pca(feats, min(k, *feats.shape))
    return FeaturePCA(info.run_id, feature_layer(spec), feats.shape[0], feats.shape[1], [float(r) for r in ratio])
