"""Optimizers and a step-wise learning-rate schedule.

The schedule is a pure function of the global step (plus a plateau factor),
so resuming a run only needs the step count, and two-phase training can
switch to its phase-2 rate without rebuilding anything.
"""
from __future__ import annotations

import math

import torch

from .accel import optimizer_kwargs
from .config import RunConfig


def build_optimizer(config: RunConfig, params, device: torch.device | None = None) -> torch.optim.Optimizer:
    """SGD (momentum, nesterov), Adam or AdamW over the given parameters.

    ``device``: where the parameters live; picks the fused / foreach implementation
    (engine.accel). None: PyTorch's own default.
    """
    params = list(params)
    impl = optimizer_kwargs(device, config.optimizer) if device is not None else {}
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum,
            nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay, **impl,
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, **impl)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, **impl)


class LRSchedule:
    """lr(step) for none / cosine / step / onecycle / plateau, with linear warm-up.

    two-phase: steps from ``phase2_start`` on follow the same shape, scaled to
    ``phase2_lr`` and restarted, since the unfrozen backbone needs a tiny rate.
    """

    def __init__(self, config: RunConfig, steps_per_epoch: int, phase2_epoch: int | None = None):
        self.c = config
        self.spe = steps_per_epoch
        self.total = config.epochs * steps_per_epoch
        self.phase2_start = (phase2_epoch - 1) * steps_per_epoch if phase2_epoch else None
        self.plateau_scale = 1.0
        self._best = -math.inf
        self._bad_epochs = 0

    def lr(self, step: int) -> float:
        """Learning rate for a 0-based global step."""
        base, start, end = self.c.lr, 0, self.total
        if self.phase2_start is not None:
            if step >= self.phase2_start:
                base, start = self.c.phase2_lr, self.phase2_start
            else:
                end = self.phase2_start
        t, span = step - start, max(1, end - start)
        warm = int(self.c.warmup_epochs * self.spe) if start == 0 else 0
        if warm and t < warm:
            return base * (t + 1) / warm
        frac = (t - warm) / max(1, span - warm)
        kind = self.c.schedule
        if kind == "cosine":
            return base * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))
        if kind == "step":  # /10 at 50% and 75% of training
            return base * (0.1 ** ((frac >= 0.5) + (frac >= 0.75)))
        if kind == "onecycle":  # up for 30%, then cosine down to ~0
            if frac < 0.3:
                return base * (0.04 + 0.96 * frac / 0.3)
            return base * 0.5 * (1 + math.cos(math.pi * (frac - 0.3) / 0.7))
        if kind == "plateau":
            return base * self.plateau_scale
        return base

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        """Set every param group's lr for this step; returns it."""
        lr = self.lr(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def epoch_end(self, metric: float, patience: int = 2, factor: float = 0.5) -> None:
        """ReduceLROnPlateau: halve the rate after `patience` epochs without a better metric."""
        if metric > self._best + 1e-4:
            self._best, self._bad_epochs = metric, 0
        else:
            self._bad_epochs += 1
            if self._bad_epochs >= patience:
                self.plateau_scale *= factor
                self._bad_epochs = 0

    def state_dict(self) -> dict:
        return {"plateau_scale": self.plateau_scale, "best": self._best, "bad": self._bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.plateau_scale, self._best, self._bad_epochs = state["plateau_scale"], state["best"], state["bad"]
