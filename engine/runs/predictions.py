"""Test-set predictions of one evaluated checkpoint: what every drill-down reads.

Each evaluation of the test set keeps, per image, its true class and the top-5
classes with their softmax probabilities (int16 labels, uint8 ids, float16 scores:
~17 bytes an image, 170 KB for CIFAR-10's 10,000). They are written next to the
checkpoint they describe (``predictions/last.npz``, hard-linked as
``best.npz`` when that epoch is best), so opening a confusion cell, listing the
most confident mistakes or the most confused pairs never runs the model again.

Row ``i`` is the ``i``-th image of the test split exactly as the run saw it
(``engine.data.load.load_config_dataset(config).test``): the same stratified subset
in the same order. ``labels`` is stored too, so a reader can check the data it
loaded is still the data the run was tested on.

numpy only: the app reads these without importing torch.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.config import UserError
from engine.runs.files import StoreWriteError, atomic_write_bytes, describe_write_error

FOLDER = "predictions"
TOPK = 5
FORMAT = 1


@dataclass
class Predictions:
    """One checkpoint's predictions on the test split (rows in the split's order)."""

    epoch: int
    labels: np.ndarray
    """(N,) int64 true class of each test image."""
    top_ids: np.ndarray
    """(N, k) predicted classes, most probable first (k = min(5, classes))."""
    top_probs: np.ndarray
    """(N, k) float32 softmax probabilities of ``top_ids``."""

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def pred(self) -> np.ndarray:
        """(N,) the predicted class (top-1)."""
        return self.top_ids[:, 0].astype(np.int64)

    @property
    def confidence(self) -> np.ndarray:
        """(N,) the probability of the predicted class."""
        return self.top_probs[:, 0]

    @property
    def num_classes(self) -> int:
        return int(max(self.labels.max(initial=-1), self.top_ids.max(initial=-1)) + 1)

    def confusion(self, num_classes: int | None = None) -> list[list[int]]:
        """(C, C) counts, rows = true class: the matrix the run's summary holds for this epoch."""
        n = num_classes or self.num_classes
        flat = np.bincount(self.labels * n + self.pred, minlength=n * n)
        return flat.reshape(n, n).tolist()

    def cell(self, true: int, pred: int) -> np.ndarray:
        """Rows whose true class is ``true`` and prediction ``pred``.

        An error cell: most confident first (the model was surest and wrong). The
        diagonal: least confident first (the correct answers it nearly missed).
        Ties keep test-split order (a stable sort), so the order is reproducible.
        """
        rows = np.flatnonzero((self.labels == true) & (self.pred == pred))
        conf = self.confidence[rows].astype(np.float64)
        order = np.argsort(conf if true == pred else -conf, kind="stable")
        return rows[order]

    def mistakes(self, limit: int | None = None) -> np.ndarray:
        """Rows predicted wrong, most confident first."""
        rows = np.flatnonzero(self.labels != self.pred)
        order = np.argsort(-self.confidence[rows].astype(np.float64), kind="stable")
        return rows[order][:limit]

    def confused_pairs(self, limit: int | None = None) -> list[tuple[int, int, int]]:
        """(true, predicted, count) of the off-diagonal cells, most frequent first."""
        matrix = self.confusion()
        pairs = [(i, j, c) for i, row in enumerate(matrix) for j, c in enumerate(row) if i != j and c]
        pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
        return pairs[:limit]


def path_of(run_dir: str | Path, which: str = "last") -> Path:
    """Where a run keeps the predictions of its ``last`` or ``best`` checkpoint."""
    return Path(run_dir) / FOLDER / f"{which}.npz"


def encode(preds: Predictions) -> bytes:
    """The .npz bytes (uncompressed: 150 KB for 10,000 images, and no zlib cost in the training thread)."""
    ids_dtype = np.uint8 if preds.top_ids.max(initial=0) < 256 else np.int16
    buf = io.BytesIO()
    np.savez(buf, format=np.array(FORMAT), epoch=np.array(preds.epoch), labels=preds.labels.astype(np.int16),
             top_ids=preds.top_ids.astype(ids_dtype), top_probs=preds.top_probs.astype(np.float16))
    return buf.getvalue()


def save(run_dir: str | Path, preds: Predictions, *, is_best: bool) -> None:
    """Write ``last.npz`` atomically; link it as ``best.npz`` when this epoch is the best."""
    folder = Path(run_dir) / FOLDER
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise StoreWriteError(describe_write_error(exc, folder)) from exc
    last = folder / "last.npz"
    atomic_write_bytes(last, encode(preds))
    if is_best:
        _link(last, folder / "best.npz")


def _link(src: Path, dst: Path) -> None:
    """dst becomes the same bytes as src, atomically (a hard link; a copy where links fail)."""
    tmp = dst.with_name(f".{dst.name}.link.tmp")
    try:
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:  # no hard links here: a durable copy
            tmp.unlink(missing_ok=True)
            atomic_write_bytes(dst, src.read_bytes())
            return
        os.replace(tmp, dst)
    except OSError as exc:
        raise StoreWriteError(describe_write_error(exc, dst)) from exc


def load(path: str | Path) -> Predictions:
    """Read a predictions file; UserError (one line) when it is missing or not one."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            preds = Predictions(int(f["epoch"]), f["labels"].astype(np.int64), f["top_ids"].astype(np.int64),
                                f["top_probs"].astype(np.float32))
    except FileNotFoundError:
        raise UserError(f"no stored predictions at {path}; run: cifar-tui analyze RUN --errors --no-ui") from None
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{path} is not a readable predictions file ({exc}); "
                        "recompute it: cifar-tui analyze RUN --errors --no-ui") from None
    if preds.top_ids.ndim != 2 or len(preds.top_ids) != len(preds.labels) or preds.top_probs.shape != preds.top_ids.shape:
        raise UserError(f"{path} has inconsistent shapes; recompute it: cifar-tui analyze RUN --errors --no-ui")
    return preds
