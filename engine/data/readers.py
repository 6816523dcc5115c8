"""Readers for the on-disk dataset formats: CIFAR python pickles and idx files.

CIFAR batches are pickles. Unpickling runs code, so they are read with an
unpickler that only builds what CIFAR files contain (dicts, lists, bytes and
numpy uint8 arrays). Official files are md5-checked against the published sums.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import socket
import struct
import tarfile
from typing import TYPE_CHECKING, Any
from pathlib import Path

from engine.config import UserError

if TYPE_CHECKING:  # imported where arrays are made: the launcher's look for the files must not pay numpy's
    import numpy as np  # ~0.15 s before its first frame (CIFAR_SPECS is all it reads here)

CIFAR10_LABELS = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

# Published by the dataset's authors (the same sums torchvision checks).
CIFAR_SPECS: dict[str, dict[str, Any]] = {
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "tarball": "cifar-10-python.tar.gz",
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "tgz_md5": "c58f30108f718f92721af3b95e74349a",
        "md5": {
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e",
            "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        },
        "official_rows": {"test_batch": 10000, **{f"data_batch_{i}": 10000 for i in range(1, 6)}},
    },
    "cifar100": {
        "folder": "cifar-100-python",
        "tarball": "cifar-100-python.tar.gz",
        "url": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "tgz_md5": "eb9058c3a382ffc7106e4002c42a8d85",
        "md5": {
            "train": "16019d7e3df5f24257cddd939b257f8d",
            "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
            "meta": "7973b15100ade9c7d40fb424638fde48",
        },
        "official_rows": {"train": 50000, "test": 10000},
    },
}

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    # Python 3 writes bytes under pickle protocol 2 as _codecs.encode(str, 'latin1').
    ("_codecs", "encode"),
}


class _CifarUnpickler(pickle.Unpickler):
    """Builds only plain containers and numpy arrays; refuses anything else."""

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def md5_of(path: Path) -> str:
    """Hex md5 of a file, read in 1 MiB chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_pickle(path: Path) -> dict:
    """Read one CIFAR pickle with the restricted unpickler; clear error if broken."""
    try:
        data = path.read_bytes()
        obj = _CifarUnpickler(io.BytesIO(data), encoding="bytes").load()
    except FileNotFoundError:
        raise UserError(f"{path} is missing; the CIFAR folder is incomplete, re-extract the tarball")
    except Exception as exc:  # EOFError, UnpicklingError, ValueError... all mean "broken file"
        raise UserError(
            f"{path} is corrupted or truncated ({type(exc).__name__}: {exc}); "
            "delete it and extract the tarball again"
        ) from None
    if not isinstance(obj, dict):
        raise UserError(f"{path} is not a CIFAR batch (expected a dict); re-extract the tarball")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def find_cifar(root: Path, which: str, *, download: bool) -> Path:
    """Locate (or extract, or download) the CIFAR python folder under root."""
    spec = CIFAR_SPECS[which]
    candidates = [root / spec["folder"], root]
    for folder in candidates:
        if (folder / ("batches.meta" if which == "cifar10" else "meta")).is_file():
            return folder
    tarball = root if root.is_file() else root / spec["tarball"]
    if tarball.is_file():
        return _extract(tarball, tarball.parent, spec)
    if download:
        try:
            _download(spec, root)
            return _extract(root / spec["tarball"], root, spec)
        except UserError:
            raise
        except Exception as exc:
            reason = f"download failed: {type(exc).__name__}: {exc}"
    else:
        reason = "downloading is off"
    where = root.absolute()
    raise UserError(
        f"{which} not found in {where} (looked for {spec['folder']}/ and {spec['tarball']}; "
        f"{reason}). Pass --data-dir DIR where it is, copy {spec['tarball']} into {where}, "
        "or try the app with --dataset synthetic"
    )


def _download(spec: dict, root: Path) -> None:
    """Fetch the tarball into root; a failed download leaves no directory behind that it made."""
    from torchvision.datasets.utils import download_url

    made = _missing_dirs(root)
    root.mkdir(parents=True, exist_ok=True)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)  # an offline server must fail, not hang
    try:
        download_url(spec["url"], str(root), spec["tarball"], spec["tgz_md5"])
    except BaseException:
        _remove_empty(made)
        raise
    finally:
        socket.setdefaulttimeout(old)


