"""Images through a run's eyes: new images classified by its model, and training images as it sees them.

``predict_images`` reads PNG/JPEG/BMP/WebP files of any size and mode
(palette, grey, RGBA: transparency is laid over white), centre-crops them to a
square, resizes them to the dataset's native size with antialiasing (Pillow's
bilinear, as the folder dataset stores its images) and converts them to the
dataset's channels; then the run's own evaluation pipeline (resize to the
model's input, the run's normalisation) and model give the top classes. A file
that cannot be read gets an error and the others still get predictions.

``sample_grid`` shows training images after the run's real augmentation: the
engine Pipeline's ``train_batch`` (crop, flip, RandAugment, affine, Cutout,
MixUp), built at the dataset's native size so nothing is resized for display,
then de-normalised back to uint8.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import RunConfig, UserError
from engine.data.folder import IMAGE_SUFFIXES


@dataclass
class ImagePrediction:
    """One image file and what the model says it is (or why it could not be read)."""

    path: str
    image: np.ndarray | None
    """(H, W, C) uint8 as the model sees it before normalisation (square, native size, dataset channels)."""
    top: list[tuple[str, float]]
    """(class name, probability), most probable first."""
    error: str | None = None


@dataclass
class SampleGrid:
    """Training images per class, plain or augmented exactly as training augments them."""

    images: np.ndarray
    """(K, H, W, C) uint8 at the dataset's native size."""
    labels: np.ndarray
    """(K,) int64 class of each image (before MixUp)."""
    captions: list[str]
    """'cat', or under MixUp '0.62 cat + 0.38 dog' (from the soft target)."""
    class_names: list[str]
    rows: np.ndarray
    """(K,) the training-split row of each image."""


# ----------------------------------------------------------------------------- reading files

def image_files(paths: list[str]) -> list[tuple[str, str | None]]:
    """(path, error) per file to classify: files as given, folders as their image files sorted by name.

    Folders are not searched recursively; a folder without image files is one error.
    """
    out: list[tuple[str, str | None]] = []
    for given in paths:
        p = Path(given).expanduser()
        if p.is_dir():
            try:
                found = sorted(c for c in p.iterdir() if c.is_file() and c.suffix.lower() in IMAGE_SUFFIXES)
            except OSError as exc:
                out.append((given, f"cannot read {given}: {exc.strerror}"))
                continue
            if not found:
                out.append((given, f"no image files ({', '.join(IMAGE_SUFFIXES)}) in folder {given} "
                                   "(sub-folders are not searched)"))
            out += [(str(c), None) for c in found]
        elif not p.exists():
            out.append((given, f"cannot read {given}: no such file"))
        else:
            out.append((given, None))
    return out


def _what_it_is(data: bytes) -> str:
    """A few words on a file that is not an image (for the error message)."""
    if not data:
        return "empty file"
    try:
        text = data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return "unknown format"
    return "text" if text.isprintable() or all(c.isprintable() or c.isspace() for c in text) else "unknown format"


