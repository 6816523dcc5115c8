"""A saved run's model, rebuilt from its own files for analysis (``engine.analysis.load_run_model``).

The model is built from the run's config.json, its checkpoint's weights are
loaded, and the run's dataset is read exactly as the run saw it (its limits,
validation split, seed), so the evaluation transform (resize and the run's
normalisation) is the one its test evaluations used.

Works on a finished run and on one still training: nothing here takes the
run's lock or writes into it. Checkpoints are replaced atomically (a temp file
renamed into place), so a reader sees an old or a new file, never half of
one; the bytes read are hashed and checked against the manifest, and when a
writer replaced the file in between, it is read again.

torch is imported inside the functions: the app imports engine.analysis
without it.
"""
from __future__ import annotations

import hashlib
import io
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RunConfig, UserError
from .data import Dataset

CHECKPOINTS = ("best", "last")
_READ_TRIES = 4


@dataclass
class LoadedRun:
    """A run's trained model in eval mode with the data and transform it was evaluated with."""

    run_id: str
    run_dir: Path
    config: RunConfig
    spec: Any
    """engine.models.ModelSpec of the run's model."""
    model: Any
    """torch.nn.Module in eval mode, on ``device``."""
    pipeline: Any
    """engine.pipeline.Pipeline; use its ``eval_batch`` (the run's test-time transform)."""
    data: Dataset
    """The run's dataset exactly as it saw it (numpy splits, on the host)."""
    input_size: int
    class_names: list[str]
    device: Any
    """torch.device the model is on."""
    checkpoint: str
    """The file the weights came from: 'best.pt', 'last.pt' or 'prev.pt'."""
    epoch: int
    """Epochs the checkpoint's weights had completed."""
    step: int = 0
    """> 0: the checkpoint was saved mid-epoch (a stopped run), this many steps into epoch ``epoch + 1``."""

    @property
    def where(self) -> str:
        """'best.pt (epoch 3)': which weights, for messages."""
        mid = f", step {self.step} of epoch {self.epoch + 1}" if self.step else ""
        return f"{self.checkpoint} (epoch {self.epoch}{mid})"


def read_run_config(run_dir: str | Path) -> tuple[str, RunConfig]:
    """(run id, RunConfig with downloads off) of a saved run; UserError when it cannot be read."""
    from .runs import load_run

    info = load_run(run_dir)
    if info.error:
        raise UserError(f"run {info.run_id} is unreadable ({info.error})")
    try:
        config = RunConfig.from_dict(info.config).replace(download=False)
    except (TypeError, ValueError) as exc:
        raise UserError(f"run {info.run_id}'s config.json cannot be used ({exc})") from None
    return info.run_id, config


def load_run_data(run_id: str, config: RunConfig) -> Dataset:
    """The run's dataset as it saw it (never downloads); UserError naming the run when it is missing."""
    from .data import load_config_dataset

    try:
        return load_config_dataset(config.replace(download=False))
    except UserError as exc:
        raise UserError(f"the data run {run_id} was trained on cannot be loaded: {exc}") from None


def checkpoint_candidates(folder: Path, checkpoint: str) -> list[Path]:
    """The files to try, in order: best -> best.pt if present, else the last chain; last -> last.pt, prev.pt.

    A best.pt that exists but does not verify is refused, not swapped for last.pt
    (the caller asked for the run's best model and must not analyse another silently).
    """
    if checkpoint not in CHECKPOINTS:
        raise UserError(f"unknown checkpoint {checkpoint!r}; choose best or last")
    if checkpoint == "best" and (folder / "best.pt").is_file():
        return [folder / "best.pt"]
    return [p for p in (folder / "last.pt", folder / "prev.pt") if p.is_file()]


