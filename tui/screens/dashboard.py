"""The training dashboard: header + progress, loss/accuracy charts, per-class table,
confusion matrix and log, for a live run, a run another process writes, or a saved run.

Constructors (what other screens call)::

    DashboardScreen.for_config(config: RunConfig)   # start a run now, in a thread worker
    DashboardScreen.for_saved_run(run_dir: str)     # show a saved run; follows it live
                                                    # if its status is still 'running'
    DashboardScreen.follow(run_dir: str)            # follow a run another process writes
    DashboardScreen.for_events(events: list)        # replay fixed engine events (tests, docs)

Threading: ``engine.training.loop`` runs in ``@work(thread=True)`` and only posts
Messages. Step events are coalesced (one pending tick, newest step wins);
epoch, log and end events are posted one by one and never dropped. Widgets are
redrawn by a 2 Hz timer from what changed, never per event, so the UI costs
the training loop the same whether it emits 10 or 1000 events a second.

The run's state is one ``Phase`` (tui/state/run_phase.py), changed only by
``RunState``'s transition methods. The screen talks to the app through one
typed message, ``RunFinished``, posted when a run it shows ends.
"""
from __future__ import annotations

import threading
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Tab, Tabs

from engine.config import RunConfig, UserError
from engine.control import Control
from engine.events import Log, RunEnded, StepDone
from engine.runs.status import RunStatus

from tui.widgets.charts import MetricChart
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.header import RunHeader
from tui.widgets.log_panel import LogPanel
from tui.widgets.per_class import PerClassTable
from tui.state.run_state import Phase, RunState
from tui.screens.dashboard_keys import DashboardKeys

REDRAW_S = 0.5  # 2 redraws a second (DESIGN.md: at most 4); keys redraw at once. Each redraw costs training CPU
STEP_CHART_S = 5.0  # new steps alone redraw the loss chart every 5 s: a plotext redraw costs ~40 ms of CPU, the
# largest share of a steady dashboard's (issue 13: throughput with the app >= 97% of --no-ui); the header shows
# the newest loss twice a second
FOLLOW_POLL_S = 1.0
PANELS = (("loss", "Loss"), ("acc", "Accuracy"), ("classes", "Classes"), ("matrix", "Confusion"), ("log", "Log"))
WIDE_MIN = (140, 36)  # columns, rows from which every panel is shown at once
SHORT_ROWS = 16  # below this many rows the tabs lose their underline row; below TINY_ROWS they go (keys 1-5
TINY_ROWS = 10  # still switch panels): the panel keeps the rows


class EngineEvent(Message):
    """An engine event that must not be dropped (RunStarted, EpochDone, Log, RunEnded)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class StepTick(Message):
    """A newer StepDone waits in the screen's slot (coalesced: at most one in flight)."""


class FollowUpdateMessage(Message):
    """One poll of a followed run."""

    def __init__(self, update: Any) -> None:
        super().__init__()
        self.update = update


