"""The training loop: ``train(config, on_event, control) -> RunResult``.

Data sits on the device as uint8; each step indexes a batch there, augments
it in one batched pass, and runs the model. Host syncs (``.item()``) happen
only when a progress event is due (~10/s) and once per evaluation.
"""
from __future__ import annotations

import contextlib
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import RunConfig, UserError
from .control import Control
from .data import Dataset, load_config_dataset
from .environment import resolve_device
from .events import Event, Log, RunEnded, StepDone
from .feature_cache import FeatureCache, at_epoch_start as feature_cache_at_epoch_start
from .metrics import confusion_update, generalization_gap, per_class_accuracy, top_probs, topk_correct
from .models import get_spec
from .optim import LRSchedule, build_optimizer
from .pipeline import IMAGENET_MEAN, IMAGENET_STD, Pipeline
from .bookkeeping import Diverged, RunBook
from .runs import RunStatus
from .runs.checkpoint import has_checkpoint, resumable_checkpoint
from .runs.writer import RunWriter, check_runs_dir
from .snapshot import Partial, restore
from .strategies import PRETRAINED_STRATEGIES, Plan, build_model
from .tta import with_tta

STEP_EVENT_INTERVAL_S = 0.1
INIT_IMAGES = 5000
"""Training images a model's ``init_from_data`` sees: plenty for a 12x12 patch covariance, ~60 MB as float."""


@dataclass
class RunResult:
    """What train() returns: the final status and where the run was saved."""

    status: str
    run_id: str
    run_dir: str
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


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
    start_epoch: int = 1
    partial: Partial | None = None
    """A resumed run's unfinished epoch: its permutation, step and running sums."""
    feature_cache: FeatureCache | None = None
    """A frozen backbone's features, computed once: the steps and evaluation run only the rest."""
    feature_cache_decided: bool = False

    def elapsed(self) -> float:
        """Training wall time so far, across every session of a resumed run."""
        return time.perf_counter() - self.started

    def set_elapsed(self, seconds: float) -> None:
        self.started = time.perf_counter() - seconds

    def eta_after(self, epoch: int) -> float | None:
        if not self.epoch_times:
            return None
        return (self.config.epochs - epoch) * sum(self.epoch_times) / len(self.epoch_times)


def train(
    config: RunConfig,
    on_event: Callable[[Event], None] | None = None,
    control: Control | None = None,
    *,
    resume: str | Path | None = None,
    change: dict[str, Any] | None = None,
) -> RunResult:
    """Train one run to the end (or stop/divergence/failure) and save it.

    ``resume``: a run directory to continue in place from its newest good
    checkpoint (``config`` comes from engine.runs.resume.prepare_resume, and
    ``change`` records what the user changed). Raises UserError for bad input
    found before anything is written; after that every outcome is saved and
    returned as a RunResult.
    """
    emit = on_event or (lambda event: None)
    control = control or Control()
    config.validate()
    writer, snap = _claim_run(config, resume, emit)
    try:
        ctx = _prepare(config, emit, control)
        book = RunBook(ctx)
        if snap is not None:
            restore(ctx, book, snap)
    except BaseException:
        if writer is not None:
            writer.close()
        raise
    if writer is None:
        book.open_new()
    else:
        book.open_resumed(writer, change or {})
    return _run(ctx, book)


def _claim_run(config: RunConfig, resume: str | Path | None, emit: Callable[[Event], None]):
    """Before the slow part: a writable runs directory, or the resumed run's lock and checkpoint."""
    if resume is None:
        check_runs_dir(Path(config.runs_dir))
        return None, None
    writer = RunWriter.reopen(resume)
    folder = writer.path / "checkpoints"
    if not has_checkpoint(folder) and not writer.records():
        # Stopped or killed before its first checkpoint: nothing was learnt yet, so the
        # seeded run simply starts over in its own directory (and ends as it would have).
        emit(Log("info", "no checkpoint yet: the run starts over from its first step"))
        return writer, None
    try:
        path, snap = resumable_checkpoint(folder, log=lambda m: emit(Log("warning", m)))
    except BaseException:
        writer.close()
        raise
    emit(Log("info", f"resuming from {path.name}: epoch {snap['epoch']} done"
                     + (f", step {snap['resume']['partial']['step']} of the next" if snap["resume"]["partial"] else "")))
    return writer, snap