def read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model state dict, checkpoint info: epoch, step) of a run's checkpoint, verified on the bytes loaded."""
    import torch

    from .runs.checkpoint import check_finite, check_torch_format

    data, entry = _verified_bytes(path)
    check_torch_format(path, data[:8])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is "not a usable checkpoint"
        reason = "it holds objects other than tensors" if "weights_only" in str(exc) else type(exc).__name__
        raise UserError(f"{path} is not a PyTorch checkpoint ({reason})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
        raise UserError(f"{path} is not a cifar-tui checkpoint")
    state = {k.removeprefix("_orig_mod."): v for k, v in obj["model"].items()}
    check_finite(state, path)
    epoch, step = obj.get("epoch", entry.get("epoch", 0)), entry.get("step", 0)
    return state, {"epoch": int(epoch) if isinstance(epoch, int) else 0, "step": int(step) if isinstance(step, int) else 0}


def _verified_bytes(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and their manifest entry: the sha256 of exactly the bytes that will be unpickled.

    A miss is read again a few times (a writer may have replaced the file and pruned the
    manifest between our two reads) before it is refused.
    """
    from .runs.checkpoint import MANIFEST, _read_entries

    entry: dict[str, Any] | None = None
    data, seen = b"", None
    for attempt in range(_READ_TRIES):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"checkpoint {path} is missing") from None
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}") from None
        entries = _read_entries(path.parent / MANIFEST)
        if entries is None:
            raise UserError(f"checkpoint {path} has no recorded checksum (written before checksums were kept); "
                            "it cannot be verified")
        sha = hashlib.sha256(data).hexdigest()
        entry = entries.get(sha)
        if entry is not None or (sha, sorted(entries)) == seen:
            break  # verified, or the same bytes and manifest twice: damaged, not a writer mid-rotation
        seen = (sha, sorted(entries))
        time.sleep(0.05 * (attempt + 1))
    if not data:
        raise UserError(f"checkpoint {path} is empty (a write was cut off)")
    if entry is None:
        raise UserError(f"checkpoint {path} does not match its recorded sha256: truncated, corrupted or replaced")
    return data, entry


def newest_checkpoint(run_dir: Path, run_id: str, checkpoint: str = "best") -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """(path, state dict, info) of the run's best (else newest) checkpoint that verifies."""
    candidates = checkpoint_candidates(run_dir / "checkpoints", checkpoint)
    if not candidates:
        raise UserError(f"run {run_id} has no checkpoint yet; train it with checkpoints on "
                        "(a running run has one after its first epoch)")
    reasons = []
    for path in candidates:
        try:
            state, info = read_checkpoint(path)
        except UserError as exc:
            reasons.append(str(exc))
            continue
        return path, state, info
    raise UserError("; ".join(reasons) if len(reasons) == 1 else "no usable checkpoint: " + "; ".join(reasons))


def load_run_model(run_dir: str | Path, device: str = "cpu", checkpoint: str = "best") -> LoadedRun:
    """Rebuild a saved run's model from its checkpoint, with its data and evaluation pipeline.

    ``checkpoint``: "best" (best.pt, else the newest: a run stopped before any
    best) or "last" (last.pt, else prev.pt when last.pt does not verify).
    UserError (one line) when the run is unreadable, has no usable checkpoint
    or its dataset is not on this machine.
    """
    from .environment import resolve_device
    from .models import MODELS
    from .pipeline import run_pipeline
    from .strategies import build_model, load_matching

    run_dir = Path(run_dir)
    run_id, config = read_run_config(run_dir)
    spec = MODELS.get(config.model)
    if spec is None:
        raise UserError(f"run {run_id} uses model {config.model!r}, which this version does not have")
    path, weights, info = newest_checkpoint(run_dir, run_id, checkpoint)  # before the (slower) dataset read
    dev = resolve_device(device)
    data = load_run_data(run_id, config)
    size = config.image_size or spec.input_size or data.image_size
    model, _ = build_model(config, spec, data.num_classes, data.channels, size, load_weights=False)
    load_matching(model, weights, spec, source=f"run {run_id}")
    model = model.to(dev).eval()
    pipe = run_pipeline(config.replace(channels_last=False), data, rgb_only=spec.rgb_only, input_size=size, device=dev)
    return LoadedRun(run_id, run_dir, config, spec, model, pipe, data, size, list(data.class_names), dev,
                     path.name, info["epoch"], info["step"])


def autocast(loaded: LoadedRun) -> Any:
    """bf16 autocast on CUDA when the run trained with AMP (as its evaluations ran); nothing elsewhere."""
    import contextlib

    import torch

    if loaded.device.type == "cuda" and loaded.config.amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def predict_top(loaded: LoadedRun, x: Any, k: int) -> tuple[Any, Any]:
    """The k most probable classes (ids, probs) of a uint8 batch already on the loaded run's device,
    through the run's own evaluation transform: what analyze, predict and the drill-down store."""
    import torch

    from .metrics import top_probs

    with torch.no_grad(), autocast(loaded):
        logits = loaded.model(loaded.pipeline.eval_batch(x))
    return top_probs(logits, k)
