"""One epoch of training: ``train_one_epoch(ctx, book, epoch, partial) -> stats | Partial``.

Each step indexes its batch from the device-resident uint8 set, augments it in one batched
pass (or reads the frozen part's stored features), and takes one optimizer step. The epoch's
sums stay on the device until its end; the host reads a step's loss only when a progress event
is due (~10/s), so a GPU is never stalled once a step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import torch

from engine.device import accel, distributed
from engine.events import StepDone
from engine.training import data_parallel
from engine.training.snapshot import Partial

if TYPE_CHECKING:
    from engine.training.context import Context
    from engine.training.run_book import RunBook

STEP_EVENT_INTERVAL_S = 0.1
"""Seconds between two StepDone events: ~10 Hz is a live chart, and one host sync each."""


def train_one_epoch(ctx: Context, book: RunBook, epoch: int, partial: Partial | None = None) -> dict[str, float] | Partial:
    """One pass over the shuffled training set (continuing ``partial``); a Partial if a stop was requested."""
    ctx.forward.train()  # the wrappers too (TTA acts in eval mode only): evaluate() left them in eval
    ctx.plan.train_mode(ctx.model)
    tally = _Tally.resume(partial or _new_partial(ctx))
    lr = ctx.schedule.lr(ctx.global_step)
    for step in range(tally.first_step, ctx.steps_per_epoch):
        tally.paused_s += _wait_while_paused(ctx)
        stop, agreed = data_parallel.stop_and_loss(ctx, book, epoch, step, tally.pending)
        if stop:
            return data_parallel.stopped(ctx, tally.partial(step))
        lr = ctx.schedule.apply(ctx.optimizer, ctx.global_step)
        now, value = _train_step(ctx, book, tally, epoch, step, agreed)
        if value is not None:
            _report(ctx, book, tally, epoch, step, value, lr, now)
    ctx.step_s = tally.spent(time.perf_counter()) / max(1, ctx.steps_per_epoch - tally.first_step)
    return _epoch_stats(ctx, tally, lr)


class _Batch(NamedTuple):
    idx: torch.Tensor
    """This process's rows of the training set (under torchrun, its share of the global batch)."""
    size: int
    """The global batch's size: each rank's loss is weighted by its share of it."""
    x: torch.Tensor
    target: torch.Tensor
    """What the loss compares with: the labels, or their mix under mixup/cutmix."""
    y: torch.Tensor
    """The labels, for the epoch's train accuracy."""


def _batch(ctx: Context, perm: torch.Tensor, step: int, epoch: int) -> _Batch:
    """The step's rows of the epoch's permutation, made into the model's input and the loss's target."""
    n = ctx.config.batch_size
    rows = perm[step * n : (step + 1) * n]
    idx = distributed.local_slice(rows, ctx.dist) if ctx.dist.active else rows
    y = ctx.data.train.y[idx]
    if ctx.feature_cache is not None:  # the frozen part's stored features, the flip drawn as the pipeline draws it
        return _Batch(idx, len(rows), ctx.feature_cache.train_batch(idx, ctx.aug_gen), y, y)
    x, target = ctx.pipeline.train_batch(ctx.data.train.x[idx], y, ctx.aug_gen, idx=idx, epoch=epoch)
    return _Batch(idx, len(rows), x, target, y)


def _train_step(ctx: Context, book: RunBook, tally: _Tally, epoch: int, step: int,
                agreed: float | None) -> tuple[float, float | None]:
    """One optimizer step on the epoch's ``step``-th batch. Returns the time its forward pass ended and, when a
    progress event is due, the loss to report: read and checked before the step can change the weights."""
    b = _batch(ctx, tally.perm, step, epoch)
    with accel.autocast(ctx.config, ctx.device):
        out = ctx.feature_cache.forward(b.x) if ctx.feature_cache is not None else ctx.forward(b.x)
        loss = ctx.criterion(out, b.target)
    now = time.perf_counter()
    due = now - tally.last_emit >= STEP_EVENT_INTERVAL_S or step == ctx.steps_per_epoch - 1
    value = _step_loss(ctx, book, loss, due, agreed, epoch, step)
    ctx.optimizer.zero_grad(set_to_none=True)
    # DDP averages gradients over ranks; weighting each rank's mean by its share of the global
    # batch keeps that the global batch's mean when a short last batch splits unevenly.
    (loss * (len(b.idx) * ctx.dist.world / b.size) if ctx.dist.active else loss).backward()
    ctx.optimizer.step()
    ctx.global_step += 1
    tally.add(loss, out, b.y)
    return now, value if due else None


