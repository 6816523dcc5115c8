"""What the image screens show, assembled in worker threads: stored predictions, the test
images they refer to, and the captions under each image.

A run's test images and predictions are loaded once and kept (``run_images``): a second
drill-down into the same run only indexes arrays, so a confusion cell opens at once
(benchmarks/inspect_cost.py measures it). The cache is keyed by the predictions file's
identity, so a live run's next epoch is picked up and an old epoch is never shown as new.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import predictions as store
from engine.predictions import Predictions

from .. import format as fmt
from ..widgets.image_grid import GridItem

MISTAKES_SHOWN = 500  # the most confident mistakes a grid lists; past these, confidence is low anyway
_CACHE_SIZE = 3  # runs kept: CIFAR-10's test images are 30 MB each


@dataclass
class RunImages:
    """One run's stored test predictions and the test images their rows refer to."""

    run_dir: str
    preds: Predictions
    source: str
    """Where the predictions come from, e.g. 'training, epoch 12'."""
    images: np.ndarray
    names: list[str]


_lock = threading.Lock()
_cache: dict[tuple[str, Any], RunImages] = {}


def _identity(run_dir: str) -> Any:
    """What changes when a run's predictions are rewritten (a new epoch, or analyze)."""
    out: list[tuple[int, int, int] | None] = []
    for path in (store.path_of(run_dir), Path(run_dir) / "analysis" / "predictions.npz"):
        try:
            st = path.stat()
            out.append((st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


def run_images(run_dir: str) -> RunImages:
    """The run's predictions and test images (cached); UserError (one line) when either is missing."""
    key = (str(Path(run_dir).resolve()), _identity(run_dir))
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    from ..engine_import import import_engine

    import_engine()  # one thread imports torch at a time (the dataset readers may need it)
    from engine.analysis import check_rows, run_predictions, test_images

    preds, source = run_predictions(run_dir)
    images, labels, names = test_images(run_dir)
    check_rows(preds, labels)
    loaded = RunImages(run_dir, preds, source, images, names)
    with _lock:
        for old in [k for k in _cache if k[0] == key[0]]:
            del _cache[old]
        while len(_cache) >= _CACHE_SIZE:
            del _cache[next(iter(_cache))]
        _cache[key] = loaded
    return loaded


def prediction_item(ri: RunImages, row: int) -> GridItem:
    """A test image with its true class, and the predicted class with its confidence."""
    true, pred = int(ri.preds.labels[row]), int(ri.preds.pred[row])
    ok = true == pred
    return GridItem(ri.images[row], [
        (ri.names[true], "bold"),
        # The confidence before the name: a narrow tile cuts the name's end, never the number.
        (f"{'✓' if ok else '✗'} {fmt.pct(float(ri.preds.confidence[row]))} {ri.names[pred]}", "green" if ok else "red"),
    ], key=row)


def top5_lines(ri: RunImages, row: int) -> list[tuple[str, float]]:
    """The five most probable classes of one test image, with their probabilities."""
    return [(ri.names[int(c)], float(p)) for c, p in zip(ri.preds.top_ids[row], ri.preds.top_probs[row])]


def cell_items(ri: RunImages, true: int, pred: int) -> tuple[str, list[GridItem]]:
    """The title and images of one confusion cell (errors: most confident first; diagonal: least)."""
    rows = ri.preds.cell(true, pred)
    order = "least confident first" if true == pred else "most confident first"
    what = (f"{ri.names[true]} predicted correctly" if true == pred
            else f"{ri.names[true]} predicted as {ri.names[pred]}")
    title = f"{what}: {fmt.count(len(rows), 'test image')}, {order} ({ri.source})"
    return title, [prediction_item(ri, int(r)) for r in rows]


def mistake_items(ri: RunImages) -> tuple[str, list[GridItem]]:
    """The most confident wrong predictions over the test set."""
    rows = ri.preds.mistakes()
    shown = rows[:MISTAKES_SHOWN]
    more = f", the first {len(shown)}" if len(rows) > len(shown) else ""
    title = (f"most confident mistakes: {fmt.count(len(rows), 'wrong prediction')} of {len(ri.preds)}{more} "
             f"({ri.source})")
    return title, [prediction_item(ri, int(r)) for r in shown]
