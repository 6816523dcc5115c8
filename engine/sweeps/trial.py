"""One trial: an ordinary run in its own process, watched through its run directory.

The driver reads the trial's committed epochs from its metrics.jsonl as they appear (never from the
trial's output) and reports each epoch's validation accuracy to Optuna; the trial process knows
nothing of Optuna. That keeps a trial a plain run (resumable, comparable, followable like any other),
lets a new driver take over the trial of a killed one from its files alone, and needs no storage
connection per trial. The cost is latency: a stop decided at an epoch's end reaches the trial within
about a second and a half (the driver's poll, then the run's own control poll), so a pruned trial
may train a little into its next epoch; it saves there, like Ctrl-C, and stays resumable.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from engine.config import UserError
from engine.control import parent_death_signal
from engine.runs import RunStatus, load_run, read_json, set_tags
from engine.runs.files import atomic_write_json
from engine.runs.meta import read_meta
from engine.runs.reader import RunInfo, complete_records, run_folders
from engine.runs.remote import request
from engine.sweeps.claims import HEARTBEAT_S, WORKER_ATTR, Claim, worker_record
from engine.sweeps.definition import SweepDefinition, trial_config
from engine.sweeps.events import TrialEnded

TRIALS_DIR = "trials"
TAG_PREFIX = "sweep:"
"""A trial's run is tagged sweep:NAME (and its config's extra holds {"sweep": {"name": NAME, ...}})."""


@dataclass
class Launch:
    """What the command line needs to start a trial's process: a new run from its settings file, or a resume."""

    name: str
    runs_dir: str
    config_file: Path | None = None
    resume: Path | None = None


Command = Callable[[Launch], list[str]]


@dataclass
class Slot:
    """Where a trial runs: its CPU threads (the cores shared out) and its GPU, if the sweep was given some."""

    index: int
    threads: int
    gpu: str | None = None

    def env(self) -> dict[str, str]:
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads),
               "PYTHONUNBUFFERED": "1"}
        if self.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.gpu
        return env


@dataclass
class SweepContext:
    study: Any
    defn: SweepDefinition
    runs_dir: str
    folder: Path
    command: Command
    storage: str = ""
    """Where the study is, for people: the journal's path or the database URL without its password."""

    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.defn.name}"


def _stopped(returncode: int | None) -> bool:
    """A process a signal ended: killed by it, or exited 128 + N as our commands do after one (a SIGINT
    while a trial still imports is a KeyboardInterrupt: 'cifar-tui: interrupted', exit 130)."""
    return returncode is not None and (returncode < 0 or returncode > 128)


def sweep_of(config: dict[str, Any], tags: list[str]) -> str | None:
    """The sweep a run is a trial of: its config's record (set when the trial was made), else its tag."""
    extra = config.get("extra")
    recorded = extra.get("sweep") if isinstance(extra, dict) else None
    if isinstance(recorded, dict) and isinstance(recorded.get("name"), str) and recorded["name"]:
        return str(recorded["name"])
    return next((t[len(TAG_PREFIX):] for t in tags if t.startswith(TAG_PREFIX) and len(t) > len(TAG_PREFIX)), None)


