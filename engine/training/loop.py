"""The training loop: ``train(config, on_event, control) -> RunResult``.

A run's life: claim its folder (or the one it resumes), load the data onto the device once
as uint8, build the model and its pipeline, then per epoch train (engine.training.epoch),
evaluate (engine.training.evaluation) and store; a stop, a divergence or an error ends it
with its status saved.
"""
from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from engine.config import RunConfig, UserError
from engine.training import data_parallel
from engine.device import distributed
from engine.control import Control, stop_on_interrupt
from engine.data.load import Dataset, limit_notes, load_config_dataset
from engine.device.distributed import SINGLE, Dist
from engine.device.environment import resolve_device
from engine.training.evaluation import evaluate, evaluate_splits
from engine.events import Event, Log, PhaseTicker, RunEnded
from engine.training.feature_cache import at_epoch_start as feature_cache_at_epoch_start
from engine.training.metrics import per_class_accuracy
from engine.models.facts import pick_input_size
from engine.models.external import use_instance
from engine.models.fit import check_input_size
from engine.models.source import check_model_source
from engine.models.registry import check_model, get_spec
from engine.training.optim import LRSchedule, build_optimizer
from engine.data.pipeline import run_pipeline
from engine.device import accel
from engine.training.run_book import Diverged, RunBook
from engine.runs import RunStatus
from engine.runs.checkpoint import has_checkpoint, resumable_checkpoint
from engine.runs.layout import checkpoint_dir
from engine.runs.writer import RunWriter, check_runs_dir
from engine.training.snapshot import Partial, restore
from engine.models.strategies import build_model
from engine.training.tta import with_tta
from engine.training.epoch import train_one_epoch
from engine.training.context import Context

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


def train(
    config: RunConfig,
    on_event: Callable[[Event], None] | None = None,
    control: Control | None = None,
    *,
    resume: str | Path | None = None,
    change: dict[str, Any] | None = None,
    model: nn.Module | None = None,
) -> RunResult:
    """Train one run to the end (or stop/divergence/failure) and save it in the run store, where
    ``cifar-tui runs``, compare and the app find it.

    ``on_event`` hears the typed events the dashboard draws (engine.events). ``control`` stops or pauses
    the run from another thread; without one, Ctrl-C (SIGINT in the main thread: a terminal, a notebook's
    interrupt) stops at the next step and saves the run as interrupted. ``model``: train this module
    object instead of building ``config.model`` (the run records it as 'module:ClassName').
    ``resume``: a run directory to continue in place from its newest good checkpoint (``config`` comes
    from engine.training.resume.prepare_resume, and ``change`` records what the user changed).
    Raises UserError for bad input found before anything is written; after that every outcome is
    saved and returned as a RunResult.
    """
    if model is not None:
        config = config.replace(model=use_instance(model))
    if control is not None:
        return _train(config, on_event, control, resume, change)
    with stop_on_interrupt() as own:
        return _train(config, on_event, own, resume, change)


def _train(config: RunConfig, on_event: Callable[[Event], None] | None, control: Control,
           resume: str | Path | None, change: dict[str, Any] | None) -> RunResult:
    emit = on_event or (lambda event: None)
    config.validate()
    check_model(config.model, config.head)
    check_input_size(config)
    device = distributed.device_for(resolve_device(config.device))
    dist = distributed.setup(config, device)
    writer, snap = _claim_run(config, resume, emit, dist, change)
    try:
        ctx = _prepare(config, emit, control, device, dist)
        book = RunBook(ctx)
        if snap is not None:
            restore(ctx, book, snap)
            data_parallel.resumed_job(ctx, snap)
    except BaseException:
        if writer is not None:
            writer.close()
        raise
    if not dist.is_main:
        book.join_job()
    else:
        if writer is None:
            book.open_new()
        else:
            book.open_resumed(writer, change or {})
        if dist.active:
            book.tell_job()
    return _run(ctx, book)


def _claim_run(config: RunConfig, resume: str | Path | None, emit: Callable[[Event], None], dist: Dist = SINGLE,
               change: dict[str, Any] | None = None):
    """Before the slow part: a writable runs directory, or the resumed run's lock and checkpoint.

    Under torchrun only rank 0 takes the run (its lock, its files); the others read the same
    checkpoint to start from the same state.
    """
    if resume is None:
        if dist.is_main:
            check_runs_dir(Path(config.runs_dir))
        return None, None
    if not dist.is_main:
        return None, data_parallel.read_only_snapshot(checkpoint_dir(resume))
    check_model_source(resume, force="model_file" in (change or {}))  # the API's resume checks it too
    writer = RunWriter.reopen(resume)
    folder = checkpoint_dir(writer.path)
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
    writer = book.writer or data_parallel.NO_WRITER  # ranks other than 0 write nothing
    try:
        ctx.emit(book.started_event())
        _run_epochs(ctx, book)
        finished = book.epochs_done >= ctx.config.epochs or book.early_stopped
        return _result(book.finish(RunStatus.COMPLETED if finished else RunStatus.INTERRUPTED))
    except KeyboardInterrupt:  # a second Ctrl-C: no clean stop, but the run is still marked
        book.finish(RunStatus.INTERRUPTED, "aborted before the stop was saved; resume continues from the last checkpoint")
        raise
    except Diverged as exc:  # agreed by every rank at the same step
        writer.write_error_log(f"diverged: {exc}\n")
        return _result(book.finish(RunStatus.DIVERGED, str(exc)))
    except UserError as exc:  # e.g. the disk filled up: one line, no traceback
        writer.write_error_log(f"{exc}\n")
        return _result(book.finish(RunStatus.FAILED, str(exc)))
    except Exception as exc:  # saved as failed; the traceback goes to the run's error.log
        writer.write_error_log(traceback.format_exc())
        return _result(book.finish(RunStatus.FAILED, distributed.peer_failure(exc, ctx.dist)
                                   or f"{type(exc).__name__}: {exc}"))
    finally:
        writer.close()
        distributed.teardown()
        book.outlets.wait()


