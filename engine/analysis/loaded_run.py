"""A saved run's model, rebuilt from its own files for analysis (``engine.analysis.analyze.load_run_model``).

The model is built from the run's config.json, its checkpoint's weights are
loaded, and the run's dataset is read exactly as the run saw it (its limits,
validation split, seed), so the evaluation transform (resize and the run's
normalisation) is the one its test evaluations used.

Works on a finished run and on one still training: nothing here takes the
run's lock or writes into it. Checkpoints are replaced atomically (a temp file
renamed into place), so a reader sees an old or a new file, never half of
one; engine.runs.checkpoint hashes the bytes it loads against the manifest, and
reads again when a writer replaced the file in between.

torch is imported inside the functions: the app imports engine.analysis.analyze
without it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import RunConfig, UserError
from engine.data.load import Dataset
from engine.models.facts import pick_input_size
from engine.models.source import check_model_source
from engine.runs.checkpoint import newest_checkpoint



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
    """engine.data.pipeline.Pipeline; use its ``eval_batch`` (the run's test-time transform)."""
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
    from engine.runs import load_run

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
    from engine.data.load import load_config_dataset

    try:
        return load_config_dataset(config.replace(download=False))
    except UserError as exc:
        raise UserError(f"the data run {run_id} was trained on cannot be loaded: {exc}") from None


def load_run_model(run_dir: str | Path, device: str = "cpu", checkpoint: str = "best") -> LoadedRun:
    """Rebuild a saved run's model from its checkpoint, with its data and evaluation pipeline.

    ``checkpoint``: "best" (best.pt, else the newest: a run stopped before any
    best) or "last" (last.pt, else prev.pt when last.pt does not verify).
    UserError (one line) when the run is unreadable, has no usable checkpoint
    or its dataset is not on this machine.
    """
    from engine.device.environment import resolve_device
    from engine.models.registry import get_spec
    from engine.data.pipeline import run_pipeline
    from engine.models.strategies import build_model, load_matching

    run_dir = Path(run_dir)
    run_id, config = read_run_config(run_dir)
    check_model_source(run_dir)
    try:
        spec = get_spec(config.model, config.head)
    except UserError as exc:
        raise UserError(f"run {run_id}'s model {config.model!r} cannot be rebuilt: {exc}") from None
    path, weights, info = newest_checkpoint(run_dir, run_id, checkpoint)  # before the (slower) dataset read
    dev = resolve_device(device)
    data = load_run_data(run_id, config)
    size = pick_input_size(config.image_size, spec.input_size, data.image_size)
    model, _ = build_model(config, spec, data.num_classes, data.channels, size, load_weights=False)
    load_matching(model, weights, spec, source=f"run {run_id}")
    model = model.to(dev).eval()
    pipe = run_pipeline(config.replace(channels_last=False), data, rgb_only=spec.rgb_only, input_size=size, device=dev)
    return LoadedRun(run_id, run_dir, config, spec, model, pipe, data, size, list(data.class_names), dev,
                     path.name, info["epoch"], info["step"])


def autocast(loaded: LoadedRun) -> Any:
    """The autocast the run's own evaluations ran under (engine.device.accel's one policy)."""
    from engine.device.accel import autocast as device_autocast

    return device_autocast(loaded.config, loaded.device)


def predict_top(loaded: LoadedRun, x: Any, k: int) -> tuple[Any, Any]:
    """The k most probable classes (ids, probs) of a uint8 batch already on the loaded run's device,
    through the run's own evaluation transform: what analyze, predict and the drill-down store."""
    import torch

    from engine.training.metrics import top_probs

    with torch.no_grad(), autocast(loaded):
        logits = loaded.model(loaded.pipeline.eval_batch(x))
    return top_probs(logits, k)
