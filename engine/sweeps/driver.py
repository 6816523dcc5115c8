"""The sweep's driver: K trials at once, each an ordinary run in its own process, until the sweep has
every trial it asked for.

One thread polls (POLL_S): each trial's run for new epochs (reported to Optuna, pruned when the
pruner says so), ended processes (told to Optuna once), and, when a slot is free, the study for
work. Work is, in order: an unfinished trial nobody holds (a killed or stopped driver's: continued
with --resume, or ended from its run's final state), then a new trial from Optuna (a grid's next
point, or the sampler's draw). Several drivers, on one machine or many, can work on one study: the
storage hands each new trial to one of them, and a trial's claim (engine.sweeps.claims) keeps any
trial from running twice at once.

A stop signal is passed on to every trial's process once; each saves its run (interrupted,
resumable) and the driver ends when they have; the next command continues them.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.sweeps.claims import Claim, may_take_over, on_this_host, worker_alive, WORKER_ATTR
from engine.sweeps.events import SweepEvent, SweepNote, SweepStarted, TrialEnded, TrialResumed
from engine.sweeps.trial import Slot, SweepContext, TrialJob

POLL_S = 0.5
LOOK_S = 1.0
"""How often a driver with a free slot asks the storage for work (each look reads every trial)."""
SURPLUS_ATTR = "surplus"


@dataclass
class Options:
    parallel: int = 1
    gpus: list[str] = field(default_factory=list)
    cores: int | None = None
    """CPU cores to share out (default: the ones this process may run on)."""


@dataclass
class SweepResult:
    signal: int | None = None
    """The stop signal that ended the sweep early (None: it ran out of work)."""
    ended: list[TrialEnded] = field(default_factory=list)


def exit_code(result: SweepResult, table: Any) -> int:
    """How the sweep's command exits (a SweepTable read after the driver ended): 128 + N when signal N
    stopped it; 0 when it has a best trial (or trials still running for another worker), else 1."""
    from engine.runs.status import EXIT_FAILED, EXIT_OK

    if result.signal is not None:
        return 128 + result.signal
    return EXIT_OK if table.best is not None or table.counts.get("running") else EXIT_FAILED


def slots(options: Options) -> list[Slot]:
    """One slot per trial at once: cores // K threads each, and one GPU each, round robin over --gpus."""
    cores = options.cores or _cores()
    threads = max(1, cores // options.parallel)
    gpus = options.gpus
    return [Slot(i, threads, gpus[i % len(gpus)] if gpus else None) for i in range(options.parallel)]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity
        return os.cpu_count() or 1


class Driver:
    def __init__(self, ctx: SweepContext, options: Options, on_event: Callable[[SweepEvent], None]):
        self.ctx, self.options, self.emit = ctx, options, on_event
        self.slots = slots(options)
        self.jobs: dict[int, TrialJob] = {}
        self.signals: list[int] = []
        self.forwarded = 0
        self.skip: set[int] = set()
        """Trials stopped from outside during this command: left resumable, not restarted by it."""
        self.result = SweepResult()
        self.noted: set[int] = set()

    def request_stop(self, signum: int) -> None:
        """From a signal handler: only records it (the loop passes it on to the trials)."""
        self.signals.append(signum)

    def run(self) -> SweepResult:
        self.emit(self._started())
        next_look, pending = 0.0, True
        while True:
            self._forward()
            self._reap()
            if self.signals:
                if not self.jobs:
                    break
            elif time.monotonic() >= next_look and len(self.jobs) < len(self.slots):
                pending = self._fill()
                next_look = time.monotonic() + LOOK_S
                if not self.jobs and not pending:
                    break
            time.sleep(POLL_S)
        self.result.signal = self.signals[0] if self.signals else None
        return self.result

    def _forward(self) -> None:
        """Each signal the driver got, once to every trial running (a second one makes them give up the clean stop)."""
        for signum in self.signals[self.forwarded:]:
            for job in self.jobs.values():
                job.signal(signum)
        self.forwarded = len(self.signals)

    def _reap(self) -> None:
        for index, job in list(self.jobs.items()):
            if job.poll():
                continue
            del self.jobs[index]
            self._ended(job.finish(stopping=bool(self.signals)), job)

    def _ended(self, ended: TrialEnded | None, job: TrialJob) -> None:
        if ended is None:
            return
        if ended.status == "interrupted" and not self.signals:
            self.skip.add(job.number)
        self.result.ended.append(ended)
        self.emit(ended)

    # ------------------------------------------------------------------ finding work

    def _fill(self) -> bool:
        """Start trials in the free slots; True while work may still come for this driver (a killed
        driver's trial still saving, which it will continue once free)."""
        free = [s for s in self.slots if s.index not in self.jobs]
        trials = self.ctx.study.get_trials(deepcopy=False)
        pending = self._take_over(trials, free)
        while free:
            started = self._new_trial(free[0])
            if started is None:
                break
            pending = True
            if started:
                free.pop(0)
        return pending or bool(self.jobs)

    def _take_over(self, trials: list[Any], free: list[Slot]) -> bool:
        from optuna.trial import TrialState

        pending = False
        mine = {job.number for job in self.jobs.values()} | self.skip
        for frozen in trials:
            if not free:
                return True
            if frozen.state != TrialState.RUNNING or frozen.number in mine or frozen.user_attrs.get(SURPLUS_ATTR):
                continue
            worker = frozen.user_attrs.get(WORKER_ATTR)
            if not may_take_over(worker, frozen.datetime_start):
                continue
            claim = Claim.take(self.ctx.folder, frozen.number)
            if claim is None:
                if on_this_host(worker) and not worker_alive(worker):
                    # Held with its driver gone: the killed driver's trial process is still saving (or,
                    # without a parent-death signal, still training): continue it once it lets go.
                    pending = True
                    self._note_once(frozen.number, f"trial {frozen.number}: waiting for the process the stopped "
                                                   "sweep left behind to end")
                continue
            job = TrialJob.take_over(self.ctx, frozen, claim, free[0])
            if self._begin(job):
                free.pop(0)
        return pending

    def _note_once(self, number: int, text: str) -> None:
        if number not in self.noted:
            self.noted.add(number)
            self.emit(SweepNote(text))

    def _new_trial(self, slot: Slot) -> bool | None:
        """Ask Optuna for the next trial and start it: True started, False ended at once, None no more trials."""
        from optuna.trial import TrialState

        trials = self.ctx.study.get_trials(deepcopy=False)
        counted = [t for t in trials if not t.user_attrs.get(SURPLUS_ATTR)]
        if len(counted) >= self.ctx.defn.trials and not any(t.state == TrialState.WAITING for t in trials):
            return None
        trial = self.ctx.study.ask()
        if self._surplus(trial):
            return None
        params = {p.field: p.suggest(trial) for p in self.ctx.defn.params}
        claim = Claim.take(self.ctx.folder, trial.number)
        if claim is None:  # cannot happen unless the sweep's folder is shared oddly: leave it to its holder
            return False
        return self._begin(TrialJob(self.ctx, trial, params, claim, slot))

    def _surplus(self, trial: Any) -> bool:
        """Two drivers asked for the last trial at once: the later one is not counted (told failed,
        marked surplus, hidden from the table) so the sweep ends with exactly the trials it asked for."""
        from optuna.trial import TrialState

        before = [t for t in self.ctx.study.get_trials(deepcopy=False)
                  if t.number < trial.number and not t.user_attrs.get(SURPLUS_ATTR)]
        if len(before) < self.ctx.defn.trials:
            return False
        trial.set_user_attr(SURPLUS_ATTR, True)
        self.ctx.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        return True

    def _begin(self, job: TrialJob) -> bool:
        """True when the trial's process started (it takes the slot)."""
        if not job.begin():
            return False
        if job.ended is not None:
            self._ended(job.ended, job)
            return False
        if job.resumed is not None:
            self.emit(TrialResumed(job.number, job.resumed.run_id, int(job.resumed.summary.get("epochs_done") or 0)))
        self.jobs[job.slot.index] = job
        return True

    def _started(self) -> SweepStarted:
        from engine.sweeps.table import state_counts

        defn, slot = self.ctx.defn, self.slots[0]
        counts = state_counts(self.ctx.study.get_trials(deepcopy=False))
        return SweepStarted(defn.name, defn.sampler, defn.trials, len(self.slots), slot.threads, self.options.gpus,
                            self.ctx.storage, counts)
