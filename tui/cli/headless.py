"""The --no-ui reporter: a progress bar on a terminal, plain lines when piped.

Imports rich (for the bar) but never textual, so it runs on GPU servers
that only have torch installed.

Piped (or TERM=dumb) there is no bar: a plain progress line comes at each tenth
of an epoch, or after PROGRESS_LINE_S without any line, whichever is first, so a
batch scheduler's log of an hour-long epoch still shows the job is alive.
Progress lines are indented under the epoch lines: ``grep '^epoch '`` keeps
finding exactly one line per epoch.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, TextIO

from engine.events import EpochDone, Event, Log, PhaseProgress, RunEnded, RunStarted, StepDone, SystemSample
from engine.runs import RunStatus

from tui import format as fmt


def epoch_line(e: EpochDone) -> str:
    """One plain line per epoch (what a log file or CI sees); a missing or damaged value shows as '-'."""
    m = e.metrics
    parts = [f"epoch {e.epoch}/{e.epochs}",
             f"train loss {fmt.loss(m.get('train_loss'))} acc {fmt.pct(m.get('train_acc'))}"]
    if "val_acc" in m:
        parts.append(f"val loss {fmt.loss(m.get('val_loss'))} acc {fmt.pct(m.get('val_acc'))}")
    parts.append(f"test loss {fmt.loss(m.get('test_loss'))} acc {fmt.pct(m.get('test_acc'))} "
                 f"top5 {fmt.pct(m.get('test_top5'))}")
    parts.append(f"lr {fmt.lr(m.get('lr'))}  {fmt.rate(m.get('img_per_s'))} img/s  "
                 f"epoch {fmt.duration(m.get('epoch_time_s'))}")
    if e.is_best and "val_acc" in m:
        parts.append("*best val")
    return "  ".join(parts)


PROGRESS_LINE_S = 30.0
PROGRESS_LINE_PARTS = 10
"""A line per tenth of an epoch (at most; a short epoch's events may skip tenths)."""


def progress_line(e: StepDone, epochs: object, system: SystemSample | None = None) -> str:
    """One plain line of where a run is inside its epoch (and how busy its GPUs are, when it has any)."""
    total = epochs if isinstance(epochs, int) else "?"
    gpus = "".join(f"  GPU{g.index} {g.util_pct:.0f}%" for g in (system.gpus if system else ()))
    return (f"  epoch {e.epoch}/{total}  step {e.step}/{e.steps_per_epoch} ({fmt.share(e.step / e.steps_per_epoch)})  "
            f"loss {fmt.loss(e.loss)}  {fmt.rate(e.img_per_s)} img/s  ETA {fmt.duration(e.eta_s)}{gpus}")


def phase_line(e: PhaseProgress) -> str:
    """One plain line of a phase outside the steps: '  evaluating val 3,000/5,000 images (60%)  ETA 2.1s'."""
    rate = f"  {fmt.rate(e.rate)} {'MB' if e.unit == 'bytes' else e.unit}/s" if e.rate else ""
    if e.unit == "bytes" and e.rate:
        rate = f"  {e.rate / 1e6:.1f} MB/s"
    eta = f"  ETA {fmt.duration(e.eta_s)}" if e.eta_s is not None and e.done < (e.total or 0) else ""
    run = f"  run ETA {fmt.duration(e.run_eta_s)}" if e.run_eta_s is not None else ""
    return f"  {e.phase} {fmt.progress(e.done, e.total, e.unit)}{rate}{eta}{run}"


PHASE_QUIET_S = 2.0
"""A phase shorter than this prints nothing on a plain stream (evaluating a small split every epoch)."""


class PhaseLines:
    """When a plain line of a phase is due: once it has run PHASE_QUIET_S, then each quarter, then its end."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.phase = ""
        self.started = 0.0
        self.mark = -1

    def due(self, e: PhaseProgress) -> bool:
        now = self.clock()
        if e.phase != self.phase or e.done == 0:
            self.phase, self.started, self.mark = e.phase, now, -1
        if now - self.started < PHASE_QUIET_S and self.mark < 0:
            return False
        quarter = 4 if e.total and e.done >= e.total else (4 * e.done // e.total if e.total else -1)
        if quarter > self.mark or (self.mark < 0 and not e.total):
            self.mark = max(quarter, 0)
            return True
        return False


class ProgressLines:
    """Decides when a plain progress line is due: each new tenth of an epoch, or PROGRESS_LINE_S of silence."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.last_line = clock()
        self.last_mark = (0, 0)

    def printed(self) -> None:
        """Any line (an epoch line, a log line) shows the run is alive: the silence clock restarts."""
        self.last_line = self.clock()

    def due(self, e: StepDone) -> bool:
        if e.steps_per_epoch <= 0 or e.step >= e.steps_per_epoch:
            return False  # the epoch's own line comes next
        mark = (e.epoch, e.step * PROGRESS_LINE_PARTS // e.steps_per_epoch)
        now = self.clock()
        if (mark[1] > 0 and mark > self.last_mark) or now - self.last_line >= PROGRESS_LINE_S:
            self.last_mark = max(mark, self.last_mark)
            self.last_line = now
            return True
        return False


def plain_terminal(stream: TextIO) -> bool:
    """No progress bar: not a terminal, or one that says it cannot move the cursor (TERM=dumb)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        tty = False
    return not tty or os.environ.get("TERM", "") == "dumb"


class Reporter:
    """Callable on_event for engine.training.loop: renders events to a stream."""

    def __init__(self, stream: TextIO = sys.stdout, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.tty = not plain_terminal(stream) if tty is None else tty
        self.progress: Any = None
        self.task: Any = None
        self.task_total = 0
        self.epochs: object = None
        self.lines = ProgressLines(clock)
        self.phases = PhaseLines(clock)
        self.system: SystemSample | None = None

    def _print(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)
        self.lines.printed()

    def note(self, text: str) -> None:
        """A side message (e.g. the signal handler's), safe mid-bar."""
        self._print(text)

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, StepDone):
            self._step(event)
        elif isinstance(event, EpochDone):
            self._print(epoch_line(event))
            if self.progress is not None:  # the bar's epoch time starts over with the next epoch
                self.progress.reset(self.task, total=self.task_total, completed=0)
        elif isinstance(event, Log):
            self._print(f"[{event.level}] {event.message}")
        elif isinstance(event, PhaseProgress):
            self._phase(event)
        elif isinstance(event, SystemSample):
            self.system = event
        elif isinstance(event, RunEnded):
            self.close()
            self._ended(event)

    def _phase(self, e: PhaseProgress) -> None:
        """On the bar while it shows (evaluation, the feature cache); as lines before it starts or when piped."""
        if self.progress is None:
            if self.phases.due(e):
                self._print(phase_line(e))
            return
        rate = f"{e.rate / 1e6:.1f} MB" if e.unit == "bytes" else fmt.rate(e.rate)
        self.progress.update(self.task, completed=e.done, total=e.total or max(e.done, 1), what=e.phase,
                             loss="-", rate=rate, eta=fmt.duration(e.run_eta_s))

    def _started(self, e: RunStarted) -> None:
        c = e.config
        self.epochs = c.get("epochs")
        self._print(f"run {e.run_id}  ->  {e.run_dir}")
        if e.start_epoch > 1 or e.start_step:
            self._print(f"resumed at epoch {e.start_epoch}, step {e.start_step} of {e.steps_per_epoch} "
                        f"({len(e.history)} epochs done before)")
        self._print(
            f"{c['model']} / {c['strategy']} on {c['dataset']} ({e.n_train} train, {e.n_val} val, {e.n_test} test) "
            f"at {e.input_size}px, {e.device}; params {fmt.params(e.params_total)} ({fmt.params(e.params_trainable)} trainable)"
        )
        if self.tty:
            from rich.console import Console

            self.progress = progress_bar(Console(file=self.stream, force_terminal=True))
            self.progress.start()
            self.task_total = e.steps_per_epoch
            self.task = self.progress.add_task(
                "train", total=e.steps_per_epoch, completed=e.start_step, what=f"epoch {e.start_epoch}/{c['epochs']}",
                loss="-", rate="-", eta="-",
            )

    def _step(self, e: StepDone) -> None:
        if self.progress is None:
            if self.lines.due(e):
                self._print(progress_line(e, self.epochs, self.system))
            return
        self.task_total = e.steps_per_epoch
        self.progress.update(self.task, completed=e.step, total=e.steps_per_epoch, what=f"epoch {e.epoch}/{self.epochs}",
                             loss=fmt.loss(e.loss), rate=fmt.rate(e.img_per_s), eta=fmt.duration(e.eta_s))

    def _ended(self, e: RunEnded) -> None:
        s = e.summary
        best = s.get("best_acc")
        line = (f"{e.status}: {s.get('epochs_done', 0)}/{s.get('epochs')} epochs in {fmt.duration(s.get('wall_time_s'))}; "
                f"test acc {fmt.pct(s.get('test_acc'))}, top5 {fmt.pct(s.get('test_top5'))}")
        if best is not None:
            line += (f"; best val acc {fmt.pct(best)} (epoch {s.get('best_epoch')}), "
                     f"test acc there {fmt.pct(s.get('test_acc_at_best'))}")
        elif s.get("epochs_done"):
            line += "; no validation split: best.pt is the last epoch"
        if s.get("reported_test_acc"):
            line += f"; study reported {fmt.pct(s['reported_test_acc'])}"
        self._print(line)
        if e.error:
            self._print(f"error: {e.error}")
        self._print(f"saved in {e.run_dir}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def progress_bar(console: Any = None) -> Any:
    """The terminal's bar: epoch, steps, loss, rate, this epoch's time (live) and the whole run's ETA.

    The text columns never wrap; the bar takes what width is left (7 cells on an 80-column
    terminal with the widest values: 'epoch 10/10', '1234 img/s', 'run ETA 1h02m').
    """
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn
    from rich.table import Column
    from rich.text import Text

    class EpochTime(ProgressColumn):
        """Time in this epoch so far (the task is reset at each epoch), in the app's one time format."""

        def render(self, task: Any) -> Text:
            return Text(f"epoch time {fmt.duration(task.elapsed)}")

    def text(template: str) -> TextColumn:
        return TextColumn(template, table_column=Column(no_wrap=True))

    return Progress(
        text("{task.fields[what]}"), BarColumn(bar_width=None),
        text("{task.completed}/{task.total}"), text("loss {task.fields[loss]}"), text("{task.fields[rate]} img/s"),
        EpochTime(table_column=Column(no_wrap=True)), text("run ETA {task.fields[eta]}"),
        console=console, transient=True,
    )


class RankErrors:
    """on_event for the ranks of a torchrun job other than 0: silent, except to say why a run failed
    (when rank 0 is the process that died, nobody else would)."""

    def __init__(self, stream: TextIO = sys.stderr, rank: str | None = None):
        self.stream = stream
        self.rank = rank if rank is not None else os.environ.get("RANK", "?")

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunEnded) and event.status == RunStatus.FAILED and event.error:
            print(f"[rank {self.rank}] failed: {event.error}", file=self.stream, flush=True)

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass
