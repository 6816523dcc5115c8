"""One sweep: its trials, the best one's curves, validation accuracy against a param, which params matter.

Opened from the runs screen (S on a trial, or a choice of the sweeps), or by ``cifar-tui sweep NAME``,
which also runs the sweep's driver here (``SweepScreen.running``): the trials train in their own
processes, as with ``--no-ui``, and q or a stop signal stops every one of them (each saves its run;
the same command continues the sweep).

Keys: enter a trial's dashboard (live while it trains), space select, c compare the selected trials
(else the best TOP_K), p the next param on the scatter, escape back.

Data: a SweepWatch (engine.sweeps.watch) read by a thread worker on opening, every REFRESH_S, and when
the driver says a trial ended; the UI thread only places what it returns (tui.screens.sweep_view).
The driver runs in a thread worker of its own and only posts messages. It must stay in that one
thread from start to end: a trial's process gets SIGTERM when the thread that started it exits
(PR_SET_PDEATHSIG), and the driver ends only once every trial has.
"""
from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from engine.config import UserError
from engine.sweeps.events import SweepEvent, SweepNote, TrialEnded, TrialResumed
from engine.sweeps.watch import SweepSnapshot, SweepWatch

from tui import format as fmt
from tui.messages import OpenCompare, OpenRun, OpenRuns, SweepFinished
from tui.screens import sweep_view as view
from tui.screens.sweep_trials import TrialsTable
from tui.state.run_state import RunState
from tui.widgets.charts import MetricChart
from tui.widgets.param_scatter import ParamScatter, legend

REFRESH_S = 2.0
"""As the runs screen: a trial's epoch shows within two seconds, and a read costs next to nothing."""


class SweepRead(Message):
    """A background read of the sweep finished (error: it could not be read)."""

    def __init__(self, snapshot: SweepSnapshot | None, number: int, error: str | None = None) -> None:
        super().__init__()
        self.snapshot, self.number, self.error = snapshot, number, error


class DriverEvent(Message):
    """Something the driver this screen runs said (engine.sweeps.events)."""

    def __init__(self, event: SweepEvent) -> None:
        super().__init__()
        self.event = event


class DriverEnded(Message):
    """The driver returned: out of trials, or stopped with every trial saved (or it failed: error)."""

    def __init__(self, exit_code: int, stopped: bool, error: str | None = None) -> None:
        super().__init__()
        self.exit_code, self.stopped, self.error = exit_code, stopped, error


