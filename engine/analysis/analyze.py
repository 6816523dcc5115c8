"""Looking inside a trained run: its test predictions, feature space, a linear probe, new images.

Everything here reads a run and writes only under ``<run>/analysis/`` (atomic
writes), never taking the run's lock: it works on a finished run and on the
newest checkpoint of one still training.

    load_run_model     the run's model, data and evaluation pipeline (engine.analysis.loaded_run)
    compute_predictions / run_predictions / test_images / check_rows
                       top-5 test predictions (engine.runs.predictions) and the images they refer to
    feature_space / save_feature_space / load_feature_space
                       the 2-D PCA picture of the penultimate features
    probe_runs / train_probe
                       linear probes of the run (engine.analysis.probe)
    predict_images / sample_grid
                       new images through the model; training images as the model sees them (engine.analysis.images)
    analyze            compute what was asked and store it (``cifar-tui analyze``)

``<run>/analysis/``: ``predictions.npz`` (engine.runs.predictions format),
``pca.npz`` (FeatureSpace), ``probe.json`` and ``summary.json`` (what was
computed, from which checkpoint, when).

numpy at module level; torch only inside the functions that run a model, so
the app can import this module (and read stored results) without torch.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.runs import predictions as stored
from engine.analysis.images import ImagePrediction, SampleGrid, predict_images, sample_grid
from engine.analysis.loaded_run import LoadedRun, load_run_data, load_run_model, predict_top, read_run_config
from engine.analysis.probe import PROBE_FILE, probe_config, probe_runs, read_probe, train_probe
from engine.config import UserError
from engine.runs.predictions import Predictions
from engine.runs.layout import ANALYSIS_DIR, analysis_dir, check_writable, summary_path
from engine.runs.files import (
    atomic_write_bytes,
    atomic_write_json,
    read_json,
    utc_now,
)

__all__ = [
    "ANALYSIS_DIR", "FeatureSpace", "ImagePrediction", "LoadedRun", "Predictions", "SampleGrid", "analyze",
    "check_rows", "compute_predictions", "feature_space", "load_feature_space", "load_run_model", "predict_images",
    "best_epoch_now", "prediction_sources", "probe_config", "probe_runs", "read_probe", "read_summary", "run_predictions", "sample_grid", "save_feature_space",
    "save_predictions", "test_images", "train_probe",
]

PREDICTIONS_FILE = "predictions.npz"
PCA_FILE = "pca.npz"
SUMMARY_FILE = "summary.json"
"""analysis/summary.json: what each analysis found (not the run's own summary.json)."""
PCA_FORMAT = 1
RECOMPUTE = "cifar-tui analyze {run} --errors --no-ui"


# ----------------------------------------------------------------------------- predictions

def compute_predictions(loaded: LoadedRun, batch_size: int = 256) -> Predictions:
    """Top-5 softmax predictions of the loaded checkpoint on the run's whole test split (rows in its order)."""
    import torch

    x_all, y_all = loaded.data.test.x, np.asarray(loaded.data.test.y, dtype=np.int64)
    k = min(stored.TOPK, loaded.data.num_classes)
    ids, probs = [], []
    for i in range(0, len(y_all), batch_size):
        top, p = predict_top(loaded, torch.as_tensor(x_all[i : i + batch_size]).to(loaded.device), k)
        ids.append(top.cpu().numpy())
        probs.append(p.cpu().numpy())
    empty = np.empty((0, k))
    return Predictions(loaded.epoch, y_all, np.concatenate(ids or [empty]).astype(np.int64),
                       np.concatenate(probs or [empty]).astype(np.float32))


def save_predictions(run_dir: str | Path, preds: Predictions) -> Path:
    """Store analyze's predictions at ``<run>/analysis/predictions.npz`` (atomic); returns the path."""
    path = analysis_dir(run_dir, create=True) / PREDICTIONS_FILE
    atomic_write_bytes(path, stored.encode(preds))
    return path


def run_predictions(run_dir: str | Path, labels: np.ndarray | None = None) -> tuple[Predictions, str]:
    """The stored predictions to show for a run, and where they come from.

    ``predictions/last.npz`` written by training ("training, epoch N"), else
    ``analysis/predictions.npz`` written by analyze ("analyze, epoch N"). A file that
    cannot be read, or (given the test split's ``labels``) was made on other test images,
    is passed over for the next, so the advice to recompute with analyze always works.
    UserError when none is usable: why the first one is not, and how to compute them.
    """
    run_dir = Path(run_dir)
    first_error: UserError | None = None
    for path, source in prediction_sources(run_dir):
        if not path.is_file():
            continue
        try:
            preds = stored.load(path)
            if labels is not None:
                check_rows(preds, labels, run_dir.name)
        except UserError as exc:
            first_error = first_error or exc
            continue
        return preds, f"{source}, epoch {preds.epoch}"
    if first_error is not None:
        raise first_error
    raise UserError(f"run {run_dir.name} has no stored predictions; compute them with: "
                    + RECOMPUTE.format(run=run_dir.name))


def prediction_sources(run_dir: str | Path) -> list[tuple[Path, str]]:
    """Where a run's predictions may be stored, in the order they are preferred: (path, who wrote it)."""
    return [(stored.path_of(run_dir, "last"), "training"), (analysis_dir(run_dir) / PREDICTIONS_FILE, "analyze")]


def test_images(run_dir: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The run's test split as it saw it: images (N, H, W, C) uint8, labels (N,) int64, class names.

    Row i is row i of the run's predictions (check it with ``check_rows``).
    """
    run_id, config = read_run_config(run_dir)
    data = load_run_data(run_id, config)
    return (np.asarray(data.test.x, dtype=np.uint8), np.asarray(data.test.y, dtype=np.int64),
            list(data.class_names))


def check_rows(preds: Predictions, labels: np.ndarray, run: str = "RUN") -> None:
    """UserError when stored predictions were made on other test images than the ones loaded now."""
    labels = np.asarray(labels)
    if len(preds) != len(labels):
        raise UserError(f"the stored predictions cover {len(preds)} test images but the run's test split now has "
                        f"{len(labels)}: the data changed since; recompute them: " + RECOMPUTE.format(run=run))
    differ = int(np.count_nonzero(preds.labels != labels))
    if differ:
        raise UserError(f"the stored predictions' labels differ from the test split loaded now in {differ} of "
                        f"{len(labels)} images: the data changed since; recompute them: " + RECOMPUTE.format(run=run))


# ----------------------------------------------------------------------------- feature space

@dataclass
class FeatureSpace:
    """The run's penultimate features on (a stratified part of) its test split, on their top-2 components."""

    coords: np.ndarray
    """(N, 2) float32: each image's position along PC1 and PC2."""
    labels: np.ndarray
    """(N,) int64 true classes."""
    explained: list[float]
    """Share of the total variance of each of the top (up to 10) components."""
    class_names: list[str]
    layer: str
    """The module whose input the features are (the probe's or head's place)."""
    dim: int
    """Width of the features."""
    epoch: int
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    """(N,) the test-split row of each point (test_images()[0][rows] are their images)."""
    checkpoint: str = ""


def feature_space(loaded: LoadedRun, limit: int | None = 2000, batch_size: int = 256) -> FeatureSpace:
    """PCA of the loaded model's features on at most ``limit`` test images (stratified; None: all)."""
    from engine.analysis.pca import feature_layer, pca, run_features, subset_rows

    rows = subset_rows(loaded.data.test.y, limit)
    feats = run_features(loaded, rows, batch_size)
    coords, ratio = pca(feats, min(10, *feats.shape))
    xy = np.zeros((len(rows), 2), np.float32)
    xy[:, : min(2, coords.shape[1])] = coords[:, :2].numpy()
    labels = np.asarray(loaded.data.test.y, dtype=np.int64)[rows]
    return FeatureSpace(xy, labels, [float(r) for r in ratio], list(loaded.class_names),
                        feature_layer(loaded.spec), int(feats.shape[1]), loaded.epoch,
                        np.asarray(rows, dtype=np.int64), loaded.checkpoint)


def save_feature_space(run_dir: str | Path, fs: FeatureSpace) -> Path:
    """Store at ``<run>/analysis/pca.npz`` atomically (uncompressed npz, no pickles); returns the path."""
    buf = io.BytesIO()
    np.savez(buf, format=np.array(PCA_FORMAT), coords=fs.coords.astype(np.float32),
             labels=fs.labels.astype(np.int64), rows=fs.rows.astype(np.int64),
             explained=np.asarray(fs.explained, np.float64), class_names=np.asarray(fs.class_names, dtype=str),
             layer=np.array(fs.layer), dim=np.array(fs.dim), epoch=np.array(fs.epoch),
             checkpoint=np.array(fs.checkpoint))
    path = analysis_dir(run_dir, create=True) / PCA_FILE
    atomic_write_bytes(path, buf.getvalue())
    return path


def load_feature_space(run_dir: str | Path) -> FeatureSpace | None:
    """The stored feature space; None when analyze has not computed one; UserError when the file is damaged."""
    path = analysis_dir(run_dir) / PCA_FILE
    try:
        with np.load(path, allow_pickle=False) as f:
            fs = FeatureSpace(f["coords"].astype(np.float32), f["labels"].astype(np.int64),
                              [float(r) for r in f["explained"]], [str(c) for c in f["class_names"]],
                              str(f["layer"]), int(f["dim"]), int(f["epoch"]), f["rows"].astype(np.int64),
                              str(f["checkpoint"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{path} is not a readable feature-space file ({exc}); recompute it: "
                        f"cifar-tui analyze {Path(run_dir).name} --pca --no-ui") from None
    if fs.coords.shape != (len(fs.labels), 2) or len(fs.rows) != len(fs.labels):
        raise UserError(f"{path} has inconsistent shapes; recompute it: "
                        f"cifar-tui analyze {Path(run_dir).name} --pca --no-ui")
    return fs


def best_epoch_now(run_dir: str | Path) -> int | None:
    """The epoch the run's best checkpoint holds now, from its summary (None: unknown)."""
    from engine.training.selection import chose_by_validation

    try:
        summary = read_json(summary_path(run_dir))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict):
        return None
    epoch = summary.get("best_epoch") if chose_by_validation(summary) else summary.get("epochs_done")
    return epoch if isinstance(epoch, int) else None


# ----------------------------------------------------------------------------- analyze

def read_summary(run_dir: str | Path) -> dict[str, Any]:
    """``analysis/summary.json`` ({} when there is none or it is damaged: it is only a record)."""
    try:
        data = read_json(analysis_dir(run_dir) / SUMMARY_FILE)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def errors_summary(preds: Predictions, class_names: list[str], pairs: int = 10) -> dict[str, Any]:
    """Test accuracy, mistakes and the most confused (true, predicted) pairs of a set of predictions."""
    n = len(preds)
    wrong = int(np.count_nonzero(preds.pred != preds.labels))

    def name(i: int) -> str:
        return class_names[i] if 0 <= i < len(class_names) else str(i)

    return {"epoch": preds.epoch, "n_test": n, "test_acc": (n - wrong) / n if n else None, "mistakes": wrong,
            "confused_pairs": [{"true": name(t), "pred": name(p), "count": c}
                               for t, p, c in preds.confused_pairs(pairs)]}


def analyze(run_dir: str | Path, *, errors: bool = False, pca: bool = False, probe: bool = False,
            device: str = "cpu", log: Callable[[str], Any] = print, checkpoint: str = "best",
            limit: int | None = 2000, probe_epochs: int = 5, on_event: Callable[[Any], None] | None = None,
            ) -> dict[str, Any]:
    """Compute what was asked (none asked: errors and pca) and store it under ``<run>/analysis/``.

    errors: the checkpoint's top-5 test predictions -> ``predictions.npz``;
    pca: its feature space on ``limit`` test images -> ``pca.npz``;
    probe: a linear-probe run trained from this run -> ``probe.json``.
    ``summary.json`` records each part with its checkpoint, epoch and time (parts
    not recomputed now are kept). Returns that summary. Never takes the run's
    lock: a running run is analysed at its newest checkpoint.
    """
    run_dir = Path(run_dir)
    if not (errors or pca or probe):
        errors = pca = True
    run_id, _ = read_run_config(run_dir)  # an unreadable run fails here, before anything is written
    check_writable(analysis_dir(run_dir))  # and a read-only run here, before minutes of work
    summary = {**read_summary(run_dir), "format": 1, "run_id": run_id}
    if errors or pca:
        loaded = load_run_model(run_dir, device, checkpoint)
        log(f"run {run_id}: {loaded.where}, {len(loaded.data.test)} test images, on {loaded.device}")
        origin = {"checkpoint": loaded.checkpoint, "epoch": loaded.epoch, "step": loaded.step, "device": str(loaded.device)}
        if errors:
            summary["errors"] = {**origin, **_analyze_errors(run_dir, loaded, log)}
        if pca:
            summary["pca"] = {**origin, **_analyze_pca(run_dir, loaded, limit, log)}
    if probe:
        summary["probe"] = _analyze_probe(run_dir, run_id, probe_epochs, device, log, on_event)
    summary["updated_at"] = utc_now()
    atomic_write_json(analysis_dir(run_dir, create=True) / SUMMARY_FILE, summary)
    return summary


def _analyze_errors(run_dir: Path, loaded: LoadedRun, log: Callable[[str], Any]) -> dict[str, Any]:
    log(f"predicting {len(loaded.data.test)} test images with {loaded.where}")
    preds = compute_predictions(loaded)
    path = save_predictions(run_dir, preds)
    return {**errors_summary(preds, loaded.class_names), "file": f"{ANALYSIS_DIR}/{path.name}", "computed_at": utc_now()}


def _analyze_pca(run_dir: Path, loaded: LoadedRun, limit: int | None, log: Callable[[str], Any]) -> dict[str, Any]:
    n = len(loaded.data.test)
    log(f"features of {min(limit or n, n)} test images with {loaded.where}")
    fs = feature_space(loaded, limit)
    path = save_feature_space(run_dir, fs)
    return {"n_images": len(fs.labels), "dim": fs.dim, "layer": fs.layer, "explained": fs.explained,
            "file": f"{ANALYSIS_DIR}/{path.name}", "computed_at": utc_now()}


def _analyze_probe(run_dir: Path, run_id: str, epochs: int, device: str, log: Callable[[str], Any],
                   on_event: Callable[[Any], None] | None) -> dict[str, Any]:
    log(f"training a linear probe of run {run_id} ({epochs} epoch{'s' if epochs != 1 else ''})")
    result = train_probe(run_dir, epochs=epochs, on_event=on_event, device=device)
    if result.status != "completed":
        raise UserError(f"the probe run {result.run_id} ended {result.status}" + (f": {result.error}" if result.error else ""))
    return {**(read_probe(run_dir) or {}), "file": f"{ANALYSIS_DIR}/{PROBE_FILE}", "computed_at": utc_now()}