def _result(ended: RunEnded) -> RunResult:
    return RunResult(ended.status, ended.run_id, ended.run_dir, ended.summary, ended.error)


def _prepare(config: RunConfig, emit: Callable[[Event], None], control: Control,
             device: torch.device, dist: Dist = SINGLE) -> Context:
    torch.manual_seed(config.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
        torch.cuda.reset_peak_memory_stats(device)  # StepDone.gpu_peak: this run's peak, not the process's
    data = load_config_dataset(config, emit=emit)
    for note in limit_notes(config, data):
        emit(Log("warning" if "exceeds" in note else "info", note))
    spec = get_spec(config.model, config.head)
    input_size = pick_input_size(config.image_size, spec.input_size, data.image_size)
    model, plan = build_model(config, spec, data.num_classes, data.channels, input_size)
    pipeline = run_pipeline(config, data, rgb_only=spec.rgb_only, input_size=input_size, device=device)
    if dist.active and config.sync_bn:  # same Parameter objects: the optimizer built below is unaffected
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model, forward = accel.prepare_model(model, config, device)
    forward = with_tta(forward, config.tta)  # eval mode only: every evaluation sees it, no training step does
    _to_device(data, device)
    gen = torch.Generator(device=device).manual_seed(config.seed)
    steps = max(1, math.ceil(len(data.train) / config.batch_size))
    if 0 < len(data.train) % config.batch_size < 2 * dist.world and steps > 1:
        steps -= 1  # a last batch that leaves a rank 1 image (or none) breaks BatchNorm; drop it
    ctx = Context(
        config=config, device=device, data=data, model=model, forward=forward, plan=plan,
        pipeline=pipeline,
        optimizer=build_optimizer(config, model.parameters(), device),
        schedule=LRSchedule(config, steps, plan.phase2_epoch),
        criterion=nn.CrossEntropyLoss(label_smoothing=config.label_smoothing),
        gen=gen, steps_per_epoch=steps, emit=emit, control=control, dist=dist, aug_gen=gen, eval_model=forward,
    )
    _init_from_data(ctx)
    if dist.active:
        data_parallel.wrap(ctx)
    return ctx


def _init_from_data(ctx: Context) -> None:
    """A scratch model that sets layers from the data (``fast``'s patch whitening) sees the training images once.

    Before any step and without touching a random generator, so the run's future is
    unchanged; a resumed run then loads its checkpoint over it.
    """
    init = getattr(ctx.model, "init_from_data", None)
    if init is not None and ctx.config.strategy == "scratch" and not ctx.config.weights:
        x = ctx.data.train.x
        sample = x[:: max(1, len(x) // INIT_IMAGES)]  # strided: folders come sorted by class
        ticker = PhaseTicker(ctx.emit, "setting layers from the data (patch whitening)", len(sample))
        init(ctx.pipeline.eval_batch(sample))
        ticker.finish()


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
            if ctx.dist.active:
                data_parallel.wrap(ctx)
            ctx.emit(Log("info", f"epoch {epoch}: backbone unfrozen, lr {ctx.config.phase2_lr:g}"))
        t0, ctx.epoch = time.perf_counter(), epoch
        feature_cache_at_epoch_start(ctx, epoch)  # builds (in this epoch's time), drops or refuses it
        stats = train_one_epoch(ctx, book, epoch, partial)
        if isinstance(stats, Partial):
            book.save_partial(stats)
            return  # stopped mid-epoch: the caller saves the run as interrupted
        record = {"epoch": epoch, **stats}
        t_eval = time.perf_counter()
        conf, top = evaluate_splits(ctx, record)
        ctx.epoch_measured(time.perf_counter() - t_eval)
        record["epoch_time_s"] = round(time.perf_counter() - t0, 3)
        record["wall_time_s"] = round(ctx.elapsed(), 3)
        if ctx.config.schedule == "plateau" and math.isfinite(record["val_acc"]):
            ctx.schedule.epoch_end(record["val_acc"], ctx.config.plateau_patience)  # validation only, never test
        book.epoch_done(epoch, record, per_class_accuracy(conf), conf, top)
        if book.early_stopped:
            return
        if epoch < ctx.config.epochs and data_parallel.stop_at_epoch_end(ctx):  # after the last: completed
            book.stopped_between_epochs()
            return


__all__ = ["train", "train_one_epoch", "evaluate", "RunResult", "UserError", "Diverged"]
