"""Batched augmentation on the training device.

Whole batches are transformed with tensor ops (no per-sample PIL work), on
whatever device holds the data. Every random draw takes an explicit
torch.Generator so a seeded run is repeatable.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(x: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Zero-pad (N, H, W, C) images by `pad` and cut each back at a random offset.

    Works on uint8 NHWC before conversion: a gather of indices, no float copy.
    """
    if pad <= 0:
        return x
    n, h, w, _ = x.shape
    padded = F.pad(x, (0, 0, pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (n,), device=x.device, generator=gen)
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, :, None]
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded[batch, rows, cols]


def random_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror half of the (N, H, W, C) images left-right."""
    flip = torch.rand(x.shape[0], device=x.device, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(2), x)


def alternating_flip(x: torch.Tensor, flip_first: torch.Tensor, epoch: int) -> torch.Tensor:
    """Mirror the (N, H, W, C) images whose ``flip_first`` is set on odd epochs, the others on even ones.

    Over any two epochs each image is seen once each way, where coin tosses leave a
    quarter of them unmirrored (or mirrored) twice in a row: the same augmentation,
    less redundancy (Jordan, "94% on CIFAR-10 in 3.29 seconds", 2024). 1-based epochs.
    """
    flip = flip_first if epoch % 2 == 1 else ~flip_first
    return torch.where(flip[:, None, None, None], x.flip(2), x)


def flip_first_epoch(idx: torch.Tensor, seed: int) -> torch.Tensor:
    """Whether each training image (by dataset index) is mirrored on the first epoch: a fixed random half.

    A hash of (index, seed) rather than a generator's draw: nothing to store in a
    checkpoint, and the same answer on every rank and after every resume.
    """
    h = (idx.long() + 1) * 0x9E3779B1 + seed * 0x85EBCA77
    h = (h ^ (h >> 15)) * 0x2C1B3C6D
    return ((h ^ (h >> 12)) & 0x10000) != 0


def cutout(x: torch.Tensor, size: int, gen: torch.Generator, fill: torch.Tensor | None = None) -> torch.Tensor:
    """Set a size x size square at a random centre of each (N, C, H, W) image to ``fill`` (per channel; 0 if None)."""
    if size <= 0:
        return x
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n, 1, 1), device=x.device, generator=gen)
    cx = torch.randint(0, w, (n, 1, 1), device=x.device, generator=gen)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy).abs() <= size // 2) & ((xs - cx).abs() <= size // 2)
    if size % 2 == 0:  # an even square: trim the far edge so it is exactly size wide
        inside &= (ys - cy < size // 2) & (xs - cx < size // 2)
    if fill is None:
        return x * (~inside)[:, None].to(x.dtype)
    return torch.where(inside[:, None], fill.to(x.dtype), x)


def mixup(
    x: torch.Tensor, y: torch.Tensor, alpha: float, num_classes: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each image with a shuffled partner; targets become soft (N, classes).

    One lambda per batch (Zhang et al.), drawn from Beta(alpha, alpha) with the
    batch's generator so runs stay repeatable.
    """
    onehot = F.one_hot(y, num_classes).to(x.dtype)
    if alpha <= 0:
        return x, onehot
    # Beta(a, a) as G1 / (G1 + G2) from Gammas: stays on the device, no sync.
    g = torch._standard_gamma(torch.full((2,), float(alpha), device=x.device), generator=gen)
    lam = (g[0] / g.sum()).to(x.dtype)
    perm = torch.randperm(x.shape[0], device=x.device, generator=gen)
    return lam * x + (1 - lam) * x[perm], lam * onehot + (1 - lam) * onehot[perm]


def to_float(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 NHWC -> normalised float NCHW, repeating gray to `channels` if needed."""
    x = x.permute(0, 3, 1, 2).float().div_(255)
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    return (x - mean) / std


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of an NCHW batch to size x size (no-op when already there)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=False)


def affine_sample(x: torch.Tensor, theta: torch.Tensor, mode: str, padding_mode: str) -> torch.Tensor:
    """Resample each (N, C, H, W) image through its own 2x3 matrix (normalised coordinates).

    theta maps output coordinates to input ones, as ``F.affine_grid`` expects; one
    grid_sample does the whole batch, whatever mix of transforms it holds.
    """
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=False)


def random_affine(
    x: torch.Tensor, rotate: float, translate: float, zoom: float, gen: torch.Generator
) -> torch.Tensor:
    """Random rotation (degrees), translation (fraction of side) and zoom of float NCHW images.

    Study 004's Keras layers (RandomRotation / RandomTranslation / RandomZoom)
    fill the uncovered border by reflection, so we do too: black corners would
    be a shortcut feature that test images never have.
    """
    if not (rotate or translate or zoom):
        return x
    n = x.shape[0]

    def uniform(limit: float) -> torch.Tensor:
        return (torch.rand(n, device=x.device, generator=gen) * 2 - 1) * limit

    angle = torch.deg2rad(uniform(rotate))
    # Input side seen by one output pixel: 1/scale (scale > 1 zooms in).
    inv = 1.0 / (1.0 + uniform(zoom))
    tx, ty = uniform(2 * translate), uniform(2 * translate)  # normalised coords span 2 per side
    cos, sin = torch.cos(angle) * inv, torch.sin(angle) * inv
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    return affine_sample(x, theta, "bilinear", "reflection")
