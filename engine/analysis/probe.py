"""Linear probes of a run: how linearly separable its frozen features are (study 001).

A probe is an ordinary run (strategy ``linear-probe``, ``from_run`` = the run):
the run's best checkpoint, frozen, with one fresh linear layer trained where
the spec's probe (else head) is. ``train_probe`` starts one with study 001's
probe recipe (the ``001-*-linear-probe`` presets: SGD 0.01, momentum 0.9,
batch 256, no augmentation, no schedule) on the run's own data, and records the
outcome in ``<run>/analysis/probe.json``; ``probe_runs`` finds every completed
probe of a run in its runs directory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from engine.config import RunConfig, UserError
from engine.runs.layout import analysis_dir, has_weights

PROBE_FILE = "probe.json"
PROBE_PRESET = "001-alexnet-linear-probe"
# What the probe takes from the study's preset: how it trains, never what it trains on.
_RECIPE = ("batch_size", "optimizer", "lr", "momentum", "nesterov", "weight_decay", "schedule", "crop", "flip")
# What it takes from the probed run: the same data, seen the same way.
_SAME_AS_RUN = ("dataset", "data_dir", "folder_size", "model", "image_size", "train_limit", "test_limit",
                "val_split", "seed", "amp", "channels_last", "eval_batch_size")


def _number(x: object) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and x == x else None


def run_test_acc(summary: dict[str, Any]) -> float | None:
    """A run's headline test accuracy (where its study measures it), else its last epoch's."""
    value = _number(summary.get("headline_acc"))
    return value if value is not None else _number(summary.get("test_acc"))


def _probes_run(from_run: object, runs_dir: Path, run_id: str) -> bool:
    """Whether a probe's ``from_run`` reference names the run ``run_id`` (as resolved now)."""
    from engine.runs import resolve_run

    if not isinstance(from_run, str) or not from_run:
        return False
    if from_run == run_id or Path(from_run).name == run_id:
        return True
    try:
        return resolve_run(runs_dir, from_run).name == run_id
    except UserError:
        return False


def probe_runs(runs_dir: str | Path, run_id: str) -> list[dict[str, Any]]:
    """The completed linear-probe runs of ``run_id`` in ``runs_dir``, newest first.

    Each: run_id, test_acc (its headline, else last test accuracy), epochs, path.
    """
    return probes_of(runs_dir, [run_id])[run_id]


def probes_of(runs_dir: str | Path, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """``probe_runs`` for several runs with one scan of the runs directory (compare)."""
    from engine.runs import RunStatus, list_runs

    out: dict[str, list[dict[str, Any]]] = {r: [] for r in run_ids}
    for info in list_runs(runs_dir):
        if info.config.get("strategy") != "linear-probe" or info.status != RunStatus.COMPLETED:
            continue
        for run_id in run_ids:
            if _probes_run(info.config.get("from_run"), Path(runs_dir), run_id):
                out[run_id].append({"run_id": info.run_id, "test_acc": run_test_acc(info.summary),
                                    "epochs": info.summary.get("epochs_done"), "path": str(info.path)})
    return out


def probe_config(run_dir: str | Path, epochs: int = 5, *, device: str | None = None, lr: float | None = None,
                 batch_size: int | None = None) -> RunConfig:
    """The RunConfig of a linear probe of the run: its data and model, study 001's probe recipe, ``from_run`` = it.

    The recipe is preset 001-alexnet-linear-probe's (SGD lr 0.01, momentum 0.9,
    batch 256, no weight decay, schedule or augmentation) for ``epochs``
    epochs; ``lr`` and ``batch_size`` override it. The probe is saved beside
    the run (same runs directory) and trains on ``device`` (None: where the run did).
    """
    from engine.analysis.loaded_run import read_run_config
    from engine.presets import get_preset

    run_dir = Path(run_dir)
    run_id, config = read_run_config(run_dir)
    if config.strategy == "linear-probe":
        raise UserError(f"run {run_id} is itself a linear probe; probe the run it was trained from "
                        f"({config.from_run})")
    recipe = {k: v for k, v in get_preset(PROBE_PRESET).overrides.items() if k in _RECIPE}
    if lr is not None:
        recipe["lr"] = lr
    if batch_size is not None:
        recipe["batch_size"] = batch_size
    same = {k: getattr(config, k) for k in _SAME_AS_RUN}
    return RunConfig(**same, **recipe, strategy="linear-probe", from_run=run_id, epochs=epochs, download=False,
                     device=device or config.device, runs_dir=str(run_dir.parent),
                     extra={"probe_of": run_id, "recipe": f"preset {PROBE_PRESET}"})


def train_probe(run_dir: str | Path, epochs: int = 5, on_event: Callable[[Any], None] | None = None, *,
                device: str | None = None, lr: float | None = None, batch_size: int | None = None) -> Any:
    """Train a linear probe of the run (a new run beside it) and record it in ``analysis/probe.json``.

    Study 001's probe recipe (preset 001-alexnet-linear-probe: SGD lr 0.01,
    momentum 0.9, batch 256, no augmentation) for ``epochs`` epochs; ``lr`` and
    ``batch_size`` override it (a small training set needs more, smaller steps).
    ``device``: None trains where the run did. Returns engine.training.loop's RunResult;
    probe.json ({probe_run_id, test_acc, run_test_acc, epochs, ...}) is written
    only when the probe completed.
    """
    from engine.runs import load_run
    from engine.runs.files import atomic_write_json, utc_now
    from engine.training.loop import train

    run_dir = Path(run_dir)
    probe = probe_config(run_dir, epochs, device=device, lr=lr, batch_size=batch_size)
    if not has_weights(run_dir):
        raise UserError(f"run {run_dir.name} has no checkpoint yet; a probe needs its trained weights")
    result = train(probe, on_event)
    if result.status == "completed":
        own = load_run(run_dir).summary
        record = {"probe_run_id": result.run_id, "test_acc": run_test_acc(result.summary),
                  "run_test_acc": run_test_acc(own), "run_epochs_done": own.get("epochs_done"), "epochs": epochs,
                  "created_at": utc_now()}
        atomic_write_json(analysis_dir(run_dir, create=True) / PROBE_FILE, record)
    return result


def read_probe(run_dir: str | Path) -> dict[str, Any] | None:
    """``analysis/probe.json`` (None when there is none or it cannot be read)."""
    from engine.runs.files import read_json

    try:
        data = read_json(analysis_dir(run_dir) / PROBE_FILE)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
