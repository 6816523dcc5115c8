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
redrawn by a 2 Hz timer from what changed, never per event (dashboard_redraw),
so the UI costs the training loop the same whether it emits 10 or 1000 events
a second.

The run's state is one ``Phase`` (tui/state/run_phase.py), changed only by
``RunState``'s transition methods. The screen talks to the app through typed
messages (tui.messages): ``RunFinished`` when a run it shows ends, and the
keys that open other screens post what to open. What the keys do is in
dashboard_keys (pause, stop, panels), dashboard_remote (pause and stop of a run
another process writes) and dashboard_inspect (the images). Phases outside the
steps (reading the data, evaluation: engine PhaseProgress) redraw the header alone.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs

from engine.config import RunConfig, UserError
from engine.control import Control
from engine.events import Event, Log, PhaseProgress, RunEnded, StepDone, SystemSample
from engine.runs.status import RunStatus

from tui.messages import FollowedRunEnded, RunFinished, StartRun
from tui.widgets.charts import MetricChart
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.header import RunHeader
from tui.widgets.log_panel import LogPanel
from tui.widgets.per_class import PerClassTable
from tui.state.run_state import Phase, RunState
from tui.screens import dashboard_inspect, dashboard_keys
from tui.screens.dashboard_inspect import ProbeFound
from tui.screens.dashboard_messages import EngineEvent, FollowUpdateMessage, StartError, StepTick
from tui.screens.dashboard_redraw import REDRAW_S, STEP_CHART_S, Redraw

__all__ = ["REDRAW_S", "STEP_CHART_S", "DashboardScreen", "EngineEvent", "FollowUpdateMessage", "RunFinished",
           "StartError", "StepTick"]

FOLLOW_POLL_S = 1.0
PANELS = (("loss", "1 Loss"), ("acc", "2 Accuracy"), ("classes", "3 Classes"), ("matrix", "4 Confusion"),
          ("log", "5 Log"))  # each tab carries the key that shows it
FOLLOWED_LIVE = (Phase.STARTING, Phase.FOLLOWING, Phase.PAUSED)  # a followed run whose writer may be asked
WIDE_MIN = (140, 36)  # columns, rows from which every panel is shown at once
SHORT_ROWS = 16  # below this many rows the tabs lose their underline row; below TINY_ROWS they go (keys 1-5
TINY_ROWS = 10  # still switch panels): the panel keeps the rows