class StartError(Message):
    """The run could not start: bad input found before the run directory existed (nothing saved)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class RunFinished(Message):
    """A run this dashboard trains (or replays) ended. Posted once; bubbles to the app (``on_run_finished``).

    ``phase``: how it ended (a final Phase, a str enum: completed, interrupted, failed, diverged, or
    error for bad input). ``sets_exit_code``: this run's end decides the app's exit code (started from
    the command line, or resumed). ``exit_app``: a quit or a stop signal asked for this stop; the app
    should exit now, with the exit code for ``phase``.
    """

    def __init__(self, phase: Phase, *, sets_exit_code: bool, exit_app: bool) -> None:
        super().__init__()
        self.phase = phase
        self.sets_exit_code = sets_exit_code
        self.exit_app = exit_app


class DashboardScreen(DashboardKeys):
    """Live view of one run. Build it with the classmethods, not directly."""

    CSS_PATH = ["dashboard.tcss", "../widgets/widgets.tcss"]

    def __init__(self, *, config: RunConfig | None = None, run_dir: str | None = None, follow: bool = False,
                 events: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.run_dir = run_dir
        self.following = follow
        self.replay = list(events or [])
        self.resume_dir: str | None = None
        self.resume_change: dict[str, Any] = {}
        self.state = RunState()
        self.control = Control()
        self.active = "loss"
        self.exit_after_stop = False
        self.sets_exit_code = False
        """This run's end decides the app's exit code (a run from the command line or resumed), not a
        run started for a look around in the launcher."""
        self._slot_lock = threading.Lock()
        self._latest_step: StepDone | None = None
        self._step_pending = False
        self._dirty: set[str] = set()
        self._charts_drawn_at = 0.0
        self._stale_charts: set[str] = set()
        self._preloaded = False
        if config is not None:
            self.state.model, self.state.strategy, self.state.dataset = config.model, config.strategy, config.dataset
            self.state.epochs, self.state.preset = config.epochs, config.preset
            self.state.add_log("info", "loading the dataset and building the model...")

    # ------------------------------------------------------------ constructors
    @classmethod
    def for_config(cls, config: RunConfig, *, resume: str | None = None,
                   change: dict[str, Any] | None = None) -> "DashboardScreen":
        """Train ``config`` now; the run is saved under ``config.runs_dir``.

        ``resume``: continue that run directory in place (config from engine.training.resume.prepare_resume).
        """
        screen = cls(config=config)
        screen.resume_dir, screen.resume_change = resume, change or {}
        screen.sets_exit_code = resume is not None
        return screen

    @classmethod
    def for_saved_run(cls, run_dir: str | Path) -> "DashboardScreen":
        """A saved run from its files; followed live when another process still writes it."""
        return cls(run_dir=str(run_dir), follow=True)

    @classmethod
    def follow(cls, run_dir: str | Path) -> "DashboardScreen":
        """Follow a run another process is writing (polls metrics.jsonl ~1/s)."""
        return cls(run_dir=str(run_dir), follow=True)

    @classmethod
    def for_events(cls, events: list[Any]) -> "DashboardScreen":
        """Replay fixed events (deterministic: snapshot tests and the README screenshot)."""
        return cls(events=events)

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield RunHeader(self.state, id="header")
        yield Tabs(*[Tab(label, id=f"tab-{pid}") for pid, label in PANELS], id="tabs")
        with Vertical(id="panels"):
            with Horizontal(id="charts-row"):
                yield MetricChart("loss", "loss", id="loss", classes="panel")
                yield MetricChart("accuracy %", "acc", id="acc", classes="panel")
            with Horizontal(id="bottom-row"):
                yield PerClassTable(id="classes", classes="panel")
                with Vertical(id="matrix", classes="panel"):
                    yield ConfusionMatrix(id="confusion")
                yield LogPanel(id="log", classes="panel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#matrix").border_title = "confusion matrix"
        self.query_one("#log").border_title = "log"
        self._apply_layout()
        for event in self.replay:
            self.state.apply(event)
        self._dirty.update({"header", "charts", "epoch", "log"})
        self._flush(force_charts=True)
        self.set_interval(REDRAW_S, self._flush)
        if self.config is not None:
            self._train()
        elif self.run_dir is not None:
            self.state.run_id = Path(self.run_dir).name
            self._follow()
            self.find_probe()
        self._sync_phase()

    # Looked up once: _flush runs twice a second and a query walks the whole screen.
    @cached_property
    def _header(self) -> RunHeader:
        return self.query_one(RunHeader)

    @cached_property
    def _charts(self) -> list[MetricChart]:
        return list(self.query(MetricChart))

    def on_resize(self) -> None:
        self._apply_layout()

    def _apply_layout(self) -> None:
        """Wide terminals show every panel; smaller ones one panel at a time, picked with tabs."""
        narrow = self.size.width < WIDE_MIN[0] or self.size.height < WIDE_MIN[1]
        self.set_class(narrow, "narrow")
        for pid, _ in PANELS:
            self.query_one(f"#{pid}").display = not narrow or pid == self.active
        self.query_one("#charts-row").display = not narrow or self.active in ("loss", "acc")
        self.query_one("#bottom-row").display = not narrow or self.active in ("classes", "matrix", "log")
        self.set_class(self.size.height < SHORT_ROWS, "short")
        self.query_one("#tabs").display = narrow and self.size.height >= TINY_ROWS
        if not narrow and (self.focused is None or isinstance(self.focused, Tabs)):
            self.query_one(ConfusionMatrix).focus()  # hidden tabs take no keys: enter opens the cursor's cell
        self.call_after_refresh(self._flush)  # a chart shown now may be stale

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is not None and event.tab.id:
            self.active = event.tab.id.removeprefix("tab-")
            self._apply_layout()

    # ------------------------------------------------------------ worker side (threads)
    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train(self) -> None:
        """Run engine.training.loop here: torch is imported in this thread, never on the UI's."""
        assert self.config is not None
        try:
            from tui.engine_import import import_engine

            import_engine()  # the registry worker may be importing torch right now
            from engine.training.loop import train

            train(self.config, self._on_event, self.control, resume=self.resume_dir, change=self.resume_change)
        except UserError as exc:  # bad input found before the run directory exists
            self.post_message(StartError(str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown on screen, never a crash of the app
            error = f"{type(exc).__name__}: {exc}"
            self.post_message(EngineEvent(Log("error", error)))
            self.post_message(EngineEvent(RunEnded(RunStatus.FAILED.value, "", "", {}, error)))

    def _on_event(self, event: Any) -> None:
        """Called in the training thread: post, never touch widgets, never wait for the UI."""
        if isinstance(event, StepDone):
            with self._slot_lock:
                self._latest_step = event
                pending, self._step_pending = self._step_pending, True
            if not pending:
                self.post_message(StepTick())
        else:
            self.post_message(EngineEvent(event))

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def _follow(self) -> None:
        """Poll the run directory until nothing more will be written (or the screen goes)."""
        from textual.worker import get_current_worker

        from engine.runs.follow import RunFollower

        follower = RunFollower(self.run_dir or ".")
        worker = get_current_worker()
        while not worker.is_cancelled:
            update = follower.poll()
            self.post_message(FollowUpdateMessage(update))
            if update.finished and update.status != RunStatus.STARTING:
                return
            time.sleep(FOLLOW_POLL_S)

    # ------------------------------------------------------------ UI side (messages)
    def on_step_tick(self, _: StepTick) -> None:
        with self._slot_lock:
            step, self._latest_step, self._step_pending = self._latest_step, None, False
        if step is not None:
            self.state.apply(step)
            self._dirty.update({"header", "step"})
            self._sync_phase()

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        self.state.apply(event)
        if isinstance(event, Log) and event.level in ("warning", "error"):
            self.notify(event.message, severity="error" if event.level == "error" else "warning", timeout=8)
        self._dirty.update({"header", "log", "epoch", "charts"})
        self._sync_phase()
        if isinstance(event, RunEnded):
            self._finish()

    def on_start_error(self, message: StartError) -> None:
        self.state.fail(message.error)
        self.notify(message.error, severity="error", timeout=10)
        self._dirty.update({"header", "log"})
        self._sync_phase()
        self._finish()

    def _finish(self) -> None:
        """The run ended: draw everything now and tell the app (exit code, quit after a stop)."""
        self._flush(force_charts=True)
        message = RunFinished(self.state.phase, sets_exit_code=self.sets_exit_code, exit_app=self.exit_after_stop)
        self.post_message(message)

    def on_follow_update_message(self, message: FollowUpdateMessage) -> None:
        update = message.update
        if update.config or update.summary:
            self.state.load_files(update.config, update.summary)
        for record in update.records:
            self.state.apply_record(record)
        if update.records and not self._preloaded:  # not training here: read the images for the drill-down now
            self._preloaded = True
            self.preload_images()
        if update.step is not None:  # progress.json: where the writer is inside the epoch
            self.state.apply(update.step)
        previous = self.state.follow(update.status)
        phase = self.state.phase
        if phase is Phase.STALE and previous is not Phase.STALE:
            self.state.add_log("warning", "the process writing this run is gone (killed or crashed): "
                                          "the run will not finish")
        elif update.finished and previous in (Phase.FOLLOWING, Phase.STARTING) and phase is not previous:
            self.state.add_log("info", f"run {phase}")
        if update.error and update.status == RunStatus.UNREADABLE:
            self.state.add_log("error", f"cannot read the run: {update.error}")
        self._dirty.update({"header", "log", "epoch", "charts"})
        self._sync_phase()

    # ------------------------------------------------------------ redraw
    def _flush(self, force_charts: bool = False) -> None:
        """Apply what changed to the widgets; called by a 2 Hz timer and after keys."""
        dirty, self._dirty = self._dirty, set()
        if not dirty and not force_charts and not self._stale_charts:
            return
        s = self.state
        if "header" in dirty:
            self._header.update()
        self._flush_charts(dirty, force_charts)
        if "epoch" in dirty:
            if s.per_class:
                self.query_one(PerClassTable).set_data(s.class_names, s.per_class, s.per_class_prev,
                                                       s.per_class_best)
            self.query_one(ConfusionMatrix).set_matrix(s.confusion, s.class_names)
        if "log" in dirty:
            self.query_one(LogPanel).sync(s.log, s.log_count)

    def _flush_charts(self, dirty: set[str], force: bool) -> None:
        """Epoch-level changes redraw both charts; steps only feed the loss chart, every STEP_CHART_S."""
        now = time.monotonic()
        if force or "charts" in dirty:
            self._stale_charts.update({"loss", "acc"})
        if "step" in dirty:
            if now - self._charts_drawn_at >= STEP_CHART_S:
                self._stale_charts.add("loss")
            else:
                self._dirty.add("step")  # keep it for the next chart slot
        for chart in self._charts:
            if chart.id in self._stale_charts and chart.display:  # hidden (a tab away): drawn when shown
                self._stale_charts.discard(chart.id)
                self._charts_drawn_at = now
                chart.update_from(self.state)

    def on_unmount(self) -> None:
        # The app is shutting down (or the screen was dropped): never leave a training
        # thread behind; the process would wait for it. The engine saves the run as interrupted.
        if self.config is not None:
            self.control.stop()