class TrialJob:
    """A trial this driver holds the claim of: started, continued or ended from what its run says."""

    def __init__(self, ctx: SweepContext, trial: Any, params: dict[str, Any], claim: Claim, slot: Slot,
                 frozen: Any = None):
        self.ctx, self.claim, self.slot = ctx, claim, slot
        self.trial, self.number, self.params = trial, trial.number, params
        self.values: dict[int, float] = dict(frozen.intermediate_values) if frozen is not None else {}
        attrs = frozen.user_attrs if frozen is not None else {}
        pruned = attrs.get("pruned_at")
        self.pruned_at: int | None = pruned if isinstance(pruned, int) else None
        self.run_dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.log_offset = 0
        self.last_beat = 0.0
        self.stamps: tuple[Any, ...] = ()
        self.ended: TrialEnded | None = None
        self.told_elsewhere = False
        """Another driver ended this trial in the study first: it counts once, theirs; we only stop writing."""
        self.resumed: RunInfo | None = None
        self._locate(attrs.get("run_id"))

    @classmethod
    def take_over(cls, ctx: SweepContext, frozen: Any, claim: Claim, slot: Slot) -> "TrialJob":
        """An unfinished trial of another driver (killed, or stopped by a signal) that we now hold the claim of."""
        import optuna

        return cls(ctx, optuna.trial.Trial(ctx.study, frozen._trial_id), dict(frozen.params), claim, slot, frozen)

    @property
    def name(self) -> str:
        return f"{self.ctx.defn.name}-t{self.number}"

    # ------------------------------------------------------------------ start, continue or end at once

    def begin(self) -> bool:
        """Start or continue the trial's run, or end the trial from its run's final state.
        False: its run is being written by a process we cannot see (another machine): leave it."""
        self._attr(WORKER_ATTR, worker_record())
        self.last_beat = time.monotonic()
        if self.told_elsewhere:  # it ended meanwhile, told by the driver that ran it
            self.claim.release()
            return False
        info = load_run(self.run_dir) if self.run_dir is not None else None
        status = info.status if info is not None else None
        if status in (RunStatus.RUNNING, RunStatus.STARTING):
            self.claim.release()
            return False
        if self.pruned_at is not None or status in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.DIVERGED,
                                                    RunStatus.UNREADABLE):
            self._report(prune=False)  # epochs a killed driver did not see, for the pruner's medians
            self._finish(stopping=False)
        elif info is not None:
            self.resumed = info
            self._launch(Launch(self.name, self.ctx.runs_dir, resume=info.path))
        else:
            self._start_new()
        return True

    def _start_new(self) -> None:
        try:
            config = trial_config(self.ctx.defn, self.params, self.ctx.runs_dir)
        except UserError as exc:  # a drawn combination RunConfig refuses: this trial fails, the sweep goes on
            self._tell_failed(f"invalid settings: {exc}")
            return
        data = {k: v for k, v in config.to_dict().items() if k not in ("runs_dir", "name")}
        data["extra"]["sweep"]["trial"] = self.number
        path = self.ctx.folder / TRIALS_DIR / f"t{self.number}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, data)
        self._launch(Launch(self.name, self.ctx.runs_dir, config_file=path))

    def _launch(self, launch: Launch) -> None:
        log = self.ctx.folder / TRIALS_DIR / f"t{self.number}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            self.log_offset = out.tell()
            # Its own session: a Ctrl-C on the sweep's terminal reaches the driver alone, which passes
            # it on once (a second one would make the trial give up its clean stop).
            self.proc = subprocess.Popen(self.ctx.command(launch), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=self.slot.env(), pass_fds=(self.claim.fd,),
                                         start_new_session=True, preexec_fn=parent_death_signal())

    # ------------------------------------------------------------------ while it runs

    def poll(self) -> bool:
        """Report new epochs (and prune); True while the trial's process runs."""
        if self.run_dir is None:
            self._locate(None)
        self._report()
        if time.monotonic() - self.last_beat > HEARTBEAT_S:
            self._attr(WORKER_ATTR, worker_record())
            self.last_beat = time.monotonic()
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def _report(self, prune: bool = True) -> None:
        """Each committed epoch's validation accuracy, once; a stop request when the pruner says so
        (``prune``: the trial still runs, so a stop can save something)."""
        if self.run_dir is None or self.told_elsewhere:
            return
        stamps = tuple(_stamp(self.run_dir / f) for f in ("metrics.jsonl", "summary.json"))
        if stamps == self.stamps:
            return
        self.stamps = stamps
        info = load_run(self.run_dir)
        last = info.config.get("epochs")
        for record in complete_records(info):
            epoch, val = record["epoch"], record.get("val_acc")
            if epoch in self.values or not isinstance(val, (int, float)) or val != val:
                continue
            if not self._stored(self.trial.report, float(val), epoch):
                return
            self.values[epoch] = float(val)
            # After its last epoch a trial has nothing left to save: it completes, never "pruned".
            if prune and self.pruned_at is None and epoch != last and self.trial.should_prune():
                self._prune(epoch)

    def _prune(self, epoch: int) -> None:
        self.pruned_at = epoch
        self._attr("pruned_at", epoch)
        assert self.run_dir is not None
        try:
            request(self.run_dir, "stop")  # the run saves and ends as interrupted, resumable, like Ctrl-C
        except UserError:
            pass  # it has just ended by itself: _finish counts a completed run as completed

    # ------------------------------------------------------------------ the end

    def finish(self, stopping: bool) -> TrialEnded | None:
        """The trial's process has ended: tell Optuna how (None: left unfinished, to be continued)."""
        self._locate(None)
        self._report(prune=False)
        return self._finish(stopping)

    def _finish(self, stopping: bool) -> TrialEnded | None:
        info = load_run(self.run_dir) if self.run_dir is not None else None
        status = info.status if info is not None else None
        state, value, error = "failed", None, None
        if self.pruned_at is not None and status is RunStatus.COMPLETED:
            self._attr("pruned_at", None)  # the stop came after its last epoch: it completed, and counts so
            self.pruned_at = None
        if self.pruned_at is not None:
            state = "pruned"
        elif status is RunStatus.COMPLETED:
            value = info.summary.get("best_acc") if info is not None else None
            state, error = ("completed", None) if isinstance(value, (int, float)) else ("failed", "no validation accuracy")
        elif status in (RunStatus.FAILED, RunStatus.DIVERGED):
            error = f"{status}: {info.summary.get('error') if info is not None else ''}"
        elif status is RunStatus.INTERRUPTED or (status is RunStatus.STALE and stopping):
            state = "interrupted"  # stopped by the sweep's signal or from outside: saved; the same command resumes it
        elif status is RunStatus.STALE:
            error = f"the trial's process ended without saving ({self._exit_text()}; out of memory?)"
        elif stopping and self.proc is not None and _stopped(self.proc.returncode):
            state = "interrupted"  # stopped before its run existed: it starts afresh next time
        else:
            error = info.error if info is not None and info.error else self._last_line()
        self.ended = self._ended(state, value, error, info)
        if state != "interrupted":
            self._tell(state, value, error)
        self.claim.release()
        return self.ended

    def _tell(self, state: str, value: float | None, error: str | None) -> None:
        from optuna.trial import TrialState

        if error:
            self._attr("error", error)
        if state == "pruned" and self.run_dir is not None:
            _add_tags(self.run_dir, "pruned")
        states = {"completed": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "failed": TrialState.FAIL}
        # skip_if_finished: a trial is counted once, whoever tells first.
        self.ctx.study.tell(self.trial, value if state == "completed" else None, state=states[state],
                            skip_if_finished=True)

    def _tell_failed(self, error: str) -> None:
        self.ended = self._ended("failed", None, error, None)
        self._tell("failed", None, error)
        self.claim.release()

    def _ended(self, state: str, value: float | None, error: str | None, info: RunInfo | None) -> TrialEnded:
        summary = info.summary if info is not None else {}
        if state == "pruned" and self.values:
            value = self.values[max(self.values)]  # what Optuna keeps for a pruned trial: its last report
        return TrialEnded(self.number, state, self.params, value, summary.get("epochs_done"),
                          info.config.get("epochs") if info is not None else None, self.pruned_at, error,
                          info.run_id if info is not None else None, str(info.path) if info is not None else None,
                          wall_time_s=summary.get("wall_time_s"))

    def _attr(self, key: str, value: Any) -> None:
        self._stored(self.trial.set_user_attr, key, value)

    def _stored(self, write: Callable[..., Any], *args: Any) -> bool:
        """One write to the trial in the study; False (and no more writes) once another driver ended it."""
        from optuna.exceptions import UpdateFinishedTrialError

        if self.told_elsewhere:
            return False
        try:
            write(*args)
        except UpdateFinishedTrialError:
            self.told_elsewhere = True
            return False
        return True

    # ------------------------------------------------------------------ finding the run

    def _locate(self, run_id: Any) -> None:
        """This trial's run directory: the one it recorded, else the one whose config names this sweep and
        trial (a driver killed before it saw the run appear); recorded and tagged once found."""
        if self.run_dir is not None:
            return
        root = Path(self.ctx.runs_dir)
        found = root / run_id if isinstance(run_id, str) and (root / run_id).is_dir() else _find(self, root)
        if found is None:
            return
        self.run_dir = found
        self._attr("run_id", found.name)
        self._attr("run_dir", str(found.resolve()))
        _add_tags(found, self.ctx.tag())

    def _last_line(self) -> str:
        """Why a trial's process ended without a run: the last line it wrote (a refusal, a traceback's end)."""
        try:
            with open(self.ctx.folder / TRIALS_DIR / f"t{self.number}.log", "rb") as f:
                f.seek(self.log_offset)
                lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            lines = []
        line = lines[-1] if lines else f"the trial's process ended ({self._exit_text()}) before its run existed"
        return line.removeprefix("cifar-tui: error: ")

    def _exit_text(self) -> str:
        code = self.proc.returncode if self.proc is not None else None
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit {code}"


def _find(job: TrialJob, root: Path) -> Path | None:
    if not root.is_dir():
        return None
    for path in run_folders(root):
        if not path.name.endswith("-" + job.name):
            continue
        try:
            extra = read_json(path / "config.json").get("extra") or {}
        except (OSError, ValueError, AttributeError):
            continue
        mark = extra.get("sweep") if isinstance(extra, dict) else None
        if isinstance(mark, dict) and mark.get("id") == job.ctx.defn.sweep_id and mark.get("trial") == job.number:
            return path
    return None


def _add_tags(run_dir: Path, *tags: str) -> None:
    """Tags on the run (meta.json, the store's place for a person's edits), keeping any it has."""
    have = read_meta(run_dir).tags
    if not set(tags) <= set(have):
        try:
            set_tags(run_dir, have + [t for t in tags if t not in have])
        except (OSError, UserError):
            pass  # the run went away (deleted meanwhile): nothing to tag


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)