def _missing_dirs(path: Path) -> list[Path]:
    """The directories mkdir(parents=True) would create for path, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _remove_empty(dirs: list[Path]) -> None:
    """Undo a mkdir: remove each directory (deepest first) only while it is still empty."""
    for folder in dirs:
        try:
            folder.rmdir()
        except OSError:
            return  # something was written there (a partial download is kept for a retry)


def _extract(tarball: Path, dest: Path, spec: dict) -> Path:
    if tarball.stat().st_size > 100_000_000 and md5_of(tarball) != spec["tgz_md5"]:
        raise UserError(f"{tarball} fails its md5 check (corrupted download); delete it and fetch it again")
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            # The "data" filter refuses absolute paths and links out of dest.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:  # Python < 3.10.12 has no filters
                tar.extractall(dest)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UserError(f"cannot extract {tarball}: {exc}; delete it and fetch it again") from None
    folder = dest / spec["folder"]
    if not folder.is_dir():
        raise UserError(f"{tarball} does not contain {spec['folder']}/; is it the right tarball?")
    return folder


def _check_md5(path: Path, which: str, rows: int) -> None:
    """md5-check files that claim to be official (official name and row count)."""
    spec = CIFAR_SPECS[which]
    if spec["official_rows"].get(path.name) != rows:
        return  # a user-made subset: nothing published to compare with
    if md5_of(path) != spec["md5"][path.name]:
        raise UserError(f"{path} fails its md5 check (corrupted); delete it and extract the tarball again")


def _batch_arrays(path: Path, which: str, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    batch = load_pickle(path)
    for key in ("data", label_key):
        if key not in batch:
            raise UserError(f"{path} is not a valid CIFAR batch (no {key!r} entry); re-extract the tarball")
    images = _batch_images(path, batch["data"])
    labels = _batch_labels(path, batch[label_key])
    if len(images) != len(labels):
        raise UserError(f"{path} has {len(images)} images but {len(labels)} labels; re-extract the tarball")
    _check_md5(path, which, len(labels))
    return np.ascontiguousarray(images), labels


def _batch_images(path: Path, data: object) -> np.ndarray:
    """(N, 32, 32, 3) uint8 from a batch's N x 3072 uint8 'data'.

    Never cast: float images (e.g. scaled to [0, 1]) would become all zeros and
    train on nothing, and wider integers would wrap; only CIFAR's own layout passes.
    """
    import numpy as np

    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        kind = f"{data.dtype} array" if isinstance(data, np.ndarray) else type(data).__name__
        raise UserError(f"{path} holds image data as {kind}, not the uint8 (0-255) array CIFAR files hold; "
                        "re-extract the tarball or write the images as uint8")
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise UserError(f"{path} holds image data of shape {data.shape}, not N x 3072 (32x32 RGB, "
                        "channel-planar); re-extract the tarball")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _batch_labels(path: Path, raw: object) -> np.ndarray:
    """(N,) int64 labels; floats, text or nested lists are refused, never truncated into classes."""
    import numpy as np

    try:
        labels = np.asarray(raw)
    except ValueError:  # ragged nested lists
        labels = np.asarray([None])
    if labels.ndim != 1 or not (labels.size == 0 or np.issubdtype(labels.dtype, np.integer)):
        raise UserError(f"{path} holds labels that are not a list of whole numbers ({labels.dtype}, shape "
                        f"{labels.shape}); re-extract the tarball")
    return labels.astype(np.int64)


def read_cifar10(folder: Path):
    """((train_x, train_y), (test_x, test_y), class_names) from cifar-10-batches-py."""
    import numpy as np

    names = _class_names(folder / "batches.meta", "label_names", CIFAR10_LABELS)
    parts = [_checked_batch(folder / f"data_batch_{i}", "cifar10", "labels", len(names)) for i in range(1, 6)]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    test = _checked_batch(folder / "test_batch", "cifar10", "labels", len(names))
    return train, test, names


def read_cifar100(folder: Path):
    """((train_x, train_y), (test_x, test_y), fine class names) from cifar-100-python."""
    names = _class_names(folder / "meta", "fine_label_names", None)
    train = _checked_batch(folder / "train", "cifar100", "fine_labels", len(names))
    test = _checked_batch(folder / "test", "cifar100", "fine_labels", len(names))
    return train, test, names


def read_cifar(folder: Path, which: str):
    """((train_x, train_y), (test_x, test_y), class names) of an official CIFAR python folder (CIFAR_SPECS)."""
    return {"cifar10": read_cifar10, "cifar100": read_cifar100}[which](folder)


def _class_names(path: Path, key: str, default: tuple[str, ...] | None) -> list[str]:
    """Class names from a meta file: a non-empty list, else the error names the file."""
    raw = load_pickle(path).get(key, default)
    if not isinstance(raw, (list, tuple)) or not raw:
        raise UserError(f"{path} has no list of class names under {key!r}; re-extract the tarball")
    return [n.decode(errors="replace") if isinstance(n, bytes) else str(n) for n in raw]


def _checked_batch(path: Path, which: str, label_key: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A batch whose labels all name one of the n classes (the error names the file)."""
    images, labels = _batch_arrays(path, which, label_key)
    if len(labels) and (labels.min() < 0 or labels.max() >= n):
        raise UserError(f"labels in {path} fall outside 0..{n - 1}; the file is corrupted, re-extract the tarball")
    return images, labels


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (optionally gzipped) into a numpy array."""
    import numpy as np

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = bytearray(f.read())  # writable, so torch can wrap it without a warning
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError("not an unsigned-byte idx file")
        dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    except (OSError, EOFError, ValueError, struct.error) as exc:
        raise UserError(f"{path} is corrupted or truncated ({exc}); reinstall the dataset") from None


def read_idx_dataset(root: Path, name: str, install_hint: str):
    """((train_x, train_y), (test_x, test_y)) of an MNIST-layout idx dataset, images as (N, H, W, 1)."""
    import numpy as np

    def find(stem: str) -> Path:
        for file in (stem, stem + ".gz"):
            if (root / file).is_file():
                return root / file
        raise UserError(f"{name} not found in {root} (looked for {stem}[.gz]); {install_hint}")

    def pair(prefix: str):
        x = read_idx(find(f"{prefix}-images-idx3-ubyte"))
        y = read_idx(find(f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
        if len(x) != len(y):
            raise UserError(f"{name} {prefix} images and labels differ in count; reinstall it")
        return np.ascontiguousarray(x[..., None]), y

    return pair("train"), pair("t10k")