def _run(ctx: Context, book: RunBook) -> RunResult:
    """The epochs, and every way they can end, each saved with its status."""
    assert book.writer is not None
    writer = book.writer
    try:
        ctx.emit(book.started_event())
        _run_epochs(ctx, book)
        finished = book.epochs_done >= ctx.config.epochs or book.early_stopped
        return _result(book.finish(RunStatus.COMPLETED if finished else RunStatus.INTERRUPTED))
    except KeyboardInterrupt:  # a second Ctrl-C: no clean stop, but the run is still marked
        book.finish(RunStatus.INTERRUPTED, "aborted before the stop was saved; resume continues from the last checkpoint")
        raise
    except Diverged as exc:
        writer.write_error_log(f"diverged: {exc}\n")
        return _result(book.finish(RunStatus.DIVERGED, str(exc)))
    except UserError as exc:  # e.g. the disk filled up: one line, no traceback
        writer.write_error_log(f"{exc}\n")
        return _result(book.finish(RunStatus.FAILED, str(exc)))
    except Exception as exc:  # saved as failed; the traceback goes to the run's error.log
        writer.write_error_log(traceback.format_exc())
        return _result(book.finish(RunStatus.FAILED, f"{type(exc).__name__}: {exc}"))
    finally:
        writer.close()


def _result(ended: RunEnded) -> RunResult:
    return RunResult(ended.status, ended.run_id, ended.run_dir, ended.summary, ended.error)


def _prepare(config: RunConfig, emit: Callable[[Event], None], control: Control) -> Context:
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
        torch.cuda.reset_peak_memory_stats(device)  # StepDone.gpu_peak: this run's peak, not the process's
    data = load_config_dataset(config)
    spec = get_spec(config.model)
    input_size = config.image_size or spec.input_size or data.image_size
    model, plan = build_model(config, spec, data.num_classes, data.channels, input_size)
    channels = 3 if spec.rgb_only else data.channels
    if config.strategy in PRETRAINED_STRATEGIES:
        mean, std = IMAGENET_MEAN, IMAGENET_STD  # pretrained features expect ImageNet statistics
    else:
        mean, std = data.mean_std()
    model = model.to(device)
    if device.type == "cuda" and config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = torch.compile(model) if config.compile and device.type == "cuda" else model
    forward = with_tta(forward, config.tta)  # eval mode only: every evaluation sees it, no training step does
    _to_device(data, device)
    gen = torch.Generator(device=device).manual_seed(config.seed)
    steps = max(1, math.ceil(len(data.train) / config.batch_size))
    if len(data.train) % config.batch_size == 1 and steps > 1:
        steps -= 1  # a 1-image last batch breaks BatchNorm; drop it
    ctx = Context(
        config=config, device=device, data=data, model=model, forward=forward, plan=plan,
        pipeline=Pipeline(
            config, mean=mean, std=std, channels=channels, native_size=data.image_size,
            input_size=input_size, num_classes=data.num_classes, device=device,
        ),
        optimizer=build_optimizer(config, model.parameters()),
        schedule=LRSchedule(config, steps, plan.phase2_epoch),
        criterion=nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
        gen=gen, steps_per_epoch=steps, emit=emit, control=control,
    )
    _init_from_data(ctx)
    return ctx


