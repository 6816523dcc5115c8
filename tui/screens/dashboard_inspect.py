"""The dashboard's way into the images behind its numbers.

Enter on a confusion-matrix cell opens that cell's test images; ``e`` the most confident
mistakes and most confused pairs; ``g`` training images per class as the model sees them;
``o`` classifies images from outside the dataset; ``f`` the feature space (PCA); ``l``
starts a linear probe on this run's features. Each screen reads the run's stored files in
its own worker; nothing here re-runs the model on the test set.
"""
from __future__ import annotations

from pathlib import Path

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from engine.config import RunConfig, UserError

from tui.widgets.confusion import ConfusionMatrix
from tui.state.run_state import RunState
from tui.screens.features import FeaturesScreen
from tui.screens.images import MistakesScreen, open_cell
from tui.screens.predict import PredictScreen
from tui.screens.samples import SamplesScreen


class ProbeFound(Message):
    """A linear probe of the shown run was found in its runs directory (worker → screen)."""

    def __init__(self, test_acc: float) -> None:
        super().__init__()
        self.test_acc = test_acc


class InspectActions(Screen):
    """Keys that open image screens for the run the dashboard shows."""

    BINDINGS = [
        Binding("e", "mistakes", "Mistakes"),
        Binding("g", "samples", "Samples"),
        Binding("o", "predict", "Predict"),
        Binding("f", "features", "Features", show=False),
        Binding("l", "probe", "Probe", show=False),
    ]

    config: RunConfig | None
    run_dir: str | None
    state: RunState
    _dirty: set[str]
    _probe_started = False

    @work(thread=True, exclusive=True, group="probe", exit_on_error=False)
    def find_probe(self) -> None:
        """Look for linear probes of this run beside it (a scan of the runs directory: a worker's job)."""
        run_dir = self.shown_run_dir()
        if run_dir is None:
            return
        from engine.analysis.analyze import probe_runs

        probes = [p for p in probe_runs(Path(run_dir).parent, Path(run_dir).name) if p["test_acc"] is not None]
        if probes:
            self.post_message(ProbeFound(probes[0]["test_acc"]))

    @work(thread=True, exclusive=True, group="preload", exit_on_error=False)
    def preload_images(self) -> None:
        """Read the run's test images and predictions now, so the first drill-down opens at once."""
        run_dir = self.shown_run_dir()
        if run_dir is None:
            return
        from tui.screens.inspect_data import run_images

        try:
            run_images(run_dir)
        except Exception:  # noqa: BLE001 - no predictions, no data: the drill-down says why when asked
            pass

    def on_screen_resume(self) -> None:
        """Back from a probe this app started from here: its accuracy is new."""
        if self._probe_started:
            self._probe_started = False
            self.find_probe()

    def on_probe_found(self, message: ProbeFound) -> None:
        self.state.probe_acc = message.test_acc
        self._dirty.add("header")

    def shown_run_dir(self) -> str | None:
        """The folder of the run on screen (None while a started run has no folder yet)."""
        return self.run_dir or self.state.run_dir or None

    def _run_with_epochs(self) -> str | None:
        """The run's folder if it has evaluated at least one epoch; else say why not and None."""
        run_dir = self.shown_run_dir()
        if run_dir is None or not self.state.epoch_x:
            self.notify("no epoch evaluated yet: the images appear after the first epoch", timeout=4)
            return None
        return run_dir

    def on_confusion_matrix_cell_chosen(self, message: ConfusionMatrix.CellChosen) -> None:
        run_dir = self._run_with_epochs()
        if run_dir is not None:
            open_cell(self.app, run_dir, message.true, message.pred)

    def action_mistakes(self) -> None:
        run_dir = self._run_with_epochs()
        if run_dir is not None:
            self.app.push_screen(MistakesScreen(run_dir))

    def action_samples(self) -> None:
        source = self.config if self.config is not None else self.shown_run_dir()
        if source is None:
            self.notify("no run to take the training images from yet", timeout=3)
            return
        self.app.push_screen(SamplesScreen(source))

    def action_predict(self) -> None:
        run_dir = self._run_with_epochs()
        if run_dir is not None:
            self.app.push_screen(PredictScreen(run_dir))

    def action_features(self) -> None:
        run_dir = self._run_with_epochs()
        if run_dir is not None:
            self.app.push_screen(FeaturesScreen([run_dir]))

    def action_probe(self) -> None:
        run_dir = self._run_with_epochs()
        if run_dir is None:
            return
        if self.state.phase.live:
            self.notify("a probe starts from a run that has ended: wait for this one", timeout=4)
            return
        from tui.app import CifarApp  # here, not at the top: the app module imports the screens it opens

        if isinstance(self.app, CifarApp) and self.app.training_screen() is not None:
            self.notify("a run is training in this app; stop it (x) before starting a probe", severity="warning")
            return
        self._probe_config(run_dir)

    @work(thread=True, exclusive=True, group="probe-config", exit_on_error=False)
    def _probe_config(self, run_dir: str) -> None:
        """Build the probe's config off the UI thread (it reads the run's files); the UI thread starts it."""
        from engine.analysis.analyze import probe_config

        try:
            config = probe_config(run_dir)
        except UserError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._start_probe, config)

    def _start_probe(self, config: RunConfig) -> None:
        from tui.screens.dashboard import DashboardScreen

        self._probe_started = True
        self.app.push_screen(DashboardScreen.for_config(config))
