"""Evaluation: loss, accuracy, top-k and the confusion matrix of a split (``evaluate``), and the
epoch's validation + test pass with its generalisation gap (``evaluate_splits``).

Under torchrun each rank scores a contiguous shard and the counts are summed
(engine.device.distributed): every image is scored once and the numbers equal one
process's on the same weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import torch
import torch.nn.functional as F

from engine.device import accel, distributed
from engine.events import PhaseTicker
from engine.training.metrics import confusion_update, generalization_gap, top_probs, topk_correct

if TYPE_CHECKING:
    from engine.training.context import Context


def evaluate_splits(ctx: "Context", record: dict[str, Any]) -> tuple[list[list[int]], tuple[Any, Any] | None]:
    """Validation then test metrics into ``record`` (and the gap); the test confusion and top-5 predictions."""
    conf: list[list[int]] = []
    top = None
    if ctx.dist.active:  # each rank's BatchNorm statistics saw only its share: evaluate (and save) rank 0's
        distributed.broadcast_buffers(ctx.model)
    splits = [(name, split) for name, split in (("val", ctx.data.val), ("test", ctx.data.test)) if split is not None]
    for n, (name, split) in enumerate(splits):
        cached = ctx.feature_cache.eval_outputs(name) if ctx.feature_cache is not None else None
        later = sum(len(s) for _, s in splits[n + 1:])
        run_eta = _run_eta_after(ctx, later, sum(len(s) for _, s in splits))
        ticker = PhaseTicker(ctx.emit, f"evaluating {name}", len(split), run_eta=run_eta)
        result = evaluate(ctx, split.x, split.y, keep_top=name == "test" and ctx.config.predictions, outputs=cached,
                          ticker=ticker)
        ticker.finish()
        if name == "test":
            conf, top = result["confusion"], result.get("top")
        record.update({f"{name}_{k}": v for k, v in result.items() if k not in ("confusion", "top")})
    record.update(generalization_gap(record))
    return conf, top


def _run_eta_after(ctx: "Context", later_images: int, all_images: int,
                   ) -> Callable[[float | None, float], float | None]:
    """During an evaluation, the run's ETA: what is left of it, the epoch's later splits at its rate, then
    the epochs to come at their measured length (before one is measured, each evaluation at this rate)."""

    def run_eta(phase_eta: float | None, rate: float) -> float | None:
        if phase_eta is None or rate <= 0:
            return None
        return phase_eta + later_images / rate + (ctx.eta_after(ctx.epoch, eval_s=all_images / rate) or 0.0)

    return run_eta


@torch.no_grad()
def evaluate(ctx: "Context", x_all: torch.Tensor, y_all: torch.Tensor, *, keep_top: bool = False,
             outputs: Callable[[int, int], torch.Tensor] | None = None, ticker: PhaseTicker | None = None,
             ) -> dict[str, Any]:
    """Loss, accuracy, top-3, top-5 and confusion matrix over one split.

    ``outputs``: the model's outputs for rows i:j computed another way (the feature cache's
    stored features); None: the images go through the pipeline and the model.

    ``keep_top``: also return ``top`` = (ids, probs), numpy (N, 5), the five most probable
    classes of every image: what the drill-down stores (engine.runs.predictions). They stay on
    the device until the one copy at the end, so the cost is a softmax and a topk per batch.

    Under torchrun each rank scores its contiguous shard and the sums are added up: every
    image is counted once, and the result is what one process would compute.
    """
    model = ctx.eval_model if ctx.eval_model is not None else ctx.forward
    model.eval()
    score = _Score.zero(ctx.data.num_classes, ctx.device)
    kept: list[tuple[torch.Tensor, torch.Tensor]] = []
    lo, hi = distributed.shard(len(y_all), ctx.dist)
    for i in range(lo, hi, ctx.config.eval_batch_size):
        j = min(i + ctx.config.eval_batch_size, hi)
        x = ctx.pipeline.eval_batch(x_all[i:j]) if outputs is None else None
        with accel.autocast(ctx.config, ctx.device):
            out = model(x) if outputs is None else outputs(i, j)
        out = out.float()
        score.add(out, y_all[i:j])
        if keep_top:
            kept.append(top_probs(out))
        if ticker is not None:  # counts this rank's share as the whole's: the shards move in step
            ticker.update(round((j - lo) * len(y_all) / max(1, hi - lo)))
    result = score.result(ctx, len(y_all))
    if keep_top:
        result["top"] = kept_top(ctx, kept)
    return result


@dataclass
class _Score:
    """A split's running sums, on the device until the one read at the end: no sync per batch."""

    loss_sum: torch.Tensor
    counts: torch.Tensor
    """Images right at top-1, top-3 (study 001 reports it) and top-5."""
    conf: torch.Tensor

    @classmethod
    def zero(cls, k: int, device: torch.device) -> _Score:
        return cls(torch.zeros((), device=device), torch.zeros(3, device=device, dtype=torch.long),
                   torch.zeros((k, k), device=device, dtype=torch.long))

    def add(self, out: torch.Tensor, y: torch.Tensor) -> None:
        self.loss_sum += F.cross_entropy(out, y, reduction="sum")
        pred = out.argmax(1)
        self.counts += torch.stack([(pred == y).sum(), topk_correct(out, y, 3), topk_correct(out, y, 5)])
        confusion_update(self.conf, pred, y)

    def result(self, ctx: Context, images: int) -> dict[str, Any]:
        """Loss, accuracies and confusion over the split's ``images`` (under torchrun, every rank's summed)."""
        loss_sum, counts, conf = self.loss_sum, self.counts, self.conf
        if ctx.dist.active:
            loss_sum = distributed.all_sum(loss_sum)[0]
            counts, conf = distributed.all_sum_long(counts), distributed.all_sum_long(conf)
        n = max(1, images)
        correct, top3, top5 = (v / n for v in counts.tolist())
        return {"loss": loss_sum.item() / n, "acc": correct, "top5": top5, "top3": top3,
                "confusion": conf.cpu().tolist()}


def kept_top(ctx: "Context", kept: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[Any, Any] | None:
    """The split's top-5 (ids, probs) as numpy, in row order (under torchrun: the shards, in rank order)."""
    import numpy as np

    if kept:
        mine = (torch.cat([ids for ids, _ in kept]).cpu().numpy(), torch.cat([p for _, p in kept]).cpu().numpy())
    else:
        mine = None
    gathered: list[Any] = distributed.gather_objects(mine) if ctx.dist.active else [mine]
    parts = [p for p in gathered if p is not None]
    if not parts:
        return None
    return np.concatenate([ids for ids, _ in parts]), np.concatenate([p for _, p in parts])