def _step_loss(ctx: Context, book: RunBook, loss: torch.Tensor, due: bool, agreed: float | None, epoch: int,
               step: int) -> float | None:
    """The step's loss as a number, or None where reading it would cost a sync for nothing.

    No per-step .item(): on a GPU it would stall the pipeline. The loss is read (and checked for
    divergence) at the first step, at each ~10 Hz event and at the epoch's last step, always before
    any checkpoint, so a diverged step can never be saved; the CPU runs the same path as CUDA.
    Under torchrun it is the ranks' mean loss of the step before, agreed at this step's top.
    """
    if ctx.dist.active:
        return agreed
    if not due and book.loss_ref is not None:
        return None
    value = loss.item()
    book.check_loss(value, f"train loss at epoch {epoch}, step {step + 1}")
    return value


def _report(ctx: Context, book: RunBook, tally: _Tally, epoch: int, step: int, loss: float, lr: float,
            now: float) -> None:
    """A StepDone: the loss, the images per second since this (part of the) epoch began, and the ETA."""
    tally.last_emit = now
    spent = tally.spent(now)
    rate = ctx.dist.world * (tally.seen - tally.seen_before) / max(1e-9, spent)
    book.step_done(StepDone(epoch, step + 1, ctx.steps_per_epoch, loss, lr, rate, ctx.elapsed(),
                            _eta(ctx, epoch, step + 1, spent, tally.first_step), *_gpu_memory(ctx)))


@dataclass
class _Tally:
    """An epoch's running sums and clocks as its steps go: what a stop saves (a Partial) and what the
    epoch's record is made of. The sums are device tensors: adding to them never syncs."""

    perm: torch.Tensor
    first_step: int
    loss_sum: torch.Tensor
    correct: torch.Tensor
    seen: int
    seen_before: int
    """Images seen before this process took the epoch up (a resumed epoch's), left out of the rate."""
    time_before: float
    t0: float
    last_emit: float
    paused_s: float = 0.0
    pending: torch.Tensor | None = None
    """The last step's loss, still on the device: under torchrun the ranks agree on it at the next step."""

    @classmethod
    def resume(cls, p: Partial) -> _Tally:
        now = time.perf_counter()
        return cls(p.perm, p.step, p.loss_sum, p.correct, p.seen, p.seen, p.train_time, now, now)

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        self.loss_sum += loss.detach() * len(y)
        self.correct += (out.argmax(1) == y).sum()
        self.seen += len(y)
        self.pending = loss.detach()

    def spent(self, now: float) -> float:
        """Seconds this process has trained in the epoch so far, pauses left out."""
        return now - self.t0 - self.paused_s

    def train_time(self) -> float:
        return self.time_before + self.spent(time.perf_counter())

    def partial(self, step: int) -> Partial:
        return Partial(self.perm, step, self.loss_sum, self.correct, self.seen, self.train_time())


def _new_partial(ctx: Context) -> Partial:
    """An epoch's start: its permutation (the same on every rank: one seed, one generator) and zero sums."""
    zero = torch.zeros((), device=ctx.device)
    perm = torch.randperm(len(ctx.data.train), device=ctx.device, generator=ctx.gen)
    return Partial(perm, 0, zero, torch.zeros((), device=ctx.device, dtype=torch.long), 0, 0.0)


def _wait_while_paused(ctx: Context) -> float:
    """Seconds spent paused (the app's pause key; never under torchrun, which has no app)."""
    if not ctx.control.paused:
        return 0.0
    p0 = time.perf_counter()
    ctx.control.wait_while_paused()
    return time.perf_counter() - p0


def _epoch_stats(ctx: Context, tally: _Tally, lr: float) -> dict[str, float]:
    """The epoch's training record; under torchrun over every rank's images."""
    loss_sum, correct, seen, train_time = tally.loss_sum, tally.correct, tally.seen, tally.train_time()
    if ctx.dist.active:
        loss_sum, correct_f, seen_t = distributed.all_sum(loss_sum, correct.double(),
                                                          torch.tensor(float(seen), device=ctx.device))
        correct, seen = correct_f.round().long(), int(seen_t.item())
    return {
        "train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen,
        "lr": lr, "img_per_s": round(seen / max(train_time, 1e-9), 1), "train_time_s": round(train_time, 3),
    }


def _eta(ctx: Context, epoch: int, step: int, epoch_elapsed: float, first_step: int = 0) -> float | None:
    """Seconds left: step rate for this epoch and its evaluation, plus whole epochs at this session's length."""
    per_step = epoch_elapsed / max(1, step - first_step)
    this_epoch = per_step * (ctx.steps_per_epoch - step) + ctx.eval_time_s
    return this_epoch + (ctx.epoch_s(per_step) or 0.0) * (ctx.config.epochs - epoch)


def _gpu_memory(ctx: Context) -> tuple[int | None, int | None]:
    """CUDA bytes allocated now and at peak since the run started; (None, None) elsewhere.

    Both read the caching allocator's counters on the host: no device sync.
    """
    if ctx.device.type != "cuda":
        return None, None
    return torch.cuda.memory_allocated(ctx.device), torch.cuda.max_memory_allocated(ctx.device)