def load_image(path: str, size: int, channels: int) -> np.ndarray:
    """(size, size, channels) uint8: transparency over white, centre-cropped square, antialiased resize.

    UserError "cannot read PATH: ..." when the file is not a readable image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        with Image.open(io.BytesIO(data)) as opened:
            img = ImageOps.exif_transpose(opened)
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(white, rgba)
            img = img.convert("RGB" if channels == 3 else "L")
            img = ImageOps.fit(img, (size, size), Image.Resampling.BILINEAR, centering=(0.5, 0.5))
            arr = np.asarray(img, dtype=np.uint8)
    except UnidentifiedImageError:
        raise UserError(f"cannot read {path}: not an image ({_what_it_is(data)})") from None
    except Image.DecompressionBombError as exc:
        raise UserError(f"cannot read {path}: too large ({exc})") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"cannot read {path}: not an image (damaged: {exc})") from None
    return arr.reshape(size, size, channels)


def predict_images(run_dir: str | Path, paths: list[str], device: str = "cpu", top: int = 5,
                   checkpoint: str = "best", loaded: Any = None) -> list[ImagePrediction]:
    """Classify image files (or the image files of folders, not recursive) with the run's model.

    One ImagePrediction per file, in order; unreadable files carry ``error``
    ("cannot read PATH: not an image (...)") and no prediction. ``loaded``: an
    already loaded run (engine.analysis.analyze.load_run_model) to reuse.
    """
    import torch

    from engine.analysis.loaded_run import load_run_model, predict_top

    if top < 1:
        raise UserError(f"--top must be at least 1, got {top}")
    files = image_files(paths)
    loaded = loaded or load_run_model(run_dir, device, checkpoint)
    size, channels, names = loaded.data.image_size, loaded.data.channels, loaded.class_names
    out: list[ImagePrediction] = []
    for path, error in files:
        image = None
        if error is None:
            try:
                image = load_image(path, size, channels)
            except UserError as exc:
                error = str(exc)
        out.append(ImagePrediction(path, image, [], error))
    good = [(p, p.image) for p in out if p.image is not None]
    k = min(top, len(names))
    for i in range(0, len(good), 256):
        chunk = good[i : i + 256]
        ids, probs = predict_top(loaded, torch.as_tensor(np.stack([image for _, image in chunk])).to(loaded.device), k)
        for (p, _), pr, ix in zip(chunk, probs.cpu().tolist(), ids.cpu().tolist()):
            p.top = [(names[c], float(v)) for c, v in zip(ix, pr)]
    return out


# ----------------------------------------------------------------------------- what the model sees

def _augmented(config: RunConfig, data: Any, images: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, Any]:
    """The images through the run's own training augmentation, back in uint8 for display; and the targets."""
    import torch

    from engine.models.registry import get_spec
    from engine.data.pipeline import run_pipeline

    spec = get_spec(config.model, config.head)
    cpu = torch.device("cpu")
    pipe = run_pipeline(config.replace(channels_last=False), data, rgb_only=bool(spec and spec.rgb_only),
                        input_size=data.image_size, device=cpu)
    gen = torch.Generator(device=cpu).manual_seed(seed)
    with torch.no_grad():
        out, target = pipe.train_batch(torch.as_tensor(images), torch.as_tensor(labels), gen)
        pixels = (out.float() * pipe.std + pipe.mean).clamp_(0, 1).mul_(255).round_().to(torch.uint8)
    shown = pixels.permute(0, 2, 3, 1).numpy()
    if shown.shape[-1] != data.channels:  # grey repeated for an RGB model: its three channels are equal
        shown = shown[..., : data.channels]
    return shown, target


def _caption(target: Any, label: int, names: list[str]) -> str:
    """'cat', or for a soft target its classes by weight: '0.62 cat + 0.38 dog'."""
    if target.ndim == 0:
        return names[int(target)]
    weights = [(float(w), c) for c, w in enumerate(target.tolist()) if w > 0.005]
    weights.sort(key=lambda wc: (-wc[0], wc[1]))
    if len(weights) <= 1:
        return names[weights[0][1]] if weights else names[label]
    return " + ".join(f"{w:.2f} {names[c]}" for w, c in weights)


def sample_grid(config: RunConfig, per_class: int = 8, augmented: bool = False, seed: int = 0,
                classes: list[int] | None = None, augment_seed: int | None = None) -> SampleGrid:
    """``per_class`` training images of each class (the first after a seeded shuffle), as the model sees them.

    ``augmented``: through the run's real training augmentation (engine
    Pipeline.train_batch, seeded by ``seed``), de-normalised to uint8 for
    display; else the stored images. Images stay at the dataset's native size
    (the resize to the model's input is the one step left out). The dataset is
    never downloaded (UserError when it is not on disk).
    """
    from engine.data.load import load_config_dataset

    if per_class < 1:
        raise UserError(f"per_class must be at least 1, got {per_class}")
    data = load_config_dataset(config.replace(download=False))
    names = list(data.class_names)
    wanted = list(range(len(names))) if classes is None else list(classes)
    bad = [c for c in wanted if not 0 <= c < len(names)]
    if bad:
        raise UserError(f"class {bad[0]} does not exist ({config.dataset} has {len(names)} classes)")
    y_all = np.asarray(data.train.y, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y_all))
    rows = np.concatenate([order[y_all[order] == c][:per_class] for c in wanted] or [np.empty(0, np.int64)])
    rows = rows.astype(np.int64)
    images, labels = np.asarray(data.train.x)[rows], y_all[rows]
    if not augmented or not len(rows):
        return SampleGrid(images, labels, [names[c] for c in labels], names, rows)
    # Another augment_seed: another draw of the augmentation on the same images.
    shown, target = _augmented(config, data, images, labels, seed if augment_seed is None else augment_seed)
    captions = [_caption(t, int(lab), names) for t, lab in zip(target, labels)]
    return SampleGrid(np.ascontiguousarray(shown), labels, captions, names, rows)