class DashboardScreen(Screen):
    """Live view of one run. Build it with the classmethods, not directly."""

    CSS_PATH = ["dashboard.tcss", "../widgets/widgets.tcss"]
    BINDINGS = [*dashboard_keys.KEYS]

    def __init__(self, *, config: RunConfig | None = None, run_dir: str | None = None, follow: bool = False,
                 events: list[Event] | None = None, **kwargs: Any) -> None:
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
        self.redraw = Redraw(self)
        self._preloaded = False
        self._shown_phase: Phase | None = None
        self._probe_started = False
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
    def for_events(cls, events: list[Event]) -> "DashboardScreen":
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
        yield Footer(show_command_palette=False)  # 80 columns must keep 1-5, ? and q (ctrl+p still works)

    def on_mount(self) -> None:
        self.query_one("#matrix").border_title = "confusion matrix"
        self.query_one("#log").border_title = "log"
        self.apply_layout()
        for event in self.replay:
            self.state.apply(event)
        self.redraw.mark("header", "charts", "epoch", "log")
        self.redraw.flush(force_charts=True)
        self.set_interval(REDRAW_S, self.redraw.flush)
        if self.config is not None:
            self._train()
        elif self.run_dir is not None:
            self.state.run_id = Path(self.run_dir).name
            self._follow()
            self.find_probe()
        self._sync_phase()

    def on_resize(self) -> None:
        self.apply_layout()

    def apply_layout(self) -> None:
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
        self.call_after_refresh(self.redraw.flush)  # a chart shown now may be stale

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is not None and event.tab.id:
            self.active = event.tab.id.removeprefix("tab-")
            self.apply_layout()

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

    def _on_event(self, event: Event) -> None:
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

        from engine.runs.follow import MetricsTail, RunFollower
        from engine.runs.steps import STEPS_FILE

        follower = RunFollower(self.run_dir or ".")
        steps = MetricsTail(Path(self.run_dir or ".") / STEPS_FILE)  # the loss inside each epoch, read as it grows
        worker = get_current_worker()
        while not worker.is_cancelled:
            update = follower.poll()
            self.post_message(FollowUpdateMessage(update, steps.read_new()))
            if update.finished and update.status != RunStatus.STARTING:
                return
            time.sleep(FOLLOW_POLL_S)

    @work(thread=True, exclusive=True, group="probe", exit_on_error=False)
    def find_probe(self) -> None:
        """Look for linear probes of this run beside it (a scan of the runs directory: a worker's job)."""
        test_acc = dashboard_inspect.probe_accuracy(self.shown_run_dir())
        if test_acc is not None:
            self.post_message(ProbeFound(test_acc))

    @work(thread=True, exclusive=True, group="preload", exit_on_error=False)
    def preload_images(self) -> None:
        """Read the run's test images and predictions now, so the first drill-down opens at once."""
        dashboard_inspect.preload(self.shown_run_dir())

    @work(thread=True, exclusive=True, group="probe-config", exit_on_error=False)
    def probe_config(self, run_dir: str) -> None:
        """Build a probe's config off the UI thread (it reads the run's files); the UI thread starts it."""
        from engine.analysis.analyze import probe_config

        try:
            config = probe_config(run_dir)
        except UserError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._start_probe, config)

    def _start_probe(self, config: RunConfig) -> None:
        self._probe_started = True
        self.post_message(StartRun(config))

    # ------------------------------------------------------------ UI side (messages)
    def on_screen_resume(self) -> None:
        """Back from a probe this app started from here: its accuracy is new."""
        if self._probe_started:
            self._probe_started = False
            self.find_probe()

    def on_probe_found(self, message: ProbeFound) -> None:
        self.state.probe_acc = message.test_acc
        self.redraw.mark("header")

    def on_step_tick(self, _: StepTick) -> None:
        with self._slot_lock:
            step, self._latest_step, self._step_pending = self._latest_step, None, False
        if step is not None:
            self.state.apply(step)
            self.redraw.mark("header", "step")
            self._sync_phase()

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        self.state.apply(event)
        if isinstance(event, (PhaseProgress, SystemSample)):  # several a second: the header alone shows them
            self.redraw.mark("header")
            return
        if isinstance(event, Log) and event.level in ("warning", "error"):
            self.notify(event.message, severity="error" if event.level == "error" else "warning", timeout=8)
        self.redraw.mark("header", "log", "epoch", "charts")
        self._sync_phase()
        if isinstance(event, RunEnded):
            self._finish()

    def on_start_error(self, message: StartError) -> None:
        self.state.fail(message.error)
        self.notify(message.error, severity="error", timeout=10)
        self.redraw.mark("header", "log")
        self._sync_phase()
        self._finish()

    def _finish(self) -> None:
        """The run ended: draw everything now and tell the app (exit code, quit after a stop)."""
        self.redraw.flush(force_charts=True)
        self.post_message(RunFinished(self.state.phase, sets_exit_code=self.sets_exit_code,
                                      exit_app=self.exit_after_stop, run_id=self.state.run_id))

    def on_follow_update_message(self, message: FollowUpdateMessage) -> None:
        seen_running = self.state.phase in (Phase.FOLLOWING, Phase.PAUSED)  # not a run that had ended when opened
        self.state.apply_update(message.update)
        if seen_running and not self.state.phase.live:
            self.post_message(FollowedRunEnded(self.state.phase, self.state.run_id))
        self.state.add_step_points(message.steps)
        if message.update.records and not self._preloaded:  # not trained here: read the drill-down's images now
            self._preloaded = True
            self.preload_images()
        self.redraw.mark("header", "log", "epoch", "charts")
        self._sync_phase()

    # ------------------------------------------------------------ phase and keys (dashboard_keys, dashboard_inspect)
    def _sync_phase(self) -> None:
        """After a transition: the header shows the new phase, the footer offers only the keys it allows."""
        if self.state.phase is not self._shown_phase:
            self._shown_phase = self.state.phase
            self.redraw.mark("header")
            self.refresh_bindings()

    @property
    def is_training(self) -> bool:
        """True while this screen's own worker is training (quitting must ask first)."""
        phase = self.state.phase
        return self.config is not None and (phase.controllable or phase is Phase.STOPPING)

    @property
    def can_control(self) -> bool:
        """p and x apply: this app trains the run, it has not ended and no stop was asked."""
        return self.config is not None and self.state.phase.controllable

    @property
    def follows_live(self) -> bool:
        """The run on screen is written by another process that still runs: p and x ask it (dashboard_remote)."""
        return self.config is None and self.following and self.state.phase in FOLLOWED_LIVE

    def app_trains(self) -> bool:
        """A dashboard of this app trains a run (one training at a time)."""
        return any(isinstance(s, DashboardScreen) and s.is_training for s in self.app.screen_stack)

    def shown_run_dir(self) -> str | None:
        """The folder of the run on screen (None while a started run has no folder yet)."""
        return self.run_dir or self.state.run_dir or None

    def check_action(self, action: str, parameters: tuple[Any, ...]) -> bool | None:
        """p and x only for a run that can still be paused or stopped, here or by asking its writer (hidden
        otherwise); n and s where their panel shows."""
        if action in ("pause", "stop"):
            return self.can_control or self.follows_live
        return dashboard_keys.shown(self, action)

    def show_phase_change(self, level: str, message: str) -> None:
        """A key changed the run's phase: log it and redraw the header now (not at the next 2 Hz tick)."""
        self.state.add_log(level, message)
        self.redraw.mark("header", "log")
        self._sync_phase()
        self.redraw.flush()

    def request_stop(self, then_exit: bool = False) -> None:
        """Stop at the next step; the engine saves the run as interrupted. ``then_exit``: the app exits
        once the run has ended (RunFinished.exit_app)."""
        self.exit_after_stop = self.exit_after_stop or then_exit
        if self.config is not None and self.state.stop():
            self.control.stop()
            self.show_phase_change("warning", "stopping after this step; the run is saved as interrupted")

    # The keys' actions are functions of this screen: its own keys in dashboard_keys, the images in
    # dashboard_inspect.
    action_pause = dashboard_keys.pause
    action_stop = dashboard_keys.stop
    action_normalise = dashboard_keys.normalise
    action_sort = dashboard_keys.sort
    action_smoothing, action_log_y, action_x_axis = dashboard_keys.smoothing, dashboard_keys.log_y, dashboard_keys.x_axis
    action_tab = dashboard_keys.tab
    action_back = dashboard_keys.back
    action_mistakes = dashboard_inspect.mistakes
    action_samples = dashboard_inspect.samples
    action_predict = dashboard_inspect.predict
    action_features = dashboard_inspect.features
    action_probe = dashboard_inspect.probe

    def on_confusion_matrix_cell_chosen(self, message: ConfusionMatrix.CellChosen) -> None:
        dashboard_inspect.cell(self, message.true, message.pred)

    def on_unmount(self) -> None:
        # The app is shutting down (or the screen was dropped): never leave a training
        # thread behind; the process would wait for it. The engine saves the run as interrupted.
        if self.config is not None:
            self.control.stop()
