"""The app's half of navigation: it opens the screen a screen's message (tui.messages) asks for.

Screens never import each other; this is the one place that imports them all, and only when one
is first opened: the dashboard brings numpy and textual-plot, and the launcher's first frame must not
wait for them. ``CifarApp`` is a ``Navigator``; so is any host a test puts a screen in.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, ReturnType

from engine.config import UserError

from tui.messages import (
    OpenCell, OpenCompare, OpenFeatures, OpenLauncher, OpenMistakes, OpenPredict, OpenRun, OpenRuns, OpenSamples,
    OpenSweep, ResumeRun, StartRun,
)

if TYPE_CHECKING:
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.sweep import SweepScreen


class Navigator(App[ReturnType]):
    """Handlers that open screens, and what the app knows of the dashboards it holds."""

    # ------------------------------------------------------------ runs
    def on_open_run(self, message: OpenRun) -> None:
        live = self.live_dashboard(message.run_dir)
        if live is not None:  # the run this app trains: its own live dashboard
            self.return_to(live)
            return
        from tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen.for_saved_run(message.run_dir))

    def on_resume_run(self, message: ResumeRun) -> None:
        if self.training_screen() is not None:
            self.notify("a run is training in this app; stop it (x) before resuming another", severity="warning")
            return
        from engine.training.resume import prepare_resume

        try:
            config, change = prepare_resume(message.run_dir, {})
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        from tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen.for_config(config, resume=message.run_dir, change=change))

    def on_start_run(self, message: StartRun) -> None:
        from tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen.for_config(message.config))

    def on_open_compare(self, message: OpenCompare) -> None:
        from tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(message.run_dirs, runs_dir=message.runs_dir))

    def on_open_sweep(self, message: OpenSweep) -> None:
        from tui.screens.sweep import SweepScreen

        self.push_screen(SweepScreen(message.runs_dir, message.name))

    def on_open_runs(self, message: OpenRuns) -> None:
        from tui.screens.runs import RunsScreen

        self.switch_screen(RunsScreen(message.runs_dir))

    def on_open_launcher(self, message: OpenLauncher) -> None:
        from tui.screens.launcher import LauncherScreen

        self.switch_screen(LauncherScreen(runs_dir=message.runs_dir, base=message.base))

    # ------------------------------------------------------------ a run's images and features
    def on_open_cell(self, message: OpenCell) -> None:
        from tui.screens.images import open_cell

        open_cell(self, message.run_dir, message.true, message.pred)

    def on_open_mistakes(self, message: OpenMistakes) -> None:
        from tui.screens.images import MistakesScreen

        self.push_screen(MistakesScreen(message.run_dir))

    def on_open_samples(self, message: OpenSamples) -> None:
        from tui.screens.samples import SamplesScreen

        self.push_screen(SamplesScreen(message.source))

    def on_open_predict(self, message: OpenPredict) -> None:
        from tui.screens.predict import PredictScreen

        self.push_screen(PredictScreen(message.run_dir))

    def on_open_features(self, message: OpenFeatures) -> None:
        from tui.screens.features import FeaturesScreen

        self.push_screen(FeaturesScreen(message.run_dirs))

    # ------------------------------------------------------------ the dashboards held
    def training_screen(self) -> DashboardScreen | None:
        """The dashboard whose run is still training, if any."""
        dashboard = _dashboard_class()
        if dashboard is None:
            return None
        for screen in reversed(self.screen_stack):
            if isinstance(screen, dashboard) and screen.is_training:
                return screen
        return None

    def driving_sweep(self) -> SweepScreen | None:
        """The sweep screen whose driver runs in this app (`cifar-tui sweep NAME`), if any: quitting stops it first."""
        module = sys.modules.get(f"{__package__}.screens.sweep")  # not imported: no sweep screen exists
        sweep = getattr(module, "SweepScreen", None)
        if sweep is None:
            return None
        return next((s for s in self.screen_stack if isinstance(s, sweep) and s.drives), None)

    def live_dashboard(self, run_dir: str | Path) -> DashboardScreen | None:
        """The dashboard in this app that trains run_dir, if any (opening that run returns to it)."""
        training = self.training_screen()
        if training is None or not training.state.run_dir:
            return None
        return training if Path(training.state.run_dir).resolve() == Path(run_dir).resolve() else None

    def return_to(self, screen: Any) -> None:
        """Close the screens above screen (the runs browser, compare...) so it is on top again."""
        while self.screen is not screen and len(self.screen_stack) > 1:
            self.pop_screen()


def _dashboard_class() -> type[DashboardScreen] | None:
    """DashboardScreen once its module is imported; before that no dashboard can exist (and quitting from the
    launcher must not pay the dashboard's import to learn that)."""
    module = sys.modules.get(f"{__package__}.screens.dashboard")
    return getattr(module, "DashboardScreen", None)
