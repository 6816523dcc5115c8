"""The dashboard's keys: pause, stop (asked first), counts/%, sort, panels, back.

``DashboardKeys`` is the base class of ``DashboardScreen``: the bindings and their
actions here, the feeds and the redraw there. p and x exist only while this app
trains the run and no stop was asked: ``check_action`` hides them from the footer
otherwise, and ``_sync_phase`` refreshes the footer on every phase change.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.binding import Binding
from textual.widgets import Tabs

from engine.control import Control

from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.per_class import PerClassTable
from tui.state.run_state import Phase, RunState
from tui.screens.confirm import ConfirmStop
from tui.screens.dashboard_inspect import InspectActions


class DashboardKeys(InspectActions):
    """Key bindings and actions of the dashboard; the subclass builds the state they act on."""

    BINDINGS = [
        Binding("p", "pause", "Pause/resume"),
        Binding("x", "stop", "Stop"),
        Binding("n", "normalise", "Counts/%"),
        Binding("s", "sort", "Sort classes"),
        Binding("1", "tab('loss')", "Loss", show=False),
        Binding("2", "tab('acc')", "Acc", show=False),
        Binding("3", "tab('classes')", "Classes", show=False),
        Binding("4", "tab('matrix')", "Matrix", show=False),
        Binding("5", "tab('log')", "Log", show=False),
        Binding("escape", "back", "Back", show=False),
    ]

    state: RunState
    control: Control
    resume_dir: str | None
    active: str
    exit_after_stop: bool
    _dirty: set[str]
    _shown_phase: Phase | None = None

    def _flush(self, force_charts: bool = False) -> None:
        raise NotImplementedError

    def _apply_layout(self) -> None:
        raise NotImplementedError

    def _sync_phase(self) -> None:
        """After a transition: the header shows the new phase, the footer offers only the keys it allows."""
        if self.state.phase is not self._shown_phase:
            self._shown_phase = self.state.phase
            self._dirty.add("header")
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

    def check_action(self, action: str, parameters: tuple[Any, ...]) -> bool | None:
        """p and x only for a run this app trains and can still pause or stop (hidden otherwise)."""
        if action in ("pause", "stop"):
            return self.can_control
        return True

    def action_pause(self) -> None:
        """p: pause or resume at the next step; the elapsed clock stops meanwhile."""
        if not self.can_control:
            return
        if self.state.resume():
            self.control.resume()
            self._show_phase_change("info", "resumed")
        elif self.state.pause():
            self.control.pause()
            self._show_phase_change("info", "paused (p resumes)")

    def _show_phase_change(self, level: str, message: str) -> None:
        """A key changed the run's phase: log it and redraw the header now (not at the next 2 Hz tick)."""
        self.state.add_log(level, message)
        self._dirty.update({"header", "log"})
        self._sync_phase()
        self._flush()

    def action_stop(self) -> None:
        """x: ask first (a stray key must not end hours of training); Enter, n and Escape keep training."""
        if not self.can_control:
            return

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            if self.can_control:
                self.request_stop()
            else:
                self.notify(f"the run already ended ({self.state.phase})", timeout=4)

        self.app.push_screen(ConfirmStop(self.stop_question()), answer)

    def stop_question(self) -> str:
        """The stop dialog's text: what happens to the run, and the command that continues it."""
        return (f"Stop training? The run is saved as interrupted and can be resumed "
                f"({self.resume_command()}, or u on the runs screen).")

    def resume_command(self) -> str:
        """`cifar-tui --resume RUN` for this run (the run id in the default store, else its folder)."""
        run_id, run_dir = self.state.run_id, self.state.run_dir or self.resume_dir or ""
        runs_dir = self.config.runs_dir if self.config is not None else "saved_runs"
        if run_id and Path(runs_dir) == Path("saved_runs"):
            return f"cifar-tui --resume {run_id}"
        if run_dir:
            return f"cifar-tui --resume {run_dir}"
        return "cifar-tui --resume RUN"  # stopped before the run folder exists: nothing to name yet

    def request_stop(self, then_exit: bool = False) -> None:
        """Stop at the next step; the engine saves the run as interrupted. ``then_exit``: the app exits
        once the run has ended (RunFinished.exit_app)."""
        self.exit_after_stop = self.exit_after_stop or then_exit
        if self.config is not None and self.state.stop():
            self.control.stop()
            self._show_phase_change("warning", "stopping after this step; the run is saved as interrupted")

    def action_normalise(self) -> None:
        normalised = self.query_one(ConfusionMatrix).toggle_normalized()
        self.notify("confusion matrix: row-normalised %" if normalised else "confusion matrix: counts", timeout=2)

    def action_sort(self) -> None:
        self.query_one(PerClassTable).action_cycle_sort()

    def action_tab(self, pid: str) -> None:
        self.active = pid
        self.query_one(Tabs).active = f"tab-{pid}"
        self._apply_layout()
        if pid == "matrix":  # enter then opens the cell under the cursor: the most confused pair at first
            self.query_one(ConfusionMatrix).focus()
            if self.state.epoch_x:
                self.preload_images()

    def action_back(self) -> None:
        """Escape: back to the previous screen, unless this is the only one or a run is training here."""
        if self.is_training:
            self.notify("training: x stops the run, q quits", timeout=3)
        elif len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:  # `cifar-tui train` ended here: the launcher, with this run's settings, to start another
            from tui.screens.launcher import LauncherScreen

            runs_dir = self.config.runs_dir if self.config is not None else None
            self.app.switch_screen(LauncherScreen(runs_dir=runs_dir, base=self.config))
