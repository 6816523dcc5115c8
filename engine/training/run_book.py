"""RunBook: one run's bookkeeping — best metric, early stopping, the summary, the store writes.

The loop (engine.training.loop) computes; the book decides what is best, what is saved
and in which order, and what the summary says. Its state is part of every
checkpoint so that a resumed run keeps choosing "best" exactly as before.
"""
from __future__ import annotations

import copy
import math
import os
from typing import TYPE_CHECKING, Any

from engine.runs import predictions
from engine.device.environment import describe_environment
from engine.events import EpochDone, Event, Log, PhaseProgress, RunEnded, RunStarted, StepDone
from engine.runs import RunStatus, read_json, utc_now
from engine.runs.resolve import new_run_id
from engine.runs.writer import RunWriter
from engine.runs.layout import config_path
from engine.models.source import model_source
from engine.device.system import SystemSampler
from engine.training.outlets import Outlets
from engine.training.resume import resume_command
from engine.training.selection import SELECTION_METRIC, improves
from engine.training.snapshot import Partial, capture

if TYPE_CHECKING:
    from engine.training.context import Context

EXPLODED = 100.0  # a loss this many times the reference (first step, or chance level) has diverged


class Diverged(Exception):
    """The loss became NaN/Inf, or exploded past EXPLODED x its starting value."""


