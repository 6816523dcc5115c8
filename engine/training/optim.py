"""Optimizers and a step-wise learning-rate schedule.

The schedule is a pure function of the global step (plus a plateau factor),
so resuming a run only needs the step count, and two-phase training can
switch to its phase-2 rate without rebuilding anything.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from engine.device.accel import optimizer_kwargs
from engine.config import RunConfig


def build_optimizer(config: RunConfig, params, device: torch.device | None = None) -> torch.optim.Optimizer:
    """SGD (momentum, nesterov), Adam or AdamW over the given parameters; under Lookahead if asked.

    ``device``: where the parameters live; picks the fused / foreach implementation
    (engine.device.accel). None: PyTorch's own default.
    """
    params = list(params)
    impl = optimizer_kwargs(device, config.optimizer) if device is not None else {}
    inner = _base_optimizer(config, params, impl)
    return Lookahead(inner, config.lookahead) if config.lookahead else inner  # type: ignore[return-value]


def _base_optimizer(config: RunConfig, params: list, impl: dict[str, Any]) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum,
            nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay, **impl,
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, **impl)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, **impl)


class Lookahead:
    """Lookahead (Zhang et al., 2019) around any optimizer: every ``k`` steps the slow weights move
    ``alpha`` of the way to the fast ones, and the fast ones restart from there.

    The fast weights explore with the full learning rate; the slow copy averages
    their last k steps, which damps the noise of a large rate the way an EMA of
    weights does, but the model always *is* the averaged weights after a sync, so
    evaluation, BatchNorm statistics and checkpoints need nothing extra.

    Used where an optimizer is (param_groups for the schedule, zero_grad, step,
    state_dict): the slow weights and the step count live in its state dict, so
    they ride in every checkpoint and a resumed run continues bit for bit.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, k: int, alpha: float = 0.5):
        self.optimizer, self.k, self.alpha = optimizer, k, alpha
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        self.slow = [p.detach().clone() for p in self.params]
        self.steps = 0

    @property
    def param_groups(self) -> list[dict]:
        return self.optimizer.param_groups

    @property
    def state(self) -> dict:
        return self.optimizer.state

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self) -> None:
        self.optimizer.step()
        self.steps += 1
        if self.steps % self.k:
            return
        for p, slow in zip(self.params, self.slow):
            if p.requires_grad:  # a frozen part never moved: its copy stays exactly equal
                slow.lerp_(p, self.alpha)
                p.copy_(slow)

    def state_dict(self) -> dict:
        return {"inner": self.optimizer.state_dict(), "slow": [s.clone() for s in self.slow], "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["inner"])
        for slow, saved in zip(self.slow, state["slow"]):
            slow.copy_(saved)
        self.steps = int(state["steps"])


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
