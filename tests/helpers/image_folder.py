"""Image-folder datasets written as a user would lay them out: split/class/image, mixed formats and sizes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("cat", "dog", "frog")


def write_folder(root: Path, per_class: int = 4, size=(32, 32)) -> Path:
    """PNG and JPEG of odd sizes and modes, a colour per class so labels can be checked from pixels."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for k, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                colour = np.zeros((*size[::-1], 3), np.uint8)
                colour[..., k] = 200
                img = Image.fromarray(colour + rng.integers(0, 20, colour.shape, dtype=np.uint8))
                if i % 3 == 1:
                    img.resize((45, 17)).save(folder / f"{i}.jpg", quality=95)
                elif i % 3 == 2:
                    img.convert("L").save(folder / f"{i}.bmp")
                else:
                    img.save(folder / f"{i}.png")
    return root
