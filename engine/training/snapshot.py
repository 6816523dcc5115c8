"""Everything the loop's future depends on, captured into a checkpoint and restored from one.

Resuming is bitwise on the CPU: a run stopped at any step and resumed ends
with the same weights and the same per-epoch metrics as one never stopped.
That holds only if *every* input to the future is saved: weights, optimizer
moments, the schedule's plateau counters, early stopping and best-metric
bookkeeping, the two-phase switch, the epoch's permutation and running sums
when stopped mid-epoch, and every random generator (torch CPU and CUDA, the
on-device data generator that drives shuffling and augmentation, numpy, python).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from engine.training.run_book import RunBook
    from engine.training.context import Context

FORMAT = 2


@dataclass
class Partial:
    """An epoch stopped part-way: where it was and what it had summed so far."""

    perm: torch.Tensor
    step: int
    loss_sum: torch.Tensor
    correct: torch.Tensor
    seen: int
    train_time: float
    ranks: list[dict[str, Any]] | None = None
    """Under torchrun: every rank's own running sums (loss_sum, correct, seen), in rank order."""

    def to_dict(self) -> dict[str, Any]:
        return {"perm": self.perm.cpu(), "step": self.step, "loss_sum": self.loss_sum.cpu(),
                "correct": self.correct.cpu(), "seen": self.seen, "train_time": self.train_time,
                "ranks": self.ranks}

    @classmethod
    def from_dict(cls, d: dict[str, Any], device: torch.device) -> "Partial":
        return cls(d["perm"].to(device), int(d["step"]), d["loss_sum"].to(device), d["correct"].to(device),
                   int(d["seen"]), float(d["train_time"]), d.get("ranks"))

    def for_rank(self, rank: int, world: int) -> "Partial":
        """This rank's share of a job's stopped epoch: its own sums when the job has the same size;
        otherwise the whole job's on rank 0 and none elsewhere (the epoch's totals stay right)."""
        if self.ranks is None:
            return self
        if len(self.ranks) == world:
            own = self.ranks[rank]
            loss_sum, correct, seen = own["loss_sum"], own["correct"], int(own["seen"])
        else:
            keep = rank == 0
            loss_sum = sum(r["loss_sum"] for r in self.ranks) * keep
            correct = sum(r["correct"] for r in self.ranks) * keep
            seen = sum(int(r["seen"]) for r in self.ranks) * keep
        device = self.loss_sum.device
        return Partial(self.perm, self.step, loss_sum.to(device), correct.to(device), seen, self.train_time, self.ranks)


def rng_state(ctx: "Context") -> dict[str, Any]:
    np_state = np.random.get_state()
    rng: dict[str, Any] = {
        "torch": torch.get_rng_state(), "gen": ctx.gen.get_state(),
        # numpy's state holds an ndarray, which weights_only loading refuses: keep it as a tensor.
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],  # type: ignore[index]
        "python": random.getstate(),
    }
    if ctx.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(ctx.device)
    if ctx.dist.active:  # every rank's own draws (dropout, augmentation), gathered for rank 0 to save
        from engine.device import distributed

        rng["ranks"] = distributed.gather_objects(_rank_rng(ctx))
    return rng


def _rank_rng(ctx: "Context") -> dict[str, Any]:
    own = {"torch": torch.get_rng_state(), "aug": ctx.aug_gen.get_state() if ctx.aug_gen is not None else None}
    if ctx.device.type == "cuda":
        own["cuda"] = torch.cuda.get_rng_state(ctx.device)
    return own


def set_rng_state(ctx: "Context", rng: dict[str, Any]) -> None:
    torch.set_rng_state(rng["torch"])
    ctx.gen.set_state(rng["gen"])
    name, keys, pos, has_gauss, cached = rng["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(cached)))
    random.setstate(_tuples(rng["python"]))
    if ctx.device.type == "cuda" and "cuda" in rng:
        torch.cuda.set_rng_state(rng["cuda"], ctx.device)
    ranks = rng.get("ranks")
    if ctx.dist.active and ranks and len(ranks) == ctx.dist.world:
        own = ranks[ctx.dist.rank]
        torch.set_rng_state(own["torch"])
        if ctx.aug_gen is not None and own["aug"] is not None:
            ctx.aug_gen.set_state(own["aug"])
        if ctx.device.type == "cuda" and "cuda" in own:
            torch.cuda.set_rng_state(own["cuda"], ctx.device)


def _tuples(value: Any) -> Any:
    """random.setstate wants the tuples it gave; a round trip through torch.load may give lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def capture(ctx: "Context", book: "RunBook", partial: Partial | None) -> dict[str, Any]:
    """The checkpoint dict: ``model`` stays at the top level (pca, --from and --weights read it)."""
    return {
        "format": FORMAT, "model": ctx.model.state_dict(), "config": ctx.config.to_dict(),
        "epoch": book.epochs_done, "global_step": ctx.global_step,
        "resume": {
            "optimizer": ctx.optimizer.state_dict(), "schedule": ctx.schedule.state_dict(),
            "rng": rng_state(ctx), "book": book.state_dict(), "unfrozen": ctx.plan.unfrozen,
            "partial": partial.to_dict() if partial else None,
            "wall_time_s": ctx.elapsed(), "world_size": ctx.dist.world,
        },
    }


def restore(ctx: "Context", book: "RunBook", state: dict[str, Any]) -> None:
    """Put a captured state back into a freshly prepared context (same config, same data)."""
    r = state["resume"]
    if r["unfrozen"]:
        ctx.plan.unfreeze(ctx.model)
    ctx.model.load_state_dict(state["model"])
    ctx.optimizer.load_state_dict(r["optimizer"])
    ctx.schedule.load_state_dict(r["schedule"])
    ctx.global_step = int(state["global_step"])
    book.load_state_dict(r["book"])
    ctx.set_elapsed(float(r["wall_time_s"]))
    ctx.partial = Partial.from_dict(r["partial"], ctx.device).for_rank(ctx.dist.rank, ctx.dist.world) if r["partial"] else None
    ctx.start_epoch = book.epochs_done + 1
    set_rng_state(ctx, r["rng"])
