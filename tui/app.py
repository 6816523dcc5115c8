"""The Textual app: launcher -> dashboard, plus the runs screen, help and a safe quit.

``run_app()`` is the only entry point the command line uses::

    run_app()                        # the launcher
    run_app(config=cfg)              # `cifar-tui train ...`: the dashboard, training cfg
    run_app(watch=RUN_DIR)           # follow a run another process writes
    run_app(compare=[DIR, DIR])      # the comparison screen (when it exists)

The first frame must come fast, so nothing here imports torch: the engine's
model registry (which does) is imported by a thread worker after mount, while
the launcher is already on screen and usable.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from engine.config import RunConfig

from .screens.confirm import ConfirmQuit
from .screens.help import HelpScreen

EXIT_CODES = {"completed": 0, "interrupted": 130, "error": 2}  # anything else that ended a run: 1


class RegistryLoaded(Message):
    """The model registry (and torch) finished importing in the background."""

    def __init__(self, models: dict[str, Any], error: str | None = None) -> None:
        super().__init__()
        self.models = models
        self.error = error


class CifarApp(App[int]):
    """cifar-tui: pick a model, train it, watch it."""

    CSS_PATH = "app.tcss"
    TITLE = "cifar-tui"
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("r", "runs", "Runs"),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True),
    ]

    def __init__(self, config: RunConfig | None = None, *, runs_dir: str = "saved_runs", watch: str | None = None,
                 compare: list[str] | None = None, start_screen: Any = None, resume: str | None = None,
                 change: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.start_screen = start_screen
        """A ready-made first screen (tests, screenshots); overrides config/watch/compare."""
        self.config = config
        self.runs_dir = runs_dir
        self.watch_dir = watch
        self.compare_dirs = compare
        self.resume_dir = resume
        """With config: continue this run directory instead of starting a new run."""
        self.resume_change = change or {}
        self.last_status: str | None = None
        self.started_at = time.perf_counter()
        self.first_frame_s: float | None = None
        self.torch_at_first_frame: bool | None = None
        self.registry: dict[str, Any] | None = None
        """Model name -> ModelSpec once the background import of the registry is done."""

    def on_mount(self) -> None:
        from .screens.dashboard import DashboardScreen

        if self.start_screen is not None:
            self.push_screen(self.start_screen)
        elif self.config is not None:
            self.push_screen(DashboardScreen.for_config(self.config, resume=self.resume_dir,
                                                         change=self.resume_change))
        elif self.watch_dir is not None:
            self.push_screen(DashboardScreen.follow(self.watch_dir))
        elif self.compare_dirs:
            self._open_compare(self.compare_dirs)
        else:
            from .screens.launcher import LauncherScreen

            self.push_screen(LauncherScreen(runs_dir=self.runs_dir))
        self.call_after_refresh(self._first_frame)

    def _first_frame(self) -> None:
        self.first_frame_s = time.perf_counter() - self.started_at
        self.torch_at_first_frame = "torch" in sys.modules  # the benchmark checks the lazy import held
        # Only now: importing torch holds the GIL for long stretches and would delay the first frame.
        self._load_registry()

    @work(thread=True, exclusive=True, group="registry", exit_on_error=False)
    def _load_registry(self) -> None:
        """Import torch and the model registry off the UI thread (seconds on a cold disk)."""
        try:
            from .engine_import import import_engine

            import_engine()
            from engine.models import MODELS
        except Exception as exc:  # noqa: BLE001 - a broken torch install must not kill the app
            self.post_message(RegistryLoaded({}, f"cannot load the models: {type(exc).__name__}: {exc}"))
            return
        self.post_message(RegistryLoaded(dict(MODELS)))

    def on_registry_loaded(self, message: "RegistryLoaded") -> None:
        if message.error:
            self.notify(message.error, severity="error", timeout=15)
        models = self.registry = message.models
        for screen in self.screen_stack:
            hook = getattr(screen, "registry_loaded", None)
            if hook is not None:
                hook(models)

    # ------------------------------------------------------------ runs
    def run_finished(self, status: str) -> None:
        """A dashboard's run ended (called on the UI thread)."""
        self.last_status = status

    def exit_code_for(self, status: str | None) -> int:
        """Process exit code: 0 completed, 130 interrupted, 2 bad input, 1 failed/diverged."""
        if status is None or self.config is None:
            return 0  # the launcher: the user just looked around, or quit before training finished
        return EXIT_CODES.get(status, 1)

    def training_screen(self) -> Any | None:
        """The dashboard whose run is still training, if any."""
        for screen in reversed(self.screen_stack):
            if getattr(screen, "is_training", False):
                return screen
        return None

    # ------------------------------------------------------------ keys
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_runs(self) -> None:
        """Push the runs browser, written separately: absent module -> a notice, not a crash."""
        try:
            from .screens.runs import RunsScreen
        except ImportError:
            self.notify("runs screen not available", severity="warning")
            return
        if type(self.screen).__name__ == "RunsScreen":
            return
        self.push_screen(RunsScreen(self.runs_dir))

    def _open_compare(self, dirs: list[str]) -> None:
        try:
            from .screens.compare import CompareScreen
        except ImportError:
            self.notify("compare screen not available", severity="warning")
            from .screens.launcher import LauncherScreen

            self.push_screen(LauncherScreen(runs_dir=self.runs_dir))
            return
        self.push_screen(CompareScreen(dirs))

    def action_quit_app(self) -> None:
        """Quit; while a run trains, ask first, then stop it cleanly (saved as interrupted)."""
        if isinstance(self.screen, ConfirmQuit):
            return
        training = self.training_screen()
        if training is None:
            self.exit(self.exit_code_for(self.last_status))
            return

        def answer(yes: bool | None) -> None:
            if yes and not training.is_training:  # the run ended while the question was open
                self.exit(self.exit_code_for(self.last_status))
            elif yes:
                training.request_stop(then_exit=True)
                self.notify("stopping: saving the run, then quitting", timeout=10)

        self.push_screen(ConfirmQuit("A run is training. Stop it (saved as interrupted) and quit?"), answer)


def run_app(config: RunConfig | None = None, *, runs_dir: str = "saved_runs", watch: str | None = None,
            compare: list[str] | None = None, resume: str | None = None, change: dict[str, Any] | None = None) -> int:
    """Run the app until the user quits; returns the process exit code."""
    if config is not None:
        runs_dir = config.runs_dir
    if watch is not None and not (Path(watch) / "metrics.jsonl").exists() and not Path(watch).is_dir():
        from engine.config import UserError

        raise UserError(f"{watch} is not a run directory")
    app = CifarApp(config, runs_dir=runs_dir, watch=watch, compare=compare, resume=resume, change=change)
    code = app.run()
    if code is None:  # quit before a result was set, or the app crashed (return_code says which)
        return app.return_code or 0
    return int(code)
