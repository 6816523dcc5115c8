"""The dashboard's way into the images behind its numbers.

Enter on a confusion-matrix cell opens that cell's test images; ``e`` the most confident
mistakes and most confused pairs; ``g`` training images per class as the model sees them;
``o`` classifies images from outside the dataset; ``f`` the feature space (PCA); ``l``
starts a linear probe on this run's features. Each opens by a message the app answers
(tui.messages); each screen reads the run's stored files in its own worker, and nothing
here re-runs the model on the test set.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.message import Message

from tui.messages import OpenCell, OpenFeatures, OpenMistakes, OpenPredict, OpenSamples

if TYPE_CHECKING:
    from tui.screens.dashboard import DashboardScreen

KEYS = [
    Binding("e", "mistakes", "Mistakes"),
    Binding("g", "samples", "Samples"),
    Binding("o", "predict", "Predict"),
    Binding("f", "features", "Features", show=False),
    Binding("l", "probe", "Probe", show=False),
]


class ProbeFound(Message):
    """A linear probe of the shown run was found in its runs directory (worker → screen)."""

    def __init__(self, test_acc: float) -> None:
        super().__init__()
        self.test_acc = test_acc


def probe_accuracy(run_dir: str | None) -> float | None:
    """The test accuracy of a linear probe of the run, found beside it (a scan: worker threads only)."""
    if run_dir is None:
        return None
    from engine.analysis.analyze import probe_runs

    probes = [p for p in probe_runs(Path(run_dir).parent, Path(run_dir).name) if p["test_acc"] is not None]
    return probes[0]["test_acc"] if probes else None


def preload(run_dir: str | None) -> None:
    """Read the run's test images and predictions (worker threads only), so the first drill-down opens at once."""
    if run_dir is None:
        return
    from tui.screens.inspect_data import run_images

    try:
        run_images(run_dir)
    except Exception:  # noqa: BLE001 - no predictions, no data: the drill-down says why when asked
        pass


def run_with_epochs(screen: DashboardScreen) -> str | None:
    """The run's folder if it has evaluated at least one epoch; else say why not and None."""
    run_dir = screen.shown_run_dir()
    if run_dir is None or not screen.state.epoch_x:
        screen.notify("no epoch evaluated yet: the images appear after the first epoch", timeout=4)
        return None
    return run_dir


def cell(screen: DashboardScreen, true: int, pred: int) -> None:
    run_dir = run_with_epochs(screen)
    if run_dir is not None:
        screen.post_message(OpenCell(run_dir, true, pred))


def mistakes(screen: DashboardScreen) -> None:
    run_dir = run_with_epochs(screen)
    if run_dir is not None:
        screen.post_message(OpenMistakes(run_dir))


def samples(screen: DashboardScreen) -> None:
    source = screen.config if screen.config is not None else screen.shown_run_dir()
    if source is None:
        screen.notify("no run to take the training images from yet", timeout=3)
        return
    screen.post_message(OpenSamples(source))


def predict(screen: DashboardScreen) -> None:
    run_dir = run_with_epochs(screen)
    if run_dir is not None:
        screen.post_message(OpenPredict(run_dir))


def features(screen: DashboardScreen) -> None:
    run_dir = run_with_epochs(screen)
    if run_dir is not None:
        screen.post_message(OpenFeatures([run_dir]))


def probe(screen: DashboardScreen) -> None:
    """l: a linear probe of this run, once it has ended and nothing else trains in this app."""
    run_dir = run_with_epochs(screen)
    if run_dir is None:
        return
    if screen.state.phase.live:
        screen.notify("a probe starts from a run that has ended: wait for this one", timeout=4)
        return
    if screen.app_trains():
        screen.notify("a run is training in this app; stop it (x) before starting a probe", severity="warning")
        return
    screen.probe_config(run_dir)
