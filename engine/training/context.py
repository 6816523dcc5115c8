"""Context: what one run's epochs share, built once before the first step (engine.training.loop._prepare).

The loop's helpers (evaluation, snapshot, the run book, the torchrun side, the feature cache) take it
as their one argument about the run; they import it from here, never from the loop.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import torch
import torch.nn as nn

from engine.config import RunConfig
from engine.control import Control
from engine.data.load import Dataset
from engine.data.pipeline import Pipeline
from engine.device.distributed import SINGLE, Dist
from engine.events import Event
from engine.models.strategies import Plan
from engine.training.optim import LRSchedule

if TYPE_CHECKING:
    from engine.training.feature_cache import FeatureCache
    from engine.training.snapshot import Partial


@dataclass
class Context:
    """Everything one run's epochs share (built once by _prepare)."""

    config: RunConfig
    device: torch.device
    data: Dataset
    model: nn.Module
    forward: Any
    """The model, or its torch.compile wrapper (same calls, same .train()/.eval())."""
    plan: Plan
    pipeline: Pipeline
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    criterion: nn.Module
    gen: torch.Generator
    steps_per_epoch: int
    emit: Callable[[Event], None]
    control: Control
    global_step: int = 0
    started: float = field(default_factory=time.perf_counter)
    epoch_times: list[float] = field(default_factory=list)
    """This session's epochs, for the ETA: each one's steps at its own pace, pauses and a feature cache's
    one-off build left out, and its evaluation (a resumed epoch counts whole, at the pace of the steps it
    ran). A resumed run measures afresh: the sessions before may have run on another machine or beside
    other work (a checkpoint keeps the wall time, not these)."""
    epoch: int = 0
    """The epoch being trained or evaluated now."""
    step_s: float | None = None
    """Seconds per step of the epoch this session trained last (pauses left out)."""
    eval_time_s: float = 0.0
    """The last evaluation's seconds: the ETA counts it for the epoch in progress too."""
    start_epoch: int = 1
    partial: Partial | None = None
    """A resumed run's unfinished epoch: its permutation, step and running sums."""
    feature_cache: FeatureCache | None = None
    """A frozen backbone's features, computed once: the steps and evaluation run only the rest."""
    feature_cache_decided: bool = False
    dist: Dist = SINGLE
    """This process's rank in a torchrun job (SINGLE for one process)."""
    aug_gen: torch.Generator = None  # type: ignore[assignment]  # set by _prepare
    """Augmentation draws: ``gen`` itself in one process; per rank under torchrun, while ``gen`` (the
    permutation) stays identical on every rank."""
    eval_model: nn.Module | None = None
    """What evaluation runs: ``forward`` without the DistributedDataParallel wrapper (whose forward is a
    collective every rank would have to call the same number of times)."""

    def elapsed(self) -> float:
        """Training wall time so far, across every session of a resumed run."""
        return time.perf_counter() - self.started

    def set_elapsed(self, seconds: float) -> None:
        self.started = time.perf_counter() - seconds

    def epoch_s(self, step_s: float | None = None, eval_s: float | None = None) -> float | None:
        """An epoch's expected seconds: this session's measured mean; before one is measured, its steps at
        ``step_s`` (by default the last trained epoch's pace) and an evaluation of ``eval_s`` seconds (by
        default the last one's); None before any step was timed."""
        if self.epoch_times:
            return sum(self.epoch_times) / len(self.epoch_times)
        pace = step_s if step_s is not None else self.step_s
        if pace is None:
            return None
        return pace * self.steps_per_epoch + (eval_s if eval_s is not None else self.eval_time_s)

    def epoch_measured(self, eval_s: float) -> None:
        """Count the epoch just trained and evaluated (in ``eval_s`` seconds) in the ETA."""
        self.eval_time_s = eval_s
        self.epoch_times.append((self.step_s or 0.0) * self.steps_per_epoch + eval_s)

    def eta_after(self, epoch: int, eval_s: float | None = None) -> float | None:
        """Seconds for the epochs after ``epoch`` (``eval_s``: an evaluation's, where none is timed yet)."""
        per_epoch = self.epoch_s(eval_s=eval_s)
        return None if per_epoch is None else (self.config.epochs - epoch) * per_epoch
