"""What the training loop tells the outside world: frozen, typed events.

The loop calls ``on_event(event)`` from whatever thread it runs in. The TUI
turns these into Textual messages; the headless reporter prints them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunStarted:
    """The data is loaded, the model built, the run directory created."""

    run_id: str
    run_dir: str
    config: dict[str, Any]
    device: str
    class_names: list[str]
    params_total: int
    params_trainable: int
    n_train: int
    n_val: int
    n_test: int
    steps_per_epoch: int
    input_size: int
    start_epoch: int = 1
    """> 1 when a run is resumed: the epoch it continues with."""
    start_step: int = 0
    """Steps of start_epoch already done before a mid-epoch stop (resume continues after them)."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """A resumed run's earlier epoch records (metrics.jsonl lines), so a dashboard can draw them."""


@dataclass(frozen=True)
class StepDone:
    """A throttled progress tick (~10/s). Consumers may drop all but the newest."""

    epoch: int
    step: int
    steps_per_epoch: int
    loss: float
    lr: float
    img_per_s: float
    elapsed_s: float
    eta_s: float | None
    gpu_mem: int | None = None
    """Bytes of CUDA memory allocated now (None on the CPU)."""
    gpu_peak: int | None = None
    """Peak bytes allocated since the run started (torch.cuda.max_memory_allocated; None on the CPU)."""


@dataclass(frozen=True)
class EpochDone:
    """One epoch trained and evaluated. Never dropped."""

    epoch: int
    epochs: int
    metrics: dict[str, Any]
    """train_loss, train_acc, val_*, test_loss, test_acc, test_top5, lr, img_per_s, epoch_time_s."""
    per_class_acc: list[float]
    confusion: list[list[int]]
    is_best: bool
    elapsed_s: float
    eta_s: float | None


@dataclass(frozen=True)
class Log:
    """A line for the log panel: info, warning or error."""

    level: str
    message: str


@dataclass(frozen=True)
class RunEnded:
    """Training finished, was stopped, diverged or failed. Always the last event."""

    status: str
    run_id: str
    run_dir: str
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


Event = RunStarted | StepDone | EpochDone | Log | RunEnded
