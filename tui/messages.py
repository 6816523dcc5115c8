"""What a screen asks of the app: open another screen, start a run, or hear that a run ended.

A screen never imports another screen: runs opens compare and compare goes back to runs, so
they would import each other in a circle. It posts one of these instead; the message bubbles
from the screen to the app, whose handlers (tui.navigation) import the screen asked for and
open it. A modal question (confirm, run_dialogs) is still pushed by the screen that asks it.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from engine.config import RunConfig

from tui.state.run_phase import Phase


@dataclass
class OpenRun(Message):
    """Show a saved run: the live dashboard if this app trains it, else a dashboard of its files
    (followed live while another process still writes it)."""

    run_dir: str


@dataclass
class ResumeRun(Message):
    """Continue a stopped run in place on a live dashboard (refused while this app trains another)."""

    run_dir: str


@dataclass
class StartRun(Message):
    """Train ``config`` now, on a new live dashboard."""

    config: RunConfig


@dataclass
class OpenCompare(Message):
    """Compare these runs; ``runs_dir`` is where the comparison's escape goes when nothing is beneath it."""

    run_dirs: list[str]
    runs_dir: str


@dataclass
class OpenRuns(Message):
    """Show the runs of ``runs_dir`` in place of the screen that asks."""

    runs_dir: str


@dataclass
class OpenLauncher(Message):
    """Show the launcher in place of the screen that asks, its form filled from ``base``."""

    runs_dir: str | None
    base: RunConfig | None


@dataclass
class OpenSweep(Message):
    """Show sweep ``name`` of ``runs_dir``: its trials, the best one's curves, the params against val acc."""

    runs_dir: str
    name: str


@dataclass
class OpenCell(Message):
    """The test images of one confusion cell: class ``true`` predicted as ``pred``."""

    run_dir: str
    true: int
    pred: int


@dataclass
class OpenMistakes(Message):
    """A run's most confident mistakes and most confused pairs."""

    run_dir: str


@dataclass
class OpenSamples(Message):
    """Training images per class; ``source`` is a run being started (its config) or a saved run's folder."""

    source: RunConfig | str


@dataclass
class OpenPredict(Message):
    """Classify images from outside the dataset with a run's model."""

    run_dir: str


@dataclass
class OpenFeatures(Message):
    """The feature spaces (PCA) of these runs, side by side."""

    run_dirs: list[str]


class RunFinished(Message):
    """A run a dashboard trains (or replays) ended. Posted once; bubbles to the app (``on_run_finished``).

    ``phase``: how it ended (a final Phase, a str enum: completed, interrupted, failed, diverged, or
    error for bad input). ``sets_exit_code``: this run's end decides the app's exit code (started from
    the command line, or resumed). ``exit_app``: a quit or a stop signal asked for this stop; the app
    should exit now, with the exit code for ``phase``.
    """

    def __init__(self, phase: Phase, *, sets_exit_code: bool, exit_app: bool, run_id: str = "") -> None:
        super().__init__()
        self.phase = phase
        self.run_id = run_id
        self.sets_exit_code = sets_exit_code
        self.exit_app = exit_app


@dataclass
class SweepFinished(Message):
    """The sweep this app drives (``cifar-tui sweep NAME``) ended: out of trials, or stopped (every trial
    saved, resumable). ``exit_code``: the command's, as ``--no-ui`` would exit; ``exit_app``: a quit or a
    stop signal asked for the stop, so the app exits now with it."""

    exit_code: int
    exit_app: bool


@dataclass
class FollowedRunEnded(Message):
    """A run another process writes, seen running on a dashboard here, ended (the app says so: a bell and a
    desktop notification). Not a RunFinished: how it ended is no exit code of this app's."""

    phase: Phase
    run_id: str
