"""What the training loop tells the outside world: frozen, typed events.

The loop calls ``on_event(event)`` from whatever thread it runs in. The TUI
turns these into Textual messages; the headless reporter prints them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable


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


@dataclass(frozen=True)
class PhaseProgress:
    """Work outside the training steps that is long enough to watch: extracting and decoding the data,
    the feature cache's pass, evaluation. Throttled (~5/s) like StepDone; a consumer may drop all but the
    newest. ``done == total`` ends the phase (always sent)."""

    phase: str
    """What is being done, in words: 'decoding images', 'evaluating val'."""
    done: int
    total: int | None
    """None: not known ahead (a tarball read as a stream counts its bytes instead)."""
    unit: str = "images"
    rate: float = 0.0
    """``unit`` per second so far."""
    eta_s: float | None = None
    """Seconds left in this phase."""
    run_eta_s: float | None = None
    """Seconds left in the whole run, where the phase is part of one (evaluation)."""


@dataclass(frozen=True)
class GpuSample:
    index: int
    name: str
    util_pct: float
    mem_used: int
    mem_total: int
    temp_c: float | None = None
    power_w: float | None = None


@dataclass(frozen=True)
class SystemSample:
    """One look at the machine, at most once a second (engine.device.system): the dashboard's system
    line, the headless progress lines."""

    cpu_pct: float
    """This process's CPU time over the last interval, in % of one core (200 = two cores busy)."""
    rss: int
    """This process's resident memory, bytes."""
    disk_free: int | None
    """Free bytes on the file system the run writes to."""
    gpus: tuple[GpuSample, ...] = field(default_factory=tuple)


Event = RunStarted | StepDone | EpochDone | Log | RunEnded | PhaseProgress | SystemSample


class PhaseTicker:
    """Reports one phase's progress to ``emit``, at most every ``interval`` seconds, and always its end.

    ``run_eta(phase_eta, rate)``: the whole run's ETA, where the phase is part of one.
    """

    def __init__(self, emit: Callable[[Any], None], phase: str, total: int | None, unit: str = "images",
                 interval: float = 0.2, run_eta: Callable[[float | None, float], float | None] | None = None):
        self.emit, self.phase, self.total, self.unit = emit, phase, total, unit
        self.interval, self.run_eta = interval, run_eta
        self.started = self.last = time.perf_counter()
        self.done = 0
        self.sent = -1
        self._send(0)

    def advance(self, n: int) -> None:
        self.update(self.done + n)

    def update(self, done: int) -> None:
        self.done = done
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            self._send(done)

    def finish(self) -> None:
        if self.total is not None:
            self.done = self.total
        if self.sent != self.done:
            self._send(self.done)

    def _send(self, done: int) -> None:
        self.sent = done
        spent = time.perf_counter() - self.started
        rate = done / spent if spent > 0 else 0.0
        eta = (self.total - done) / rate if self.total is not None and rate > 0 else None
        self.emit(PhaseProgress(self.phase, done, self.total, self.unit, round(rate, 1), eta,
                                self.run_eta(eta, rate) if self.run_eta is not None else None))


def no_progress(event: Any) -> None:
    """The ``emit`` of a caller that watches no progress."""
