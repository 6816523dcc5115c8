"""What the dashboard knows about one run, built from engine events or saved records.

Pure Python (no textual): the screen folds events into a ``RunState`` as they
arrive and the widgets redraw from it at a bounded rate. The same state is
built from a saved run's files (config.json, summary.json, metrics.jsonl, steps.jsonl),
so a live run, a followed run and a finished run look the same on screen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.events import EpochDone, Event, Log, PhaseProgress, RunEnded, RunStarted, StepDone, SystemSample
from engine.runs.status import RunStatus
from engine.training.selection import improves, selection_value

from tui import format as fmt
from tui.state.run_phase import PauseClock, Phase
from tui.state.series import Series

if TYPE_CHECKING:
    from engine.runs.follow import FollowUpdate

__all__ = ["EPOCH_KEYS", "PauseClock", "Phase", "RunState", "Series", "epoch_summary"]

EPOCH_KEYS = ("train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc")
LOG_LIMIT = 500  # lines kept for the log panel; older ones fall off


@dataclass
class RunState:
    """Everything the dashboard shows; updated by ``apply`` / ``apply_record``."""

    run_id: str = ""
    run_dir: str = ""
    model: str = "?"
    strategy: str = "?"
    dataset: str = "?"
    device: str = "?"
    preset: str | None = None
    class_names: list[str] = field(default_factory=list)
    params_total: int | None = None
    params_trainable: int | None = None
    n_train: int = 0
    n_val: int | None = None
    """Validation images; 0: no validation split (nothing is selected); None: not known yet."""
    n_test: int = 0
    epochs: int = 0
    steps_per_epoch: int = 0
    recorded_steps_per_epoch: int = 0
    """steps_per_epoch as steps.jsonl records it: a saved run's only record, for the charts' step axis (the
    header's step count stays a live run's)."""
    # live progress
    phase: Phase = Phase.STARTING
    """Changed only by the transition methods below (started, pause, resume, stop, end, fail, follow)."""
    epoch: int = 0
    step: int = 0
    loss: float | None = None
    lr: float | None = None
    img_per_s: float | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None
    reported_test_acc: float | None = None
    error: str | None = None
    gpu_mem: int | None = None
    """Bytes of CUDA memory in use at the last step (None on the CPU, or not known)."""
    gpu_peak: int | None = None
    activity: PhaseProgress | None = None
    """Work outside the training steps going on now (reading the data, the feature cache, evaluation), so the
    header shows it moving instead of a bar stuck at the last step; None inside the steps."""
    system: SystemSample | None = None
    """The machine at the last sample (GPUs, the process's CPU and memory, free disk) while the run trains
    here; None before the first, after the end, and for a run another process writes (its files hold none)."""
    follow_paused: bool = False
    """A followed run said (progress.json) that it is paused: its phase shows PAUSED while it runs."""
    clock: PauseClock = field(default_factory=PauseClock)
    # history
    step_loss: Series = field(default_factory=Series)
    epoch_x: list[int] = field(default_factory=list)
    epoch_wall: list[float | None] = field(default_factory=list)
    """Seconds of training at each epoch's end (the charts' time axis); None where not recorded."""
    epoch_series: dict[str, list[float | None]] = field(default_factory=lambda: {k: [] for k in EPOCH_KEYS})
    per_class: list[float] = field(default_factory=list)
    per_class_prev: list[float] = field(default_factory=list)
    per_class_best: list[float] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)
    best_acc: float | None = None
    best_epoch: int | None = None
    gap_acc: float | None = None
    """Train minus held-out accuracy at the last epoch (positive: overfitting; engine.training.metrics)."""
    gap_loss: float | None = None
    """Held-out minus train loss at the last epoch."""
    probe_acc: float | None = None
    """Test accuracy of the newest linear probe trained on this run's frozen features (None: no probe)."""
    log: list[tuple[str, str]] = field(default_factory=list)
    log_count: int = 0
    """Lines ever added (the list keeps only the last LOG_LIMIT)."""
    _epoch_times: list[float] = field(default_factory=list)

    @property
    def status(self) -> Phase:
        """The phase (read-only; a str enum, so ``state.status == "completed"`` reads as before)."""
        return self.phase

    # ------------------------------------------------------------------ transitions
    def _begin(self) -> bool:
        """STARTING -> TRAINING: the engine reported the run started or stepped (a pause stays a pause)."""
        if self.phase is not Phase.STARTING:
            return False
        self.phase = Phase.TRAINING
        return True

    def pause(self) -> bool:
        """TRAINING/STARTING -> PAUSED (the elapsed clock stops); False when there is nothing to pause."""
        if self.phase not in (Phase.STARTING, Phase.TRAINING):
            return False
        self.phase = Phase.PAUSED
        self.clock.pause()
        return True

    def resume(self) -> bool:
        """PAUSED -> TRAINING (STARTING when the engine has not reported the run yet)."""
        if self.phase is not Phase.PAUSED:
            return False
        self.phase = Phase.TRAINING if self.run_id else Phase.STARTING
        self.clock.resume()
        return True

    def stop(self) -> bool:
        """-> STOPPING from any phase p and x control; a paused run wakes up to stop."""
        if not self.phase.controllable:
            return False
        self.phase = Phase.STOPPING
        self.clock.resume()
        return True

    def end(self, status: object, error: str | None = None) -> None:
        """The run ended (engine RunEnded): its final phase."""
        self.phase, self.error, self.activity = Phase.from_status(status), error, None
        self.system = None  # the machine after the run says nothing about it
        self.clock.resume()

    def fail(self, error: str) -> None:
        """The run could not start (bad input, nothing saved)."""
        self.phase, self.error = Phase.ERROR, error
        self.add_log("error", error)

    def follow(self, status: object) -> Phase:
        """A followed run's status from its files (PAUSED while it runs paused); returns the previous phase."""
        previous, self.phase = self.phase, Phase.from_status(status)
        if self.phase is Phase.FOLLOWING and self.follow_paused:
            self.phase = Phase.PAUSED
        if not self.phase.live:
            self.activity = None
        return previous

    # ------------------------------------------------------------------ events
    def apply(self, event: Event) -> None:
        """Fold one engine event into the state."""
        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, StepDone):
            self._step(event)
        elif isinstance(event, EpochDone):
            self.apply_record({**event.metrics, "epoch": event.epoch, "per_class_acc": event.per_class_acc,
                               "confusion": event.confusion}, epochs=event.epochs)
            self.elapsed_s, self.eta_s = self.clock.report(event.elapsed_s), event.eta_s
            self.epoch_wall[-1] = self.elapsed_s
        elif isinstance(event, Log):
            self.add_log(event.level, event.message)
        elif isinstance(event, RunEnded):
            self._ended(event)
        elif isinstance(event, PhaseProgress):
            self._activity(event)
        elif isinstance(event, SystemSample):
            self.system = event if self.phase.live else None  # a late sample after the end is dropped

    def _activity(self, e: PhaseProgress) -> None:
        """A phase outside the steps moved on; its end (done == total) clears it. During an evaluation the
        run's ETA is the phase's run_eta_s: the step's ETA would read 0 at the epoch's last step."""
        self.activity = None if e.total is not None and e.done >= e.total else e
        if e.run_eta_s is not None:
            self.eta_s = e.run_eta_s

    def _ended(self, event: RunEnded) -> None:
        self.end(event.status, event.error)
        self.run_id, self.run_dir = event.run_id or self.run_id, event.run_dir or self.run_dir
        wall = fmt.real(event.summary.get("wall_time_s"))
        self.elapsed_s = self.clock.report(wall) if wall is not None else self.elapsed_s
        self.eta_s = None
        self.add_log("info" if self.phase is Phase.COMPLETED else "warning",
                     f"run {self.phase}; saved in {event.run_dir}")

    def _started(self, e: RunStarted) -> None:
        c = e.config
        self.run_id, self.run_dir, self.device = e.run_id, e.run_dir, e.device
        self.model, self.strategy, self.dataset = c.get("model", "?"), c.get("strategy", "?"), c.get("dataset", "?")
        self.preset = c.get("preset")
        self.epochs, self.steps_per_epoch = int(c.get("epochs", 0)), e.steps_per_epoch
        self.class_names = list(e.class_names)
        self.params_total, self.params_trainable = e.params_total, e.params_trainable
        self.n_train, self.n_val, self.n_test = e.n_train, e.n_val, e.n_test
        self.reported_test_acc = (c.get("extra") or {}).get("reported_test_acc")
        self._begin()
        if e.start_epoch == 1 and not e.start_step:  # a new run: the engine's clock starts at 0 now
            self.clock.started(0.0)
        for record in e.history:  # a resumed run: its earlier epochs, drawn as if they had just happened
            self.apply_record(record, epochs=self.epochs)
        if e.start_epoch > 1 or e.start_step:
            self.add_log("info", f"resumed at epoch {e.start_epoch}, step {e.start_step}")
        self.add_log("info", f"run {e.run_id}: {self.model}/{self.strategy} on {self.dataset}, {e.n_train} train / "
                             f"{e.n_val} val / {e.n_test} test images at {e.input_size}px on {e.device}")

    def _step(self, e: StepDone, chart: bool = True) -> None:
        """``chart``: the loss joins the step curve (a followed run's come from steps.jsonl instead)."""
        self.epoch, self.step, self.steps_per_epoch = e.epoch, e.step, e.steps_per_epoch
        self.activity = None
        self._begin()
        self.loss, self.lr, self.img_per_s = e.loss, e.lr, e.img_per_s
        self.elapsed_s, self.eta_s = self.clock.report(e.elapsed_s), e.eta_s
        self.gpu_mem, self.gpu_peak = e.gpu_mem, e.gpu_peak
        if chart:  # each batch's own loss: the chart smooths it as the user chose (ChartView)
            self.step_loss.add((e.epoch - 1) + e.step / max(1, e.steps_per_epoch), e.loss)

    # ------------------------------------------------------------------ records
    def apply_record(self, rec: dict[str, Any], epochs: int | None = None) -> None:
        """One metrics.jsonl line (or an EpochDone's content)."""
        epoch = int(rec.get("epoch", len(self.epoch_x) + 1))
        if epoch >= self.epoch:  # a coalesced newer step may have been applied before this epoch's end
            self.epoch, self.step = epoch, self.steps_per_epoch
        self.epochs = epochs or self.epochs or epoch
        self.activity = None  # the epoch's evaluation is over
        self.epoch_x.append(epoch)
        self.epoch_wall.append(fmt.real(rec.get("wall_time_s")))
        for key in EPOCH_KEYS:
            value = rec.get(key)
            self.epoch_series[key].append(float(value) if isinstance(value, (int, float)) else None)
        if rec.get("img_per_s"):
            self.img_per_s = rec["img_per_s"]
        if isinstance(rec.get("lr"), (int, float)):
            self.lr = float(rec["lr"])  # a followed or saved run has no step events to give it
        self._times(rec, epoch)
        per_class = [float(v) for v in rec.get("per_class_acc") or []]
        if per_class:
            self.per_class_prev = self.per_class or []
            self.per_class = per_class
            best = self.per_class_best if len(self.per_class_best) == len(per_class) else [0.0] * len(per_class)
            self.per_class_best = [max(a, b) for a, b in zip(best, per_class)]
            if not self.class_names:
                self.class_names = [f"class {i}" for i in range(len(per_class))]
        if rec.get("confusion"):
            self.confusion = [list(map(int, row)) for row in rec["confusion"]]
        self.gap_acc, self.gap_loss = fmt.real(rec.get("gap_acc")), fmt.real(rec.get("gap_loss"))
        if improves(rec, self.best_acc):  # the validation split alone picks the best epoch, never the test set
            self.best_acc, self.best_epoch = selection_value(rec), epoch
        self.add_log("info", epoch_summary(rec, self.epochs))

    def _times(self, rec: dict[str, Any], epoch: int) -> None:
        """Elapsed and ETA from the record itself: a followed run has no step events to give them."""
        if isinstance(rec.get("wall_time_s"), (int, float)):
            self.elapsed_s = float(rec["wall_time_s"])
        if isinstance(rec.get("epoch_time_s"), (int, float)):
            self._epoch_times.append(float(rec["epoch_time_s"]))
        remaining = (self.epochs or 0) - epoch
        if self._epoch_times and remaining > 0:
            self.eta_s = remaining * sum(self._epoch_times) / len(self._epoch_times)
        else:
            self.eta_s = None

    def apply_update(self, update: FollowUpdate) -> None:
        """One poll of a followed run: its files, new epochs, newest step and status, and what changed, logged."""
        if update.config or update.summary:
            self.load_files(update.config, update.summary)
        for record in update.records:
            self.apply_record(record)
        self._progress(update)
        previous = self.follow(update.status)
        if self.phase is Phase.STALE and previous is not Phase.STALE:
            self.add_log("warning", "the process writing this run is gone (killed or crashed): "
                                    "the run will not finish")
        elif update.finished and previous.live and self.phase is not previous:
            self.add_log("info", f"run {self.phase}")
        if update.error and update.status == RunStatus.UNREADABLE:
            self.add_log("error", f"cannot read the run: {update.error}")

    def _progress(self, update: FollowUpdate) -> None:
        """progress.json, when it changed: where the writer is inside the epoch, the phase outside the steps it
        is in, whether it is paused. Its loss is not charted: steps.jsonl gives the curve (add_step_points)."""
        if update.step is None:
            return
        self._step(update.step, chart=False)
        if update.phase is not None:
            self._activity(update.phase)
        if update.paused is not None:
            self.follow_paused = update.paused

    def add_step_points(self, points: list[dict[str, Any]]) -> None:
        """steps.jsonl points of a finished or followed run: the loss curve inside each epoch, as a live run
        draws it (each batch's loss; the chart smooths it). A point not past the last (a file cut back by a
        resume and read again) is skipped."""
        for p in points:
            x, loss = step_x(p), fmt.real(p.get("loss"))
            last = self.step_loss.x[-1] if self.step_loss.x else -1.0
            if x is None or loss is None or x <= last:
                continue
            self.step_loss.add(x, loss)
            self.recorded_steps_per_epoch = int(p["steps_per_epoch"])

    def test_acc_at(self, epoch: int | None) -> float | None:
        """The test accuracy recorded at ``epoch`` (None: not recorded, or no such epoch)."""
        if epoch not in self.epoch_x:
            return None
        return self.epoch_series["test_acc"][self.epoch_x.index(epoch)]

    def add_log(self, level: str, message: str) -> None:
        self.log.append((level, message))
        self.log_count += 1
        del self.log[:-LOG_LIMIT]

    def load_files(self, config: dict[str, Any], summary: dict[str, Any]) -> None:
        """Header fields from a saved run's config.json and summary.json."""
        self.run_id = summary.get("run_id") or config.get("run_id") or self.run_id
        self.model = config.get("model", summary.get("model", "?"))
        self.strategy = config.get("strategy", summary.get("strategy", "?"))
        self.dataset = config.get("dataset", summary.get("dataset", "?"))
        self.preset = config.get("preset")
        self.device = summary.get("device") or (config.get("environment") or {}).get("device", "?")
        self.epochs = int(config.get("epochs") or summary.get("epochs") or 0)
        self.class_names = list(summary.get("class_names") or self.class_names)
        self.params_total, self.params_trainable = summary.get("params_total"), summary.get("params_trainable")
        self.n_train, self.n_test = summary.get("n_train", 0), summary.get("n_test", 0)
        self.n_val = summary.get("n_val") if isinstance(summary.get("n_val"), int) else self.n_val
        self.reported_test_acc = summary.get("reported_test_acc")
        self.error = summary.get("error")
        if summary.get("wall_time_s") is not None:
            self.elapsed_s = summary["wall_time_s"]

    @property
    def last_epoch_s(self) -> float | None:
        return self._epoch_times[-1] if self._epoch_times else None

    @property
    def progress(self) -> float:
        """Fraction of all steps done, 0..1."""
        if not self.epochs:
            return 0.0
        done = float(len(self.epoch_x))  # whole epochs (the only unit a saved run knows)
        if self.steps_per_epoch and self.epoch:
            spe = self.steps_per_epoch
            done = max(done, (self.epoch - 1) + min(self.step, spe) / spe)
        return max(0.0, min(1.0, done / self.epochs))


