"""Image-folder datasets: ``DIR/train/<class>/*`` and ``DIR/test/<class>/*``, or a tarball of that.

This is how people bring their own data, and how the real CIFAR-10 in JPEG
form is read. Images are decoded once (Pillow: JPEG/PNG/BMP/WebP, any size,
any mode -> RGB), resized to a square stored size unless they already have
it, and kept as the uint8 arrays every other dataset uses. The arrays are
cached under the user's cache directory, keyed by the data's file names, sizes
and modification times (for a tarball: its own), so a second load of the
60,000 CIFAR JPEGs reads one file instead of decoding them again.

Decoding runs on a thread pool: Pillow releases the GIL while it decodes, so
threads use every core without the start-up and pickling of processes.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from engine.config import UserError
from engine.events import PhaseTicker, no_progress

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
SPLITS = ("train", "test")
CACHE_VERSION = 1


@dataclass
class Item:
    """One image file: where it is (for messages), its class and, for a tarball, its bytes."""

    split: str
    label: str
    name: str
    data: bytes | None = None


def cache_dir() -> Path:
    """$CIFAR_TUI_CACHE, else $XDG_CACHE_HOME/cifar-tui, else ~/.cache/cifar-tui."""
    if os.environ.get("CIFAR_TUI_CACHE"):
        return Path(os.environ["CIFAR_TUI_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cifar-tui"


def read_folder(source: Path, size: int, emit: Callable[[Any], None] = no_progress,
                ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]]:
    """((train_x, train_y), (test_x, test_y), class_names) from a folder or a .tar/.tar.gz of one.

    ``emit`` hears PhaseProgress: reading a tarball (its bytes), decoding (images, on every core).
    A cached decode (the second load) takes a second and reports nothing."""
    source = Path(source).expanduser()
    if not source.exists():
        raise UserError(f"--data-dir {source} does not exist; give a folder with train/ and test/ "
                        "(one sub-folder per class) or a .tar.gz of one")
    cache = cache_dir() / "folders" / f"{_fingerprint(source, size)}.npz"
    cached = _read_cache(cache)
    if cached is not None:
        return cached
    items = list(_tar_items(source, emit) if source.is_file() else _dir_items(source))
    classes = _classes(items, source)
    result = _decode_all(items, classes, size, emit)
    _write_cache(cache, result)
    return result


def describe_folder(source: Path, size: int = 32) -> str:
    """What a folder dataset holds, from a quick look (the launcher calls it as you type).

    A folder is listed (names only, nothing decoded); a tarball is only counted
    once it has been decoded and cached, since counting means reading it whole.
    UserError when the layout is wrong.
    """
    source = Path(source).expanduser()
    if not source.exists():
        raise UserError(f"{source} does not exist")
    cached = cache_dir() / "folders" / f"{_fingerprint(source, size)}.npz"
    if cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as z:
                n_classes, n_train, n_test = len(z["classes"]), len(z["train_y"]), len(z["test_y"])
            return f"{n_classes} classes, {n_train:,} train / {n_test:,} test images (decoded, cached)"
        except (OSError, KeyError, ValueError):
            pass
    if source.is_file():
        return f"{source.name}: classes and images are counted when it is first decoded (then cached)"
    items = list(_dir_items(source))
    classes = _classes(items, source)
    n_train = sum(1 for i in items if i.split == "train")
    return f"{len(classes)} classes, {n_train:,} train / {len(items) - n_train:,} test images"


# ----------------------------------------------------------------------------- listing

def _dir_items(root: Path) -> Iterator[Item]:
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            raise UserError(f"{root} has no {split}/ folder; the layout is {root}/train/<class>/*.png and "
                            f"{root}/test/<class>/*.png")
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = sorted(p for p in class_dir.iterdir() if p.is_file() and not p.name.startswith("."))
            if not files:
                raise UserError(f"class folder {class_dir} is empty; remove it or add its images")
            for f in files:
                yield Item(split, class_dir.name, str(f))


def _tar_items(tarball: Path, emit: Callable[[Any], None] = no_progress) -> Iterator[Item]:
    """Members of <top>/train/<class>/<file> or train/<class>/<file>, with their bytes (one pass over a .gz).

    Progress is the compressed bytes read so far: a .gz stream has no member count ahead."""
    try:
        with open(tarball, "rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as tar:
            ticker = PhaseTicker(emit, f"reading {tarball.name}", tarball.stat().st_size, unit="bytes")
            for member in tar:
                ticker.update(raw.tell())
                if not member.isfile():
                    continue
                parts = [p for p in member.name.split("/") if p not in ("", ".")]
                if len(parts) >= 3 and parts[-3] in SPLITS and not parts[-1].startswith("."):
                    f = tar.extractfile(member)
                    yield Item(parts[-3], parts[-2], f"{tarball}:{member.name}", f.read() if f else b"")
            ticker.finish()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UserError(f"cannot read {tarball} as a tar archive ({_why_not_tar(tarball, exc)}); "
                        "give a folder or a .tar/.tar.gz") from None


def _why_not_tar(tarball: Path, exc: BaseException) -> str:
    """One short reason: tarfile's own message lists every compression it tried, one per line."""
    try:
        head = tarball.open("rb").read(512)
    except OSError as err:
        return err.strerror or type(err).__name__
    if not head:
        return "the file is empty"
    if head[:2] == b"\x1f\x8b":
        return "a gzip file that is truncated or holds no tar archive"
    if isinstance(exc, tarfile.ReadError):
        return "not a tar, tar.gz, tar.bz2 or tar.xz file"
    return str(exc).splitlines()[0]