def _init_from_data(ctx: Context) -> None:
    """A scratch model that sets layers from the data (``fast``'s patch whitening) sees the training images once.

    Before any step and without touching a random generator, so the run's future is
    unchanged; a resumed run then loads its checkpoint over it.
    """
    init = getattr(ctx.model, "init_from_data", None)
    if init is not None and ctx.config.strategy == "scratch" and not ctx.config.weights:
        x = ctx.data.train.x
        init(ctx.pipeline.eval_batch(x[:: max(1, len(x) // INIT_IMAGES)]))  # strided: folders come sorted by class


def _to_device(data: Dataset, device: torch.device) -> None:
    """Move every split to the device once, as uint8 (4x smaller than float)."""
    for split in (data.train, data.val, data.test):
        if split is not None:
            split.x = torch.as_tensor(split.x).to(device)
            split.y = torch.as_tensor(split.y).to(device)


def _run_epochs(ctx: Context, book: RunBook) -> None:
    for epoch in range(ctx.start_epoch, ctx.config.epochs + 1):
        partial, ctx.partial = ctx.partial, None
        if ctx.plan.phase2_epoch == epoch and not ctx.plan.unfrozen:
            ctx.plan.unfreeze(ctx.model)
            ctx.emit(Log("info", f"epoch {epoch}: backbone unfrozen, lr {ctx.config.phase2_lr:g}"))
        t0 = time.perf_counter()
        built_s = feature_cache_at_epoch_start(ctx, epoch)  # builds (in this epoch's time), drops or refuses it
        stats = train_one_epoch(ctx, book, epoch, partial)
        if isinstance(stats, Partial):
            book.save_partial(stats)
            return  # stopped mid-epoch: the caller saves the run as interrupted
        record = {"epoch": epoch, **stats}
        conf, top = _evaluate_splits(ctx, record)
        record["epoch_time_s"] = round(time.perf_counter() - t0, 3)
        record["wall_time_s"] = round(ctx.elapsed(), 3)
        ctx.epoch_times.append(record["epoch_time_s"] - built_s)  # the ETA's epochs: the build happens once
        if ctx.config.schedule == "plateau" and math.isfinite(record["val_acc"]):
            ctx.schedule.epoch_end(record["val_acc"], ctx.config.plateau_patience)  # validation only, never test
        book.epoch_done(epoch, record, per_class_accuracy(conf), conf, top)
        if book.early_stopped or ctx.control.stop_requested:
            return


def _evaluate_splits(ctx: Context, record: dict[str, Any]) -> tuple[list[list[int]], tuple[Any, Any] | None]:
    """Validation then test metrics into ``record`` (and the gap); the test confusion and top-5 predictions."""
    conf: list[list[int]] = []
    top = None
    for name, split in (("val", ctx.data.val), ("test", ctx.data.test)):
        if split is None:
            continue
        cached = ctx.feature_cache.eval_outputs(name) if ctx.feature_cache is not None else None
        result = evaluate(ctx, split.x, split.y, keep_top=name == "test" and ctx.config.predictions, outputs=cached)
        if name == "test":
            conf, top = result["confusion"], result.get("top")
        record.update({f"{name}_{k}": v for k, v in result.items() if k not in ("confusion", "top")})
    record.update(generalization_gap(record))
    return conf, top


def train_one_epoch(ctx: Context, book: RunBook, epoch: int, partial: Partial | None = None) -> dict[str, float] | Partial:
    """One pass over the shuffled training set (continuing ``partial``); a Partial if a stop was requested."""
    c, data, model, cache = ctx.config, ctx.data, ctx.forward, ctx.feature_cache
    ctx.plan.train_mode(ctx.model)
    if partial is None:
        n = len(data.train)
        partial = Partial(torch.randperm(n, device=ctx.device, generator=ctx.gen), 0,
                          torch.zeros((), device=ctx.device), torch.zeros((), device=ctx.device, dtype=torch.long),
                          0, 0.0)
    perm, loss_sum, correct = partial.perm, partial.loss_sum, partial.correct
    seen, paused_s, lr = partial.seen, 0.0, ctx.schedule.lr(ctx.global_step)
    # On the CPU a per-step .item() costs nothing, so divergence is caught before the bad step
    # updates the weights; on a GPU it would stall the pipeline, so it is checked at each ~10 Hz event.
    check_every_step = ctx.device.type == "cpu"
    t0 = last_emit = time.perf_counter()
    for step in range(partial.step, ctx.steps_per_epoch):
        if ctx.control.paused:
            p0 = time.perf_counter()
            ctx.control.wait_while_paused()
            paused_s += time.perf_counter() - p0
        if ctx.control.stop_requested:
            spent = partial.train_time + time.perf_counter() - t0 - paused_s
            return Partial(perm, step, loss_sum, correct, seen, spent)
        idx = perm[step * c.batch_size : (step + 1) * c.batch_size]
        y = data.train.y[idx]
        if cache is not None:  # the frozen part's stored features, the flip drawn as the pipeline draws it
            x, target = cache.train_batch(idx, ctx.gen), y
        else:
            x, target = ctx.pipeline.train_batch(data.train.x[idx], y, ctx.gen, idx=idx, epoch=epoch)
        lr = ctx.schedule.apply(ctx.optimizer, ctx.global_step)
        with autocast(ctx):
            out = cache.forward(x) if cache is not None else model(x)
            loss = ctx.criterion(out, target)
        now = time.perf_counter()
        emit_now = now - last_emit >= STEP_EVENT_INTERVAL_S or step == ctx.steps_per_epoch - 1
        value = loss.item() if (check_every_step or emit_now or book.loss_ref is None) else None
        if value is not None:
            book.check_loss(value, f"train loss at epoch {epoch}, step {step + 1}")
        ctx.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        ctx.optimizer.step()
        ctx.global_step += 1
        loss_sum += loss.detach() * len(idx)
        correct += (out.argmax(1) == y).sum()
        seen += len(idx)
        if emit_now and value is not None:
            last_emit = now
            rate = (seen - partial.seen) / max(1e-9, now - t0 - paused_s)
            book.step_done(StepDone(epoch, step + 1, ctx.steps_per_epoch, value, lr, rate, ctx.elapsed(),
                                    _eta(ctx, epoch, step + 1, now - t0 - paused_s, partial.step), *_gpu_memory(ctx)))
    train_time = partial.train_time + time.perf_counter() - t0 - paused_s
    return {
        "train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen,
        "lr": lr, "img_per_s": round(seen / max(train_time, 1e-9), 1), "train_time_s": round(train_time, 3),
    }


def _eta(ctx: Context, epoch: int, step: int, epoch_elapsed: float, first_step: int = 0) -> float | None:
    """Seconds left: step rate for this epoch, plus whole epochs at their measured length."""
    spe = ctx.steps_per_epoch
    per_step = epoch_elapsed / max(1, step - first_step)
    this_epoch = per_step * (spe - step)
    per_epoch = (sum(ctx.epoch_times) / len(ctx.epoch_times)) if ctx.epoch_times else per_step * spe
    return this_epoch + per_epoch * (ctx.config.epochs - epoch)


def _gpu_memory(ctx: Context) -> tuple[int | None, int | None]:
    """CUDA bytes allocated now and at peak since the run started; (None, None) elsewhere.

    Both read the caching allocator's counters on the host: no device sync.
    """
    if ctx.device.type != "cuda":
        return None, None
    return torch.cuda.memory_allocated(ctx.device), torch.cuda.max_memory_allocated(ctx.device)


def autocast(ctx: Context):
    """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); nothing elsewhere."""
    if ctx.device.type == "cuda" and ctx.config.amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(ctx: Context, x_all: torch.Tensor, y_all: torch.Tensor, *, keep_top: bool = False,
             outputs: Callable[[int, int], torch.Tensor] | None = None) -> dict[str, Any]:
    """Loss, accuracy, top-3, top-5 and confusion matrix over one split.

    ``outputs``: the model's outputs for rows i:j computed another way (the feature cache's
    stored features); None: the images go through the pipeline and the model.

    ``keep_top``: also return ``top`` = (ids, probs), numpy (N, 5), the five most probable
    classes of every image: what the drill-down stores (engine.predictions). They stay on
    the device until the one copy at the end, so the cost is a softmax and a topk per batch.
    """
    ctx.forward.eval()
    k = ctx.data.num_classes
    loss_sum = torch.zeros((), device=ctx.device)
    correct = torch.zeros((), device=ctx.device, dtype=torch.long)
    top5 = torch.zeros((), device=ctx.device, dtype=torch.long)
    top3 = torch.zeros((), device=ctx.device, dtype=torch.long)  # study 001 reports top-1/top-3
    conf = torch.zeros((k, k), device=ctx.device, dtype=torch.long)
    kept: list[tuple[torch.Tensor, torch.Tensor]] = []
    for i in range(0, len(y_all), ctx.config.eval_batch_size):
        j = i + ctx.config.eval_batch_size
        y = y_all[i:j]
        x = ctx.pipeline.eval_batch(x_all[i:j]) if outputs is None else None
        with autocast(ctx):
            out = ctx.forward(x) if outputs is None else outputs(i, j)
        out = out.float()
        loss_sum += F.cross_entropy(out, y, reduction="sum")
        pred = out.argmax(1)
        correct += (pred == y).sum()
        top5 += topk_correct(out, y, 5)
        top3 += topk_correct(out, y, 3)
        confusion_update(conf, pred, y)
        if keep_top:
            kept.append(top_probs(out))
    n = max(1, len(y_all))
    result = {
        "loss": loss_sum.item() / n, "acc": correct.item() / n, "top5": top5.item() / n, "top3": top3.item() / n,
        "confusion": conf.cpu().tolist(),
    }
    if kept:
        result["top"] = (torch.cat([ids for ids, _ in kept]).cpu().numpy(),
                         torch.cat([p for _, p in kept]).cpu().numpy())
    return result


__all__ = ["train", "train_one_epoch", "evaluate", "RunResult", "UserError", "Diverged"]