def step_x(point: dict[str, Any]) -> float | None:
    """Where a steps.jsonl point sits on the epoch axis (epoch 2, step 10 of 40: 1.25); None if malformed."""
    epoch, step, spe = (point.get(k) for k in ("epoch", "step", "steps_per_epoch"))
    if isinstance(epoch, int) and isinstance(step, int) and isinstance(spe, int) and spe > 0:
        return (epoch - 1) + step / spe
    return None


def epoch_summary(rec: dict[str, Any], epochs: int) -> str:
    """The log line of one epoch."""
    parts = [f"epoch {rec.get('epoch')}/{epochs}"]
    for split in ("train", "val", "test"):
        if rec.get(f"{split}_acc") is not None:
            parts.append(f"{split} {fmt.loss(rec.get(f'{split}_loss'))} {fmt.pct(rec.get(f'{split}_acc'))}")
    if fmt.real(rec.get("gap_acc")) is not None:
        parts.append(f"gap {fmt.points(rec['gap_acc'])} pts")
    if fmt.real(rec.get("lr")) is not None:
        parts.append(f"lr {fmt.lr(rec['lr'])}")
    if rec.get("img_per_s"):
        parts.append(f"{fmt.rate(rec['img_per_s'])} img/s")
    if fmt.real(rec.get("epoch_time_s")) is not None:
        parts.append(f"epoch {fmt.duration(rec['epoch_time_s'])}")
    return "  ".join(parts)
