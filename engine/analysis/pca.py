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

from engine.config import UserError
from engine.models.registry import ModelSpec


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
    coords, ratio, _ = pca_basis(features, k)
    return coords, ratio


def pca_basis(features: torch.Tensor, k: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``pca`` plus the (k, D) unit principal directions (rows), so a projection can be checked or reused.

    Each direction's sign is fixed so that its largest-magnitude loading is
    positive: the same features always give the same picture, not a mirror image.
    """
    x = features.double()
    x = x - x.mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(x, full_matrices=False)
    vh = vh[:k]
    sign = torch.sign(vh.gather(1, vh.abs().argmax(1, keepdim=True)))
    vh = vh * torch.where(sign == 0, torch.ones_like(sign), sign)
    var = s**2
    ratio = var[:k] / var.sum().clamp(min=1e-12)
    return (x @ vh.T).float(), ratio.float(), vh.float()


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


def run_features(loaded: Any, rows: Any = None, batch_size: int = 256) -> torch.Tensor:
    """(N, D) features of a loaded run (engine.analysis.analyze.load_run_model) on its test images ``rows`` (None: all).

    The images go through the run's own evaluation transform. UserError when the
    features hold NaN/Inf (finite weights can still overflow; SVD would fail with a traceback).
    """
    x_all = torch.as_tensor(loaded.data.test.x if rows is None else loaded.data.test.x[rows])
    dev, pipe = loaded.device, loaded.pipeline
    batches = (pipe.eval_batch(x_all[i : i + batch_size].to(dev)) for i in range(0, len(x_all), batch_size))
    feats = extract_features(loaded.model, loaded.spec, batches)
    if not torch.isfinite(feats).all():
        raise UserError(f"run {loaded.run_id}'s features hold NaN/Inf (its weights overflow on these images); "
                        "use a run that trained without diverging")
    return feats


def subset_rows(labels: Any, limit: int | None, seed: int = 0) -> Any:
    """Indices of a stratified subset of at most ``limit`` rows (None or enough: every row, in order)."""
    import numpy as np

    from engine.data.load import stratified_indices

    labels = np.asarray(labels)
    if limit is None or limit >= len(labels):
        return np.arange(len(labels))
    return stratified_indices(labels, limit, np.random.default_rng(seed))


def run_feature_pca(run_dir: str | Path, k: int = 10, limit: int | None = 2000, device: str = "cpu",
                    batch_size: int = 256) -> FeaturePCA:
    """PCA of the features a saved run's best (else last) checkpoint computes on its test images.

    ``limit`` caps the test images used (a stratified subset of the run's own
    test split, which its ``test_limit`` already caps).
    The model is rebuilt from the run's config.json, its own checkpoint is
    loaded, and test images go through the same evaluation transform as in
    training (resize and the run's normalisation): engine.analysis.analyze.load_run_model.
    """
    from engine.analysis.loaded_run import load_run_model

    loaded = load_run_model(run_dir, device)
    feats = run_features(loaded, subset_rows(loaded.data.test.y, limit), batch_size)
    _, ratio = pca(feats, min(k, *feats.shape))
    return FeaturePCA(loaded.run_id, feature_layer(loaded.spec), feats.shape[0], feats.shape[1],
                      [float(r) for r in ratio])
