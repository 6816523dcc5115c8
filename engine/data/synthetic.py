"""A procedurally generated, learnable, CIFAR-shaped dataset for offline demos.

Each class is a (colour, stripe orientation) pair drawn with a random phase,
frequency jitter, brightness and noise, so a classifier has to use both colour
and spatial structure; a small CNN beats chance within one epoch.
"""
from __future__ import annotations

import numpy as np

_COLOURS = {
    "red": (0.9, 0.2, 0.2),
    "green": (0.2, 0.8, 0.3),
    "blue": (0.2, 0.3, 0.9),
    "orange": (0.9, 0.55, 0.2),
    "purple": (0.6, 0.25, 0.8),
}
_ORIENTATIONS = {"horizontal": 0.0, "diagonal": np.pi / 4}

SYNTHETIC_LABELS = tuple(f"{c}-{o}" for o in _ORIENTATIONS for c in _COLOURS)


def make_synthetic(n: int, seed: int, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, size, size, 3) uint8 and balanced labels, deterministic in seed."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(SYNTHETIC_LABELS)
    rng.shuffle(labels)
    colours = np.array(list(_COLOURS.values()))[labels % len(_COLOURS)]
    angles = np.array(list(_ORIENTATIONS.values()))[labels // len(_COLOURS)]
    angles = angles + rng.normal(0, 0.3, n)
    freq = rng.uniform(0.5, 0.9, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    proj = xx[None] * np.cos(angles)[:, None, None] + yy[None] * np.sin(angles)[:, None, None]
    stripes = 0.5 + 0.5 * np.sin(freq[:, None, None] * proj + phase[:, None, None])
    brightness = rng.uniform(0.6, 1.0, n)[:, None, None, None]
    img = stripes[..., None] * colours[:, None, None, :] * brightness
    img += rng.uniform(0.0, 0.35, (n, 1, 1, 3))  # background tint blurs the colour cue
    img += rng.normal(0, 0.25, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8), labels.astype(np.int64)
