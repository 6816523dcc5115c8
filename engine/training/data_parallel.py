"""The training loop's side of a torchrun job: the DDP wrapper, the per-step agreement on stop and
divergence, a stopped epoch's per-rank sums, and what a resumed job restores.

The collectives themselves are in engine.device.distributed; engine.training.loop and .epoch call these at
the few points where one process and a job differ.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from engine.device import distributed
from engine.events import Log
from engine.runs.checkpoint import has_checkpoint, resumable_checkpoint
from engine.training.snapshot import Partial

if TYPE_CHECKING:
    from engine.training.run_book import RunBook
    from engine.training.context import Context


def resumed_job(ctx: "Context", snap: dict[str, Any]) -> None:
    """After a restore: rewrap an unfrozen two-phase model for DDP; say what a new world size changes."""
    if ctx.dist.active and ctx.plan.unfrozen:
        wrap(ctx)
    before, now = int(snap["resume"].get("world_size", 1)), ctx.dist.world
    if before != now:
        ctx.emit(Log("warning", f"this run trained with {before} process(es) and continues with {now}: the data "
                                "order and the global batch stay the same, the random augmentation and dropout "
                                "draws do not, so it will not match an uninterrupted run bit for bit"))


def read_only_snapshot(folder: Path) -> dict[str, Any] | None:
    """A non-zero rank's copy of the checkpoint rank 0 resumes from (None: rank 0 starts over too)."""
    if not has_checkpoint(folder):
        return None
    return resumable_checkpoint(folder, log=lambda m: None)[1]


class NoWriter:
    """What a rank other than 0 writes: nothing."""

    def write_error_log(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


NO_WRITER = NoWriter()


def wrap(ctx: "Context") -> None:
    """Wrap the model for a torchrun job: gradients all-reduced each step, augmentation per rank.

    DistributedDataParallel broadcasts rank 0's weights when it wraps, so every rank starts
    from the same model whatever its own initialisation drew. It is rebuilt at the two-phase
    switch: it only syncs the parameters that required a gradient when it was built.
    """
    from torch.nn.parallel import DistributedDataParallel as DDP

    c, d = ctx.config, ctx.dist
    ddp = DDP(ctx.model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    ctx.forward = torch.compile(ddp, dynamic=False) if c.compile else ddp
    if ctx.aug_gen is ctx.gen:
        ctx.aug_gen = torch.Generator(device=ctx.device).manual_seed(c.seed + 7919 * (d.rank + 1))
        torch.manual_seed(c.seed + d.rank)  # dropout masks differ between ranks, as their data does


AGREE_EVERY = 16
"""Under torchrun the ranks agree on stop / divergence every this many steps (a host sync each, which
would stall a GPU's queue if done every step), and at an epoch's last step."""


def stop_and_loss(ctx: "Context", book: "RunBook", epoch: int, step: int,
                   pending: torch.Tensor | None) -> tuple[bool, float | None]:
    """Stop here? And, under torchrun, the ranks' mean loss of the previous step, checked for divergence.

    Every rank calls the agreement at the same steps, so all stop (or diverge) at the same step.
    """
    if not ctx.dist.active:
        return ctx.control.stop_requested, None
    due = step % AGREE_EVERY == 0 or step == ctx.steps_per_epoch - 1
    if not due:
        return False, None
    stop, value = distributed.agree(ctx.control.stop_requested, pending, ctx.device)
    if value is not None:
        book.check_loss(value, f"train loss at epoch {epoch}, step {step}")
    return stop, value


def stop_at_epoch_end(ctx: "Context") -> bool:
    """Stop after the epoch just saved? Under torchrun the ranks agree: a stop asked from another process
    reaches rank 0 alone, and one rank leaving while the others train on would leave them waiting."""
    if not ctx.dist.active:
        return ctx.control.stop_requested
    return distributed.agree(ctx.control.stop_requested, None, ctx.device)[0]


def stopped(ctx: "Context", partial: Partial) -> Partial:
    """A stop mid-epoch. Under torchrun every rank's running sums go into the one checkpoint rank 0
    writes, so each rank resumes its own share of the epoch (bit for bit)."""
    if ctx.dist.active:
        own = {"loss_sum": partial.loss_sum.cpu(), "correct": partial.correct.cpu(), "seen": partial.seen}
        partial.ranks = distributed.gather_objects(own)
    return partial
