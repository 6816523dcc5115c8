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

from engine.runs.predictions import Predictions

from tui import format as fmt
from tui.widgets.image_grid import GridItem

MISTAKES_SHOWN = 500  # the most confident mistakes a grid lists; past these, confidence is low anyway
_CACHE_SIZE = 3  # runs kept: CIFAR-10's test images are 30 MB each


@dataclass
class RunImages:
    """One run's stored test predictions and the test images their rows refer to."""

    run_dir: str
    preds: Predictions
    source: str
    """Where the predictions come from, e.g. 'training, epoch 12' (the engine's words; titles say ``made_by``)."""
    images: np.ndarray
    names: list[str]


_lock = threading.Lock()
_images: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
"""Test images, labels and class names per run folder: a run's test split never changes."""
_loading: dict[str, threading.Lock] = {}
"""One lock per run folder: its dataset is read by one thread at a time."""
_preds: dict[str, tuple[Any, Predictions, str]] = {}
"""Predictions per run folder, with the identity of the file they were read from."""


def _identity(run_dir: str) -> Any:
    """What changes when a run's predictions are rewritten (a new epoch, or analyze)."""
    from engine.analysis.analyze import prediction_sources

    out: list[tuple[int, int, int] | None] = []
    for path, _ in prediction_sources(run_dir):
        try:
            st = path.stat()
            out.append((st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


def run_images(run_dir: str) -> RunImages:
    """The run's predictions and test images (cached); UserError (one line) when either is missing.

    The test images are read once per run (the slow part: the dataset); the predictions (150 KB
    for 10,000 images) again only when their file changed, e.g. a live run's next epoch.
    """
    from tui.engine_import import import_engine

    import_engine()  # one thread imports torch at a time (the dataset readers may need it)
    from engine.analysis.analyze import run_predictions, test_images

    key, identity = str(Path(run_dir).resolve()), _identity(run_dir)
    with _lock:
        run_lock = _loading.setdefault(key, threading.Lock())
    with run_lock:  # the preload and a drill-down asking at once: the dataset is read once
        with _lock:
            images, cached = _images.get(key), _preds.get(key)
        if images is None:
            images = test_images(run_dir)
        if cached is None or cached[0] != identity:
            preds, source = run_predictions(run_dir, labels=images[1])
            cached = (identity, preds, source)
        with _lock:
            _remember(_images, key, images)
            _remember(_preds, key, cached)
    return RunImages(run_dir, cached[1], cached[2], images[0], images[2])


def _remember(table: dict[str, Any], key: str, value: Any) -> None:
    """Keep value as the newest entry; the oldest run goes past _CACHE_SIZE."""
    table.pop(key, None)
    while len(table) >= _CACHE_SIZE:
        del table[next(iter(table))]
    table[key] = value


def made_by(ri: RunImages) -> str:
    """Which model made the predictions, for a title: 'predictions from epoch 12' ('training, epoch 12' read
    as if the images were training images; they are test images scored by that epoch's model)."""
    by = "" if ri.source.startswith("training") else "analyze's "
    return f"{by}predictions from epoch {ri.preds.epoch}"


def prediction_item(ri: RunImages, row: int) -> GridItem:
    """A test image with its true class, and the predicted class with its confidence."""
    true, pred = int(ri.preds.labels[row]), int(ri.preds.pred[row])
    ok = true == pred
    return GridItem(ri.images[row], [
        (ri.names[true], "bold"),
        # The confidence before the name: a narrow tile cuts the name's end, never the number; one decimal
        # (the detail has two) leaves a CIFAR name whole on an 80-column grid's tile.
        (f"{'✓' if ok else '✗'} {fmt.class_pct(float(ri.preds.confidence[row]))} {ri.names[pred]}",
         "green" if ok else "red"),
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
    title = f"{what}: {fmt.count(len(rows), 'test image')}, {order} ({made_by(ri)})"
    return title, [prediction_item(ri, int(r)) for r in rows]


def mistake_items(ri: RunImages) -> tuple[str, list[GridItem]]:
    """The most confident wrong predictions over the test set."""
    rows = ri.preds.mistakes()
    shown = rows[:MISTAKES_SHOWN]
    more = f", the first {len(shown)}" if len(rows) > len(shown) else ""
    title = (f"most confident mistakes: {fmt.count(len(rows), 'wrong prediction')} of {len(ri.preds)}{more} "
             f"({made_by(ri)})")
    return title, [prediction_item(ri, int(r)) for r in shown]
