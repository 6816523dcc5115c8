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
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import RunConfig, UserError
from .control import Control
from .data import Dataset, load_dataset
from .environment import describe_environment, resolve_device
from .events import EpochDone, Event, Log, RunEnded, RunStarted, StepDone
from .metrics import confusion_update, per_class_accuracy, topk_correct
from .models import get_spec
from .optim import LRSchedule, build_optimizer
from .pipeline import IMAGENET_MEAN, IMAGENET_STD, Pipeline
from .store import RunWriter, new_run_id, utc_now
from .strategies import PRETRAINED_STRATEGIES, Plan, build_model

STEP_EVENT_INTERVAL_S = 0.1


class Diverged(Exception):
    """The training loss became NaN or infinite."""


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
    forward: nn.Module
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


def train(
    config: RunConfig,
    on_event: Callable[[Event], None] | None = None,
    control: Control | None = None,
) -> RunResult:
    """Train one run to the end (or stop/divergence/failure) and save it.

    Raises UserError for bad input found before the run directory exists;
    after that every outcome is saved and returned as a RunResult.
    """
    emit = on_event or (lambda event: None)
    control = control or Control()
    config.validate()
    ctx = _prepare(config, emit, control)
    writer = RunWriter(config.runs_dir, new_run_id(config.model, config.strategy, config.name))
    state = _RunState(ctx, writer)
    try:
        state.start()
        _run_epochs(ctx, state)
        finished = state.epochs_done == config.epochs or state.early_stopped
        return state.finish("completed" if finished else "interrupted")
    except KeyboardInterrupt:  # a second Ctrl-C: no clean stop, but the run is still marked
        state.finish("interrupted", "aborted")
        raise
    except Diverged as exc:
        return state.finish("diverged", str(exc))
    except Exception as exc:  # saved as failed; the traceback goes to the run's error.log
        (writer.path / "error.log").write_text(traceback.format_exc())
        return state.finish("failed", f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()


def _prepare(config: RunConfig, emit: Callable[[Event], None], control: Control) -> Context:
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
    data = load_dataset(
        config.dataset, config.data_dir, download=config.download, train_limit=config.train_limit,
        test_limit=config.test_limit, val_split=config.val_split, seed=config.seed,
    )
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
    _to_device(data, device)
    gen = torch.Generator(device=device).manual_seed(config.seed)
    steps = max(1, math.ceil(len(data.train) / config.batch_size))
    if len(data.train) % config.batch_size == 1 and steps > 1:
        steps -= 1  # a 1-image last batch breaks BatchNorm; drop it
    return Context(
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


def _to_device(data: Dataset, device: torch.device) -> None:
    """Move every split to the device once, as uint8 (4x smaller than float)."""
    for split in (data.train, data.val, data.test):
        if split is not None:
            split.x = torch.as_tensor(split.x).to(device)
            split.y = torch.as_tensor(split.y).to(device)


class _RunState:
    """Bookkeeping of one run: best metric, summary, store writes, events."""

    def __init__(self, ctx: Context, writer: RunWriter):
        self.ctx, self.writer = ctx, writer
        self.epochs_done = 0
        self.best: float = -1.0
        self.best_epoch = 0
        self.last: dict[str, Any] = {}
        self.since_best = 0
        self.throughputs: list[float] = []
        self.early_stopped = False
        self.started_at = utc_now()
        params = list(ctx.model.parameters())
        self.params_total = sum(p.numel() for p in params)
        self.params_trainable = sum(p.numel() for p in params if p.requires_grad)

    @property
    def run_dir(self) -> str:
        return str(self.writer.path)

    def start(self) -> None:
        c, d = self.ctx.config, self.ctx.data
        self.writer.write_config({**c.to_dict(), "run_id": self.writer.run_id,
                                  "environment": describe_environment(self.ctx.device)})
        self.writer.write_summary(self.summary("running"))
        self.ctx.emit(RunStarted(
            run_id=self.writer.run_id, run_dir=self.run_dir, config=c.to_dict(),
            device=str(self.ctx.device), class_names=list(d.class_names),
            params_total=self.params_total, params_trainable=self.params_trainable,
            n_train=len(d.train), n_val=len(d.val) if d.val else 0, n_test=len(d.test),
            steps_per_epoch=self.ctx.steps_per_epoch, input_size=self.ctx.pipeline.input_size,
        ))

    def epoch_done(self, epoch: int, record: dict[str, Any], per_class: list[float], confusion: list[list[int]]) -> None:
        key = "val_acc" if "val_acc" in record else "test_acc"
        is_best = record[key] > self.best
        if is_best:
            self.best, self.best_epoch, self.since_best = record[key], epoch, 0
        else:
            self.since_best += 1
        self.epochs_done, self.last = epoch, record
        self.throughputs.append(record["img_per_s"])
        self.per_class, self.confusion = per_class, confusion
        self.writer.append_metrics({**record, "per_class_acc": per_class, "confusion": confusion})
        if self.ctx.config.checkpoints:
            self.writer.save_checkpoint(checkpoint_state(self.ctx, epoch), is_best)
        self.writer.write_summary(self.summary("running"))
        elapsed = time.perf_counter() - self.ctx.started
        remaining = self.ctx.config.epochs - epoch
        eta = remaining * sum(self.ctx.epoch_times) / len(self.ctx.epoch_times)
        self.ctx.emit(EpochDone(epoch, self.ctx.config.epochs, record, per_class, confusion, is_best, elapsed, eta))
        patience = self.ctx.config.early_stop_patience
        if patience and self.since_best >= patience:
            self.early_stopped = True
            self.ctx.emit(Log("info", f"early stop: no better {key} for {patience} epochs"))

    def summary(self, status: str, error: str | None = None) -> dict[str, Any]:
        c, d, last = self.ctx.config, self.ctx.data, self.last
        names = list(d.class_names)
        per_class = getattr(self, "per_class", [])
        return {
            "run_id": self.writer.run_id, "status": status, "error": error,
            "model": c.model, "strategy": c.strategy, "dataset": c.dataset, "preset": c.preset, "name": c.name,
            "epochs": c.epochs, "epochs_done": self.epochs_done,
            "test_acc": last.get("test_acc"), "test_top5": last.get("test_top5"), "test_top3": last.get("test_top3"),
            "test_loss": last.get("test_loss"),
            "val_acc": last.get("val_acc"), "train_acc": last.get("train_acc"), "train_loss": last.get("train_loss"),
            "best_metric": "val_acc" if d.val is not None else "test_acc",
            "best_acc": self.best if self.best >= 0 else None, "best_epoch": self.best_epoch or None,
            "per_class_acc": dict(zip(names, per_class)), "confusion": getattr(self, "confusion", []),
            "class_names": names, "params_total": self.params_total, "params_trainable": self.params_trainable,
            "img_per_s": round(sum(self.throughputs) / len(self.throughputs), 1) if self.throughputs else None,
            "n_train": len(d.train), "n_val": len(d.val) if d.val else 0, "n_test": len(d.test),
            "device": str(self.ctx.device), "started_at": self.started_at,
            "wall_time_s": round(time.perf_counter() - self.ctx.started, 3),
            "reported_test_acc": c.extra.get("reported_test_acc"),
        }

    def finish(self, status: str, error: str | None = None) -> RunResult:
        summary = self.summary(status, error)
        summary["ended_at"] = utc_now()
        self.writer.write_summary(summary)
        if error:
            self.ctx.emit(Log("error", error))
        self.ctx.emit(RunEnded(status, self.writer.run_id, self.run_dir, summary, error))
        return RunResult(status, self.writer.run_id, self.run_dir, summary, error)


def _run_epochs(ctx: Context, state: _RunState) -> None:
    for epoch in range(1, ctx.config.epochs + 1):
        if ctx.plan.phase2_epoch == epoch:
            ctx.plan.unfreeze(ctx.model)
            ctx.emit(Log("info", f"epoch {epoch}: backbone unfrozen, lr {ctx.config.phase2_lr:g}"))
        t0 = time.perf_counter()
        train_stats = train_one_epoch(ctx, epoch)
        if train_stats is None:
            return  # stopped mid-epoch: the caller saves the run as interrupted
        record = {"epoch": epoch, **train_stats}
        conf: list[list[int]] = []
        for split_name, split in (("val", ctx.data.val), ("test", ctx.data.test)):
            if split is not None:
                result = evaluate(ctx, split.x, split.y)
                record.update({f"{split_name}_{k}": v for k, v in result.items() if k != "confusion"})
                conf = result["confusion"] if split_name == "test" else conf
        record["epoch_time_s"] = round(time.perf_counter() - t0, 3)
        record["wall_time_s"] = round(time.perf_counter() - ctx.started, 3)
        ctx.epoch_times.append(record["epoch_time_s"])
        if ctx.config.schedule == "plateau":
            ctx.schedule.epoch_end(record.get("val_acc", record["test_acc"]))
        state.epoch_done(epoch, record, per_class_accuracy(conf), conf)
        if state.early_stopped or ctx.control.stop_requested:
            return


def train_one_epoch(ctx: Context, epoch: int) -> dict[str, float] | None:
    """One pass over the shuffled training set; None if a stop was requested."""
    c, data, model = ctx.config, ctx.data, ctx.forward
    ctx.plan.train_mode(ctx.model)
    n = len(data.train)
    perm = torch.randperm(n, device=ctx.device, generator=ctx.gen)
    loss_sum = torch.zeros((), device=ctx.device)
    correct = torch.zeros((), device=ctx.device, dtype=torch.long)
    seen, paused_s = 0, 0.0
    t0 = last_emit = time.perf_counter()
    for step in range(ctx.steps_per_epoch):
        if ctx.control.paused:
            p0 = time.perf_counter()
            ctx.control.wait_while_paused()
            paused_s += time.perf_counter() - p0
        if ctx.control.stop_requested:
            return None
        idx = perm[step * c.batch_size : (step + 1) * c.batch_size]
        y = data.train.y[idx]
        x, target = ctx.pipeline.train_batch(data.train.x[idx], y, ctx.gen)
        lr = ctx.schedule.apply(ctx.optimizer, ctx.global_step)
        with autocast(ctx):
            out = model(x)
            loss = ctx.criterion(out, target)
        ctx.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        ctx.optimizer.step()
        ctx.global_step += 1
        loss_sum += loss.detach() * len(idx)
        correct += (out.argmax(1) == y).sum()
        seen += len(idx)
        now = time.perf_counter()
        if now - last_emit >= STEP_EVENT_INTERVAL_S or step == ctx.steps_per_epoch - 1:
            last_emit = now
            value = loss.item()  # the only per-step sync, at ~10 Hz
            if not math.isfinite(value):
                raise Diverged(f"loss became {value} at epoch {epoch}, step {step + 1}; lower --lr")
            rate = seen / max(1e-9, now - t0 - paused_s)
            ctx.emit(StepDone(epoch, step + 1, ctx.steps_per_epoch, value, lr, rate,
                              now - ctx.started, _eta(ctx, epoch, step + 1, now - t0 - paused_s)))
    train_time = time.perf_counter() - t0 - paused_s
    return {
        "train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen,
        "lr": lr, "img_per_s": round(seen / max(train_time, 1e-9), 1), "train_time_s": round(train_time, 3),
    }


def _eta(ctx: Context, epoch: int, step: int, epoch_elapsed: float) -> float | None:
    """Seconds left: step rate for this epoch, plus whole epochs at their measured length."""
    spe = ctx.steps_per_epoch
    this_epoch = epoch_elapsed / step * (spe - step)
    per_epoch = (sum(ctx.epoch_times) / len(ctx.epoch_times)) if ctx.epoch_times else epoch_elapsed / step * spe
    return this_epoch + per_epoch * (ctx.config.epochs - epoch)


def autocast(ctx: Context):
    """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); nothing elsewhere."""
    if ctx.device.type == "cuda" and ctx.config.amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(ctx: Context, x_all: torch.Tensor, y_all: torch.Tensor) -> dict[str, Any]:
    """Loss, accuracy, top-3, top-5 and confusion matrix over one split."""
    ctx.forward.eval()
    k = ctx.data.num_classes
    loss_sum = torch.zeros((), device=ctx.device)
    correct = torch.zeros((), device=ctx.device, dtype=torch.long)
    top5 = torch.zeros((), device=ctx.device, dtype=torch.long)
    top3 = torch.zeros((), device=ctx.device, dtype=torch.long)  # study 001 reports top-1/top-3
    conf = torch.zeros((k, k), device=ctx.device, dtype=torch.long)
    for i in range(0, len(y_all), ctx.config.eval_batch_size):
        y = y_all[i : i + ctx.config.eval_batch_size]
        x = ctx.pipeline.eval_batch(x_all[i : i + ctx.config.eval_batch_size])
        with autocast(ctx):
            out = ctx.forward(x)
        out = out.float()
        loss_sum += F.cross_entropy(out, y, reduction="sum")
        pred = out.argmax(1)
        correct += (pred == y).sum()
        top5 += topk_correct(out, y, 5)
        top3 += topk_correct(out, y, 3)
        confusion_update(conf, pred, y)
    n = max(1, len(y_all))
    return {
        "loss": loss_sum.item() / n, "acc": correct.item() / n, "top5": top5.item() / n, "top3": top3.item() / n,
        "confusion": conf.cpu().tolist(),
    }


def checkpoint_state(ctx: Context, epoch: int) -> dict[str, Any]:
    """Everything needed to resume: weights, optimizer, schedule, step, RNG states."""
    rng = {"torch": torch.get_rng_state(), "gen": ctx.gen.get_state()}
    if ctx.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(ctx.device)
    return {
        "model": ctx.model.state_dict(), "optimizer": ctx.optimizer.state_dict(),
        "schedule": ctx.schedule.state_dict(), "epoch": epoch, "global_step": ctx.global_step,
        "rng": rng, "config": ctx.config.to_dict(),
    }


__all__ = ["train", "train_one_epoch", "evaluate", "RunResult", "UserError"]