def _classes(items: list[Item], source: Path) -> list[str]:
    """Class names (sorted folder names), the same in train and test, at least two."""
    per_split = {s: sorted({i.label for i in items if i.split == s}) for s in SPLITS}
    for split, names in per_split.items():
        if not names:
            raise UserError(f"{source} has no images under {split}/<class>/; the layout is train/<class>/* and "
                            "test/<class>/*")
    if per_split["train"] != per_split["test"]:
        only_train = sorted(set(per_split["train"]) - set(per_split["test"]))
        only_test = sorted(set(per_split["test"]) - set(per_split["train"]))
        raise UserError(f"train/ and test/ of {source} have different classes (only in train: "
                        f"{', '.join(only_train) or '-'}; only in test: {', '.join(only_test) or '-'})")
    if len(per_split["train"]) < 2:
        raise UserError(f"{source} has one class ({per_split['train'][0]}); a classifier needs at least two")
    return per_split["train"]


# ----------------------------------------------------------------------------- decoding

def _decode(item: Item, size: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        src = io.BytesIO(item.data) if item.data is not None else item.name
        with Image.open(src) as img:
            img = img.convert("RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
            return np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        kind = "not an image" if isinstance(exc, UnidentifiedImageError) else f"corrupt ({exc})"
        raise UserError(f"{item.name} is {kind}; remove or replace it") from None


def _decode_all(items: list[Item], classes: list[str], size: int, emit: Callable[[Any], None] = no_progress):
    index = {c: i for i, c in enumerate(classes)}
    workers = max(1, min(8, os.cpu_count() or 1))
    ticker = PhaseTicker(emit, f"decoding images on {workers} thread{'s' if workers > 1 else ''}", len(items))
    out = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for split in SPLITS:
            chosen = [i for i in items if i.split == split]
            x = np.empty((len(chosen), size, size, 3), np.uint8)
            # One task per contiguous slice, not per image (60k futures would cost more than the decoding);
            # 16 per thread, so progress moves in steps of ~1/16 of a thread's share.
            bounds = np.linspace(0, len(chosen), workers * 16 + 1).astype(int)
            tasks = [pool.submit(_decode_into, x, chosen, size, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
            for task in as_completed(tasks):
                ticker.advance(task.result())
            y = np.array([index[i.label] for i in chosen], dtype=np.int64)
            out.append((x, y))
    ticker.finish()
    return out[0], out[1], classes


def _decode_into(x: np.ndarray, items: list[Item], size: int, start: int, stop: int) -> int:
    for k in range(start, stop):
        x[k] = _decode(items[k], size)
    return stop - start


# ----------------------------------------------------------------------------- cache

def _fingerprint(source: Path, size: int) -> str:
    """sha256 over what the decoded arrays depend on: every file's name, size and mtime, and the size."""
    h = hashlib.sha256(f"v{CACHE_VERSION} size={size} {source.resolve()}\n".encode())
    paths = [source] if source.is_file() else sorted(p for s in SPLITS if (source / s).is_dir()
                                                        for p in (source / s).rglob("*") if p.is_file())
    for p in paths:
        st = p.stat()
        h.update(f"{p.relative_to(source) if p != source else p.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def _read_cache(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            return ((z["train_x"], z["train_y"]), (z["test_x"], z["test_y"]), [str(c) for c in z["classes"]])
    except (OSError, KeyError, ValueError):
        return None  # absent or damaged: decode again


def _write_cache(path: Path, result) -> None:
    """Best effort (a read-only home still trains); atomic, so a killed write is never read back."""
    from engine.runs.files import atomic_write

    (train_x, train_y), (test_x, test_y), classes = result
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: np.savez(f, train_x=train_x, train_y=train_y, test_x=test_x,
                                              test_y=test_y, classes=np.array(classes)), mode="wb")
    except (OSError, UserError):
        pass