class RunBook:
    """Best/last metrics, counters and the run's files for one run."""

    def __init__(self, ctx: "Context"):
        self.ctx = ctx
        self._emit, ctx.emit = ctx.emit, self._emit_and_record  # phases (evaluation, ...) reach progress.json
        self.outlets = Outlets(self._emit)
        self.system = SystemSampler(ctx.config.runs_dir)
        self.writer: RunWriter | None = None
        self.epochs_done = 0
        self.best: float = -1.0
        self.best_epoch = 0
        self.since_best = 0
        self.early_stopped = False
        self.last: dict[str, Any] = {}
        self.throughputs: list[float] = []
        self.per_class: list[float] = []
        self.confusion: list[list[int]] = []
        self.loss_ref: float | None = None
        self.test_at_best: float | None = None
        """Test accuracy of the best-validation epoch's weights (the last epoch's without a validation split)."""
        self.started_at = utc_now()
        self.history: list[dict[str, Any]] = []
        """Epoch records of earlier sessions of a resumed run (the dashboard draws them)."""
        self._job_run: tuple[str, str] = ("", "")
        params = list(ctx.model.parameters())
        self.params_total = sum(p.numel() for p in params)
        self.params_trainable = sum(p.numel() for p in params if p.requires_grad)

    # ------------------------------------------------------------------ state (checkpointed)
    _STATE = ("epochs_done", "best", "best_epoch", "since_best", "early_stopped", "last", "throughputs",
              "per_class", "confusion", "loss_ref", "started_at", "test_at_best")

    def state_dict(self) -> dict[str, Any]:
        return {k: copy.deepcopy(getattr(self, k)) for k in self._STATE}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k in self._STATE:
            setattr(self, k, copy.deepcopy(state[k]))

    # ------------------------------------------------------------------ opening
    def open_new(self) -> None:
        """Create the run directory, complete (config, running summary, empty metrics)."""
        c = self.ctx.config
        self.writer = RunWriter.create(c.runs_dir, new_run_id(c.model, c.strategy, c.name),
                                       self._config_json(), self.summary(RunStatus.RUNNING))
        self.ctx.control.watch(self.obey_remote)
        self.outlets.open(self.writer.path, self.ctx.steps_per_epoch, None, c.tensorboard)

    def open_resumed(self, writer: RunWriter, change: dict[str, Any]) -> None:
        """Continue in the run's own directory: metrics cut back to the checkpoint, config notes the resume."""
        self.writer = writer
        done = self.epochs_done
        kept = [r for r in writer.records() if r["epoch"] < done]
        if done and self.last:
            kept.append({**self.last, "epoch": done})  # the checkpoint carries its epoch's record
        writer.rewrite_metrics(kept)
        writer.steps.cut_to(done, self.ctx.partial.step if self.ctx.partial else 0)
        self.history = kept
        config = self._config_json()
        try:
            old = read_json(config_path(writer.path))
        except (OSError, ValueError):
            old = {}
        resumes = list(old.get("resumes") or []) if isinstance(old, dict) else []
        step = self.ctx.partial.step if self.ctx.partial else 0
        resumes.append({"at": utc_now(), "from_epoch": done, "from_step": step, "changed": change})
        writer.write_config({**config, "run_id": writer.run_id, "resumes": resumes})
        writer.write_summary(self.summary(RunStatus.RUNNING))
        self.ctx.control.watch(self.obey_remote)
        # TensorBoard drops what the earlier session wrote past the checkpoint (steps.jsonl keeps the point at it)
        resume_at = done * self.ctx.steps_per_epoch + step + 1
        self.outlets.open(writer.path, self.ctx.steps_per_epoch, resume_at, self.ctx.config.tensorboard)

    def join_job(self) -> None:
        """A rank other than 0 of a torchrun job: no files; learn the run's id and place from rank 0
        (a collective: rank 0 answers after opening the run)."""
        from engine.device import distributed

        self._job_run = distributed.from_main(None)

    def _config_json(self) -> dict[str, Any]:
        config = self.ctx.config.to_dict()
        if config.get("data_dir"):  # the run is read again from anywhere (resume, analyze, the app): not cwd-relative
            config["data_dir"] = os.path.abspath(os.path.expanduser(config["data_dir"]))
        dist = self.ctx.dist
        job = {"distributed": dist.describe(self.ctx.config.batch_size)} if dist.active else {}
        source = model_source(self.ctx.config.model)
        return {**config, "environment": describe_environment(self.ctx.device), **job,
                **({"model_source": source} if source else {})}

    @property
    def run_id(self) -> str:
        return self.writer.run_id if self.writer else self._job_run[0]

    @property
    def run_dir(self) -> str:
        return str(self.writer.path) if self.writer else self._job_run[1]

    def tell_job(self) -> None:
        """Rank 0 of a torchrun job, its run open: the others learn its id and place (see join_job)."""
        from engine.device import distributed

        distributed.from_main((self.run_id, self.run_dir))

    def started_event(self) -> RunStarted:
        c, d = self.ctx.config, self.ctx.data
        return RunStarted(
            run_id=self.run_id, run_dir=self.run_dir, config=c.to_dict(), device=str(self.ctx.device),
            class_names=list(d.class_names), params_total=self.params_total,
            params_trainable=self.params_trainable, n_train=len(d.train), n_val=len(d.val) if d.val else 0,
            n_test=len(d.test), steps_per_epoch=self.ctx.steps_per_epoch, input_size=self.ctx.pipeline.input_size,
            start_epoch=self.ctx.start_epoch, start_step=self.ctx.partial.step if self.ctx.partial else 0,
            history=list(self.history),
        )

    # ------------------------------------------------------------------ per step / epoch
    def step_done(self, event: StepDone) -> None:
        """A progress tick: to the caller, and (throttled by time, not steps) to progress.json."""
        self.ctx.emit(event)

    def _emit_and_record(self, event: Event) -> None:
        self._emit(event)
        if self.writer is not None and isinstance(event, (StepDone, PhaseProgress)):
            if isinstance(event, StepDone) and self.writer.steps.add(event):
                self.outlets.step(event)
            if isinstance(event, StepDone) and self.system.due():
                self._emit(self.system.sample())
            failed = self.writer.progress.tick(event)
            if failed:
                self._emit(Log("warning", failed))
            self.obey_remote()

    def obey_remote(self) -> None:
        """Act on a stop / pause / resume another process asked for (engine.runs.remote), as on our own keys."""
        action = self.writer.remote.poll() if self.writer is not None else None
        if action is None:
            return
        control = self.ctx.control
        if action == "pause" and self.ctx.dist.active:  # the other ranks would wait on us until they time out
            self._emit(Log("warning", "a pause was asked, but a torchrun job cannot pause: stop it instead"))
            return
        control.apply(action)
        self.writer.progress.set_paused(control.paused and not control.stop_requested)  # type: ignore[union-attr]
        self._emit(Log("info", {"stop": "stop asked from another process: stopping after this step",
                                "pause": "paused from another process", "resume": "resumed from another process"}
                       [action]))

    def check_loss(self, value: float, where: str) -> None:
        """Raise Diverged for a non-finite loss, or one EXPLODED times the reference."""
        if not math.isfinite(value):
            raise Diverged(f"{where} became {value}; {self._diverged_advice()}")
        if self.loss_ref is None:
            self.loss_ref = max(value, math.log(max(2, self.ctx.data.num_classes)))
        elif value > EXPLODED * self.loss_ref:
            raise Diverged(f"{where} exploded to {value:.3g} ({value / self.loss_ref:.3g}x the starting "
                           f"{self.loss_ref:.3g}); {self._diverged_advice()}")

    def _diverged_advice(self) -> str:
        kept = (f"the checkpoint of epoch {self.epochs_done} is kept" if self.epochs_done and self.ctx.config.checkpoints
                else "no checkpoint was saved yet, so a resume starts over")
        return (f"stopped as diverged ({kept}). Resume with a lower --lr: "
                f"{resume_command(self.run_id, self.ctx.config.runs_dir)} --lr {self.ctx.config.lr / 10:g}")

    def epoch_done(self, epoch: int, record: dict[str, Any], per_class: list[float], conf: list[list[int]],
                   top: tuple[Any, Any] | None = None) -> None:
        """Checkpoint, then the test predictions, then the metrics line, then the summary (the commit point);
        then the event. ``top``: the test set's top-5 (ids, probs), stored for the drill-down."""
        for key in ("train_loss", "val_loss", "test_loss"):
            if key in record:
                self.check_loss(record[key], f"{key.replace('_', ' ')} at epoch {epoch}")
        before = self.state_dict()
        is_best = self._select(epoch, record)
        patience = self.ctx.config.early_stop_patience
        self.early_stopped = bool(patience and self.since_best >= patience)
        full = {**record, "per_class_acc": per_class, "confusion": conf}
        self.epochs_done, self.last = epoch, full
        self.throughputs.append(record["img_per_s"])
        self.per_class, self.confusion = per_class, conf
        try:
            self.save_checkpoint(None, is_best)
            self._save_predictions(epoch, top, is_best)
        except BaseException:
            self.load_state_dict(before)  # the summary must never name a best the disk does not hold
            raise
        if self.writer is not None:  # None on the ranks of a torchrun job other than 0
            self.writer.append_metrics(full)
            self.writer.write_summary(self.summary(RunStatus.RUNNING))
            self.outlets.epoch(full, dict(zip(self.ctx.data.class_names, per_class)))
        self.ctx.emit(EpochDone(epoch, self.ctx.config.epochs, record, per_class, conf, is_best,
                                self.ctx.elapsed(), self.ctx.eta_after(epoch)))
        if self.early_stopped:
            self.ctx.emit(Log("info", f"early stop: no better val_acc for {patience} epochs"))

    def _save_predictions(self, epoch: int, top: tuple[Any, Any] | None, is_best: bool) -> None:
        if top is None or self.writer is None:
            return
        labels = self.ctx.data.test.y
        labels = labels.cpu().numpy() if hasattr(labels, "cpu") else labels
        predictions.save(self.writer.path, predictions.Predictions(epoch, labels, *top), is_best=is_best)

    def _select(self, epoch: int, record: dict[str, Any]) -> bool:
        """Is this epoch the best? Decided on the validation split alone, never on the test set.

        Without a validation split there is no selection: every epoch is "best", so best.pt
        is the last epoch and the test accuracy reported is the last one.
        """
        if SELECTION_METRIC not in record:
            self.test_at_best = record["test_acc"]
            return True
        if not improves(record, self.best if self.best >= 0 else None):
            self.since_best += 1
            return False
        self.best, self.best_epoch, self.since_best = record[SELECTION_METRIC], epoch, 0
        self.test_at_best = record["test_acc"]
        return True

    def save_checkpoint(self, partial: Partial | None, is_best: bool = False) -> None:
        if not self.ctx.config.checkpoints or (self.writer is None and not self.ctx.dist.active):
            return
        state = capture(self.ctx, self, partial)  # under torchrun a collective: every rank takes part
        if self.writer is not None:
            step = partial.step if partial else 0
            self.writer.save_checkpoint(state, is_best=is_best, epoch=self.epochs_done, step=step)

    def save_partial(self, partial: Partial) -> None:
        """A stop mid-epoch: checkpoint at this step, so a resume continues exactly here. A stop that lands
        on an epoch's first step has nothing new to save (the epoch's checkpoint is it) but says the same."""
        if partial.step > 0:
            self.save_checkpoint(partial)
            self.ctx.emit(Log("info", f"saved at epoch {self.epochs_done + 1}, step {partial.step}; {self._hint()}"))
        else:
            self.stopped_between_epochs()

    def stopped_between_epochs(self) -> None:
        """A stop taken at an epoch's edge: the epoch's own checkpoint is the resume point; say how to resume."""
        if self.epochs_done:
            self.ctx.emit(Log("info", f"stopped after epoch {self.epochs_done}, its checkpoint saved; {self._hint()}"))

    def _hint(self) -> str:
        return f"resume with: {resume_command(self.run_id, self.ctx.config.runs_dir)}"

    # ------------------------------------------------------------------ summary / end
    def summary(self, status: RunStatus, error: str | None = None) -> dict[str, Any]:
        c, d, last = self.ctx.config, self.ctx.data, self.last
        names = list(d.class_names)
        return {
            "run_id": self.run_id, "status": status.value, "error": error,
            "model": c.model, "strategy": c.strategy, "dataset": c.dataset, "preset": c.preset, "name": c.name,
            "epochs": c.epochs, "epochs_done": self.epochs_done,
            "test_acc": last.get("test_acc"), "test_top5": last.get("test_top5"), "test_top3": last.get("test_top3"),
            "test_loss": last.get("test_loss"),
            "val_acc": last.get("val_acc"), "train_acc": last.get("train_acc"), "train_loss": last.get("train_loss"),
            "best_metric": SELECTION_METRIC if d.val is not None else None,
            "best_acc": self.best if self.best >= 0 else None, "best_epoch": self.best_epoch or None,
            "test_acc_at_best": self.test_at_best, **self._headline(),
            "per_class_acc": dict(zip(names, self.per_class)), "confusion": self.confusion,
            "class_names": names, "params_total": self.params_total, "params_trainable": self.params_trainable,
            "img_per_s": round(sum(self.throughputs) / len(self.throughputs), 1) if self.throughputs else None,
            "n_train": len(d.train), "n_val": len(d.val) if d.val else 0, "n_test": len(d.test),
            "device": str(self.ctx.device), "world_size": self.ctx.dist.world, "started_at": self.started_at,
            "wall_time_s": round(self.ctx.elapsed(), 3),
            "reported_test_acc": c.extra.get("reported_test_acc"),
        }

    def _headline(self) -> dict[str, Any]:
        """The number to set beside a study's: measured where the study measured it (best or last epoch)."""
        at = self.ctx.config.extra.get("reported_at", "last")
        value = self.test_at_best if at == "best" else self.last.get("test_acc")
        return {"headline_acc": value, "headline_at": at}

    def finish(self, status: RunStatus, error: str | None = None) -> RunEnded:
        """Write the final summary (best effort when the disk is full) and say so."""
        summary = {**self.summary(status, error), "ended_at": utc_now()}
        if self.writer is not None:
            try:
                self.writer.write_summary(summary)
            except OSError as exc:  # StoreWriteError is a UserError; a raw OSError means the same here
                error = f"{error}; and the summary could not be saved ({exc})" if error else str(exc)
            except Exception as exc:  # noqa: BLE001 - the run is over either way; say why it could not be marked
                error = f"{error}; {exc}" if error else str(exc)
        if error:
            self.ctx.emit(Log("error", error))
        if self.writer is not None:
            self.outlets.finish(self._config_json(), summary, self.run_id)
        ended = RunEnded(status.value, self.run_id, self.run_dir, summary, error)
        self.ctx.emit(ended)
        return ended