class SweepScreen(Screen):
    """The trials of one sweep, live."""

    CSS_PATH = "sweep.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        Binding("space", "toggle_select", "Select"),
        Binding("c", "compare", "Compare"),
        Binding("p", "next_param", "Param"),
        Binding("escape", "back", "Back"),
        # In the app a Ctrl-C is a key, not a signal: here it stops the sweep as q does (asking first).
        Binding("ctrl+c", "app.quit_app", "Quit", show=False),
    ]

    def __init__(self, runs_dir: str | Path, name: str, url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs_dir, self.sweep_name = str(runs_dir), name
        self.sweep = SweepWatch(runs_dir, name, url)  # not .watch: Textual's DOMNode.watch is a method
        self.driver: Any = None
        """engine.sweeps.driver.Driver when this screen runs the sweep (``running``)."""
        self.drive = ""
        """The driver here: running, stopping, stopped, finished or failed ('' when this screen only shows the sweep)."""
        self.exit_after_stop = False
        self.driver_started, self.driver_ended = threading.Event(), threading.Event()
        """Set by the driver's thread: the CLI waits on them when the app ended with the sweep running."""
        self.snap: SweepSnapshot | None = None
        self.selected: dict[int, None] = {}
        self.param_index = 0
        self._lock = threading.Lock()
        self._reads = 0
        self._shown_read = 0
        self._curves_key: Any = None
        self._scatter_key: Any = None
        self._error: str | None = None

    @classmethod
    def running(cls, ctx: Any, options: Any, url: str | None = None) -> "SweepScreen":
        """Run the sweep of ``ctx`` (engine.sweeps.trial.SweepContext) here, K trials at once (``options``)."""
        from engine.sweeps.driver import Driver

        screen = cls(ctx.runs_dir, ctx.defn.name, url)

        def tell(event: Any) -> None:  # the driver's thread: post, never touch widgets
            screen.post_message(DriverEvent(event))

        screen.driver = Driver(ctx, options, tell)
        screen.drive = "running"
        return screen

    @property
    def drives(self) -> bool:
        """The driver runs in this app now (quitting must stop it first)."""
        return self.drive in ("running", "stopping")

    def compose(self) -> ComposeResult:
        yield Static(id="sweep-state")
        yield TrialsTable(id="sweep-trials")
        yield Static(id="sweep-info")
        with Horizontal(id="sweep-panels"):
            with Vertical(id="sweep-best"):
                yield MetricChart("accuracy %", "acc", id="sweep-curves")
            yield ParamScatter(id="sweep-scatter")
            yield Static(id="sweep-imp-box")
        yield Static(id="sweep-imp-line")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Sweep {self.sweep_name} — {self.runs_dir}"
        self.query_one("#sweep-state", Static).update(view.state_text(None, self.sweep_name, self._drive_text()))
        self.query_one("#sweep-best").border_title = view.best_title(None, False)
        self.query_one("#sweep-imp-box").border_title = "param importance"
        self.read_in_background()
        self.set_interval(REFRESH_S, self._tick)
        self.query_one(TrialsTable).focus()
        if self.driver is not None:
            self._drive()

    def on_screen_resume(self) -> None:
        self.read_in_background()

    def _tick(self) -> None:
        if self.is_current:  # under a dashboard: the resume read catches up
            self.read_in_background()

    # ------------------------------------------------------------------ workers (threads: post, never touch widgets)

    @work(thread=True, exclusive=True, group="sweep-read", exit_on_error=False)
    def read_in_background(self) -> None:
        with self._lock:  # one read at a time: the watch's caches are not for two threads
            self._reads += 1
            number = self._reads
            try:
                snap = self.sweep.read()
            except UserError as exc:
                self.post_message(SweepRead(None, number, str(exc)))
                return
            except Exception as exc:  # a damaged journal or a dropped database: said, and read again later
                self.post_message(SweepRead(None, number, f"cannot read sweep {self.sweep_name}: "
                                                          f"{type(exc).__name__}: {exc}".splitlines()[0]))
                return
        if not get_current_worker().is_cancelled:
            self.post_message(SweepRead(snap, number))

    @work(thread=True, exclusive=True, group="sweep-driver", exit_on_error=False)
    def _drive(self) -> None:
        from engine.sweeps.driver import exit_code
        from engine.sweeps.table import sweep_table

        driver = self.driver
        self.driver_started.set()
        try:
            result = driver.run()
            ctx = driver.ctx
            code = exit_code(result, sweep_table(ctx.study, ctx.defn, ctx.runs_dir, importance=False))
        except Exception as exc:  # noqa: BLE001 - said on screen; the trials stopped with the driver's end
            self.post_message(DriverEnded(1, False, f"the sweep stopped: {type(exc).__name__}: {exc}"))
            return
        finally:
            self.driver_ended.set()
        self.post_message(DriverEnded(code, result.signal is not None))

    def driver_running(self) -> bool:
        """The driver's thread runs now (any thread may ask)."""
        return self.driver_started.is_set() and not self.driver_ended.is_set()

    def on_unmount(self) -> None:
        """Gone with the sweep still running (the app ended another way than q, or failed): its trials stop
        and save; the process ends once they have (the CLI waits for the driver)."""
        if self.driver_running():
            self.stop_driver(signal.SIGTERM)

    def stop_driver(self, signum: int) -> None:
        """Pass one stop to the driver, once (a second one would make the trials give up their clean stop)."""
        if self.driver is not None and not self.driver.signals:
            self.driver.request_stop(signum)

    # ------------------------------------------------------------------ messages (UI thread)

    def on_sweep_read(self, message: SweepRead) -> None:
        if message.error:
            if message.error != self._error:  # once, not every couple of seconds
                self.notify(message.error, severity="error", timeout=10)
                self.query_one("#sweep-state", Static).update(message.error)
            self._error = message.error
            return
        self._error = None
        if message.number < self._shown_read or message.snapshot is None:
            return  # a later read is already on screen
        self._shown_read = message.number
        if message.snapshot == self.snap:
            return  # most polls of a finished sweep, or between epochs: nothing to place
        self.snap = message.snapshot
        self.render_sweep()

    def on_driver_event(self, message: DriverEvent) -> None:
        event = message.event
        if isinstance(event, TrialEnded):
            value = f" {fmt.pct(event.best_val)}" if event.best_val is not None else ""
            self.notify(f"trial {event.number} {event.status}{value}", timeout=4,
                        severity="error" if event.status == "failed" else "information")
            self.read_in_background()
        elif isinstance(event, TrialResumed):
            self.notify(f"trial {event.number} resumes its run after epoch {event.epochs_done}", timeout=4)
        elif isinstance(event, SweepNote):
            self.notify(event.text, timeout=8)

    def on_driver_ended(self, message: DriverEnded) -> None:
        if message.error:
            self.notify(message.error, severity="error", timeout=15)
        self.drive = "failed" if message.error else "stopped" if message.stopped else "finished"
        self.read_in_background()
        self._state_line()
        self.post_message(SweepFinished(message.exit_code, self.exit_after_stop))

    def request_stop(self, signum: int = signal.SIGINT, then_exit: bool = False) -> None:
        """Stop every trial (each saves its run, resumable) through the driver, as a stop signal does with --no-ui."""
        if not self.drives:
            return
        self.exit_after_stop = self.exit_after_stop or then_exit
        if self.drive == "stopping":
            return
        self.drive = "stopping"
        self.stop_driver(signum)
        self._state_line()

    # ------------------------------------------------------------------ drawing

    def render_sweep(self) -> None:
        snap = self.snap
        if snap is None:
            return
        self._state_line()
        self._table(snap)
        self._info()
        self._curves(snap)
        self._scatter(snap)
        box = self.query_one("#sweep-imp-box", Static)
        box.update(view.importance_text(snap.table, max(20, box.size.width - 4)))
        self.query_one("#sweep-imp-line", Static).update(view.importance_text(snap.table, 0, compact=True))

    def _state_line(self) -> None:
        self.query_one("#sweep-state", Static).update(view.state_text(self.snap, self.sweep_name, self._drive_text()))

    def _drive_text(self) -> str:
        return view.drive_text(self.drive, len(self.driver.slots) if self.driver is not None else 0)

    def _table(self, snap: SweepSnapshot) -> None:
        params = snap.table.params
        self.query_one(TrialsTable).show(params, [
            (r.number, view.trial_cells(r, params, r.number in self.selected, snap.live.get(r.number)))
            for r in snap.table.rows])

    def _info(self) -> None:
        row = self.current_row()
        live = self.snap.live.get(row.number) if self.snap is not None and row is not None else None
        self.query_one("#sweep-info", Static).update(view.info_text(row, live))

    def _curves(self, snap: SweepSnapshot) -> None:
        shown, info = snap.shown, snap.info
        key = (shown.number if shown else None, len(snap.records), info.summary.get("status") if info else None)
        if key == self._curves_key:
            return
        self._curves_key = key
        state = RunState()
        if info is not None and not info.error:
            state.load_files(info.config, info.summary)
        for record in snap.records:
            state.apply_record(record)
        self.query_one("#sweep-best").border_title = view.best_title(shown, snap.table.best is not None)
        self.query_one("#sweep-curves", MetricChart).update_from(state)

    def _scatter(self, snap: SweepSnapshot) -> None:
        params = snap.table.params
        scatter = self.query_one("#sweep-scatter", ParamScatter)
        if not params:
            return
        param = params[self.param_index % len(params)]
        points = view.scatter_points(snap.table, snap.defn, param)
        key = (param, tuple(map(repr, points.values)), tuple(points.accs), tuple(points.statuses))
        if key == self._scatter_key:
            return
        self._scatter_key = key
        more = " · p: next" if len(params) > 1 else ""
        scatter.border_title = f"val acc % vs {param}{more}"
        scatter.border_subtitle = legend(points.statuses)
        scatter.show_points(points)

    def current_row(self) -> Any:
        """The TrialRow under the cursor (None: no trials)."""
        key = self.query_one(TrialsTable).current_key()
        if self.snap is None or key is None:
            return None
        return next((r for r in self.snap.table.rows if str(r.number) == key), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._info()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    # ------------------------------------------------------------------ keys

    def action_open(self) -> None:
        """The trial's dashboard: followed live while its process trains it."""
        row = self.current_row()
        if row is None:
            return
        if not row.run_dir:
            self.notify(f"trial {row.number} has no run yet ({row.status})", severity="warning")
            return
        self.post_message(OpenRun(row.run_dir))

    def action_toggle_select(self) -> None:
        row = self.current_row()
        if row is None:
            return
        if row.number in self.selected:
            del self.selected[row.number]
        else:
            self.selected[row.number] = None
        table = self.query_one(TrialsTable)
        at = table.cursor_row
        self.render_sweep()
        if at + 1 < table.row_count:
            table.move_cursor(row=at + 1, animate=False)

    def action_compare(self) -> None:
        """The selected trials (in the order selected), else the best TOP_K: those with a run."""
        if self.snap is None:
            return
        rows = {r.number: r for r in self.snap.table.rows}
        if self.selected:
            chosen = [rows[n] for n in self.selected if n in rows and rows[n].run_dir]
        else:
            chosen = [r for r in self.snap.table.rows if r.run_dir and r.best_val is not None][:view.TOP_K]
        if len(chosen) < 2:
            what = "selected trials with a run" if self.selected else "trials with a validation accuracy"
            self.notify(f"compare needs two {what} ({len(chosen)} now)", severity="warning")
            return
        self.post_message(OpenCompare([str(r.run_dir) for r in chosen], runs_dir=self.runs_dir))

    def action_next_param(self) -> None:
        if self.snap is None or len(self.snap.table.params) < 2:
            self.notify("this sweep has one param: nothing else to plot against", timeout=4)
            return
        self.param_index = (self.param_index + 1) % len(self.snap.table.params)
        self._scatter(self.snap)

    async def action_back(self) -> None:
        """Back to the screen beneath; opened by `cifar-tui sweep`, to the runs (on top while the sweep runs here)."""
        if self.selected:
            self.selected.clear()
            self.render_sweep()
        elif len(self.app.screen_stack) > 2:  # [default, this screen]: nothing of the app beneath
            self.app.pop_screen()
        elif self.drives:  # this screen must stay: its worker runs the sweep
            await self.app.run_action("runs")
        else:
            self.post_message(OpenRuns(self.runs_dir))
