"""The Textual app: launcher -> dashboard, plus the runs screen, help and a safe quit.

``run_app()`` is the only entry point the command line uses::

    run_app()                        # the launcher
    run_app(base=cfg)                # the launcher, cfg's settings filled in (`cifar-tui OPTIONS`)
    run_app(config=cfg)              # `cifar-tui train ...`: the dashboard, training cfg
    run_app(watch=RUN_DIR)           # follow a run another process writes
    run_app(compare=[DIR, DIR])      # the comparison screen
    run_app(start_screen=SCREEN)     # `cifar-tui sweep NAME`: the sweep screen, running the sweep

Screens open one another through typed messages (tui.messages) that the app
handles (tui.navigation, which CifarApp is).

The first frame must come fast, so nothing here imports torch: the engine's
model registry (which does) is imported by a thread worker after mount, while
the launcher is already on screen and usable.

Signals: ``run_app`` has the app catch SIGTERM, SIGHUP (an SSH session
dropping), SIGQUIT and SIGINT on its asyncio loop. The handler runs on the UI
thread between messages, so it may act like a key: a training run is asked to
stop at the next step (saved as interrupted, resumable), then the app exits
normally, which hands the terminal back (alternate screen left, mouse off),
with 128 + the signal's number, as a shell reports a process a signal ended.
"""
from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Callable

from textual import work
from textual.binding import Binding
from textual.message import Message

from engine.config import RunConfig, UserError, default_runs_dir
from engine.runs.layout import metrics_path
from engine.runs.status import EXIT_OK, EXIT_USAGE, RunStatus, exit_code

from tui.hangup import HangupWatch, hangup_safe_driver
from tui.messages import FollowedRunEnded, RunFinished, SweepFinished
from tui.navigation import Navigator
from tui.screens.confirm import TRAINED_HERE, ConfirmQuit
from tui.screens.help import HelpScreen
from tui.terminal_images import HALFBLOCK, ImageProbe
from tui.terminal_notify import TITLE, WORTH_A_WORD, end_text, escapes

# What ends a session from outside: kill/systemd, a dropped SSH connection, Ctrl-\, Ctrl-C from a shell's kill.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGINT") if hasattr(signal, n))


class ModelsImported(Message):
    """The model registry (and torch) finished importing in the background."""

    def __init__(self, models: dict[str, Any], error: str | None = None) -> None:
        super().__init__()
        self.models = models
        self.error = error


class CifarApp(Navigator[int]):
    """cifar-tui: pick a model, train it, watch it."""

    CSS_PATH = "app.tcss"
    TITLE = "cifar-tui"
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("f1", "help", "Help", show=False, priority=True),  # works in a text field, where ? types
        Binding("r", "runs", "Runs"),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True),
    ]

    def __init__(self, config: RunConfig | None = None, *, runs_dir: str | None = None, watch: str | None = None,
                 compare: list[str] | None = None, start_screen: Any = None, resume: str | None = None,
                 change: dict[str, Any] | None = None, base: RunConfig | None = None, notify: bool = True,
                 images: str | Callable[[], str] = HALFBLOCK) -> None:
        super().__init__(driver_class=hangup_safe_driver())
        self.start_screen = start_screen
        """A ready-made first screen (`cifar-tui sweep`, tests, screenshots); overrides config/watch/compare."""
        self.config = config
        self.runs_dir = runs_dir or (config.runs_dir if config is not None else default_runs_dir())
        self.base = base
        """The launcher's starting settings (`cifar-tui OPTIONS`)."""
        self.watch_dir = watch
        self.compare_dirs = compare
        self.resume_dir = resume
        """With config: continue this run directory instead of starting a new run."""
        self.resume_change = change or {}
        self.last_status: str | None = None
        self.sweep_exit: int | None = None
        """How the sweep this app ran ended, as `cifar-tui sweep --no-ui` exits (SweepFinished)."""
        self.last_sets_exit_code = config is not None
        """The last run that ended was started from the command line or resumed: its status is the exit code."""
        self.handle_signals = False
        """Catch STOP_SIGNALS (run_app sets it; Pilot tests leave the test process's handlers alone)."""
        self.stop_signal: int | None = None
        """The stop signal received, if any: the exit code becomes 128 + it."""
        self.started_at = time.perf_counter()
        self.first_frame_s: float | None = None
        self.torch_at_first_frame: bool | None = None
        self.registry: dict[str, Any] | None = None
        """Model name -> ModelSpec once the background import of the registry is done."""
        self.notify_ends = notify
        """Ring the bell and send a desktop notification when a run ends (--no-notify: not)."""
        self._announced: set[str] = set()
        self._images_from = images
        self.images = HALFBLOCK
        """How an image is shown large (tui.terminal_images: halfblock, kitty or sixel), set on Load."""

    def on_load(self) -> None:
        # Load comes before the driver starts reading stdin: the image probe's terminal answers are in by
        # now (it ran while the app was built and its CSS parsed). NO_COLOR keeps the shaded half blocks.
        chosen = self._images_from() if callable(self._images_from) else self._images_from
        self.images = HALFBLOCK if self.no_color else chosen
        # Load comes before the driver switches the terminal over: from here on a signal ends the
        # app through its normal exit, which restores the terminal.
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                loop.add_signal_handler(signum, self.on_stop_signal, int(signum))

    def on_mount(self) -> None:
        if self.start_screen is not None:
            self.push_screen(self.start_screen)
        elif self.config is not None:
            from tui.screens.dashboard import DashboardScreen

            screen = DashboardScreen.for_config(self.config, resume=self.resume_dir, change=self.resume_change)
            screen.sets_exit_code = True  # `cifar-tui train`: a script reads how the run ended
            self.push_screen(screen)
        elif self.watch_dir is not None:
            from tui.screens.dashboard import DashboardScreen

            self.push_screen(DashboardScreen.follow(self.watch_dir))
        elif self.compare_dirs:
            self._open_compare(self.compare_dirs)
        else:
            from tui.screens.launcher import LauncherScreen

            self.push_screen(LauncherScreen(runs_dir=self.runs_dir, base=self.base, models=self.registry))
        self.call_after_refresh(self._first_frame)

    def _first_frame(self) -> None:
        self.first_frame_s = time.perf_counter() - self.started_at
        gc.enable()  # run_app turned it off until now
        self.torch_at_first_frame = "torch" in sys.modules  # the benchmark checks the lazy import held
        # Only now, and after the screen's own work right after its first frame (the launcher mounts the rest of
        # its form): importing torch holds the GIL for long stretches and would delay both.
        self.call_after_refresh(self._load_registry)

    @work(thread=True, exclusive=True, group="registry", exit_on_error=False)
    def _load_registry(self) -> None:
        """Import torch and the model registry off the UI thread (seconds on a cold disk); then read the runs
        directory's listing, so that r opens the runs screen without reading thousands of runs first."""
        try:
            from tui.engine_import import import_engine

            import_engine()
            from engine.models.registry import MODELS
        except Exception as exc:  # noqa: BLE001 - a broken torch install must not kill the app
            self.post_message(ModelsImported({}, f"cannot load the models: {type(exc).__name__}: {exc}"))
            return
        self.post_message(ModelsImported(dict(MODELS)))
        from engine.runs.index import shared_index, warm

        try:
            warm(shared_index(self.runs_dir))
        except OSError:
            pass  # an unreadable runs directory: the runs screen says so when it is opened

    def on_models_imported(self, message: ModelsImported) -> None:
        from tui.screens.launcher import LauncherScreen, RegistryLoaded

        self.call_later(freeze_long_lived)  # torch and the registry are in: the app's long-lived objects are
        if message.error:
            self.notify(message.error, severity="error", timeout=15)
        models = self.registry = message.models
        if not models:
            return
        for screen in self.screen_stack:
            if isinstance(screen, LauncherScreen):
                screen.post_message(RegistryLoaded(models))

    # ------------------------------------------------------------ runs
    def on_run_finished(self, message: RunFinished) -> None:
        """A dashboard's run ended: its phase may set the exit code; exit now if a quit or signal asked for the stop."""
        self.last_status = message.phase
        self.last_sets_exit_code = message.sets_exit_code
        self.announce_end(message.phase, message.run_id)
        self.tell_questions(message.phase, TRAINED_HERE)
        if message.exit_app:
            self.exit(self.exit_code_for(message.phase))

    def on_sweep_finished(self, message: SweepFinished) -> None:
        """The sweep this app drives ended: its exit code is the app's; exit now if a quit or signal stopped it."""
        self.sweep_exit = message.exit_code
        if message.exit_app:
            self.exit(self.exit_code_for(None))

    def on_followed_run_ended(self, message: FollowedRunEnded) -> None:
        self.announce_end(message.phase, message.run_id)
        self.tell_questions(message.phase, message.run_id)

    def tell_questions(self, phase: str, about: str) -> None:
        """An open "stop it?" or "quit?" about a run that just ended would ask about nothing: tell it.
        ``about``: TRAINED_HERE, or the id of a followed run."""
        for screen in list(self.screen_stack):
            if isinstance(screen, ConfirmQuit) and about and screen.about == about:
                screen.run_ended(phase)

    def announce_end(self, phase: str, run_id: str) -> None:
        """The bell and a desktop notification (terminal_notify), once per run, for the ends worth a word."""
        if not self.notify_ends or phase not in WORTH_A_WORD or run_id in self._announced:
            return
        self._announced.add(run_id)
        self.bell()
        # Textual has no public way to write to the terminal (bell and copy_to_clipboard use the driver
        # too); the driver's write queues after the frame being drawn, so the sequence never splits one.
        driver = self._driver
        if driver is not None:
            driver.write(escapes(TITLE, end_text(phase, run_id)))

    def exit_code_for(self, status: str | None) -> int:
        """Process exit code: 0 completed, 130 interrupted, 2 bad input, 1 failed/diverged;
        128 + N when signal N stopped the run (or the idle app)."""
        if self.stop_signal is not None and status in (None, RunStatus.INTERRUPTED):
            return 128 + self.stop_signal
        if status is None and self.sweep_exit is not None:
            return self.sweep_exit
        if status is None or not self.last_sets_exit_code:
            return EXIT_OK  # the launcher: the user just looked around, or quit before training finished
        if status == "error":  # the dashboard's pseudo-status for bad input found when the run started
            return EXIT_USAGE
        return exit_code(status)

    def on_stop_signal(self, signum: int) -> None:
        """SIGTERM/SIGHUP/SIGQUIT/SIGINT, on the UI thread (via the loop): stop the run, save it, exit."""
        if self.stop_signal is not None:
            return  # already stopping: the run finishes its step and saves; a second signal changes nothing
        self.stop_signal = signum
        training, sweep = self.training_screen(), self.driving_sweep()
        if training is None and sweep is None:
            self.exit(self.exit_code_for(None))
            return
        if sweep is not None:  # the driver passes the signal on to every trial, as with --no-ui
            sweep.request_stop(signum, then_exit=training is None)
        if training is not None:
            training.request_stop(then_exit=True)
        what = "the run" if sweep is None else "every trial"
        self.notify(f"{signal.Signals(signum).name}: stopping, saving {what} (resumable), then quitting",
                    severity="warning", timeout=10)

    # ------------------------------------------------------------ keys
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(type(self.screen).__name__))

    def action_runs(self) -> None:
        from tui.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen(self.runs_dir))

    def _open_compare(self, dirs: list[str]) -> None:
        from tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(dirs, runs_dir=self.runs_dir))

    def action_quit_app(self) -> None:
        """Quit; while a run trains (or a sweep runs), ask first, then stop it cleanly (saved as interrupted)."""
        if isinstance(self.screen, ConfirmQuit):
            return
        training = self.training_screen()
        sweep = self.driving_sweep()
        if training is None and sweep is not None:
            self._quit_sweep(sweep)
            return
        if training is None:
            self.exit(self.exit_code_for(self.last_status))
            return

        def answer(yes: bool | None) -> None:
            if yes and not training.is_training:  # the run ended while the question was open
                self.exit(self.exit_code_for(self.last_status))
            elif yes:
                training.request_stop(then_exit=True)
                if sweep is not None:  # its trials save too; the app exits when the run has stopped
                    sweep.request_stop(signal.SIGINT)
                self.notify("stopping: saving the run, then quitting", timeout=10)

        self.push_screen(ConfirmQuit("A run is training. Stop it (saved as interrupted) and quit?",
                                     about=TRAINED_HERE), answer)

    def _quit_sweep(self, sweep: Any) -> None:
        """Quit while the sweep runs here: ask, then stop every trial (each saves its run) and exit once they have."""
        def answer(yes: bool | None) -> None:
            if yes and not sweep.drives:  # it ended while the question was open
                self.exit(self.exit_code_for(self.last_status))
            elif yes:
                sweep.request_stop(signal.SIGINT, then_exit=True)  # what Ctrl-C does to `cifar-tui sweep --no-ui`
                self.notify("stopping the sweep: each trial saves its run, then quitting", timeout=10)

        self.push_screen(ConfirmQuit("A sweep is running. Stop its trials (each saved, resumable: the same "
                                     "command continues) and quit?"), answer)


def check_terminal() -> None:
    """UserError (one line, exit 2) unless stdin, stdout and stderr are terminals.

    The app reads keys on stdin and Textual draws on stderr: with either redirected the screen stays
    blank (or the UI lands in a log file). A piped stdout means a script is reading: it wants --no-ui.
    """
    if os.environ.get("TERM") == "dumb":
        raise UserError("TERM=dumb: this terminal cannot draw the app; use --no-ui for headless runs, "
                        "or set TERM (e.g. TERM=xterm-256color)")
    missing = [name for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout), ("stderr", sys.stderr))
               if stream is None or not _isatty(stream)]
    if missing:
        what = (", ".join(missing[:-1]) + " and " + missing[-1] + " are") if len(missing) > 1 else missing[0] + " is"
        raise UserError(f"the app needs a terminal ({what} not a TTY); use --no-ui for headless runs")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or replaced streams
        return False


def freeze_long_lived() -> None:
    """Take every object alive now (textual, torch, the model registry: ~250k) out of the collector's walks.

    A full redraw allocates ~100k short-lived objects (segments, styles, strips); those bursts trigger
    collections, and the oldest generation's walked every long-lived object: ~100 ms each on a 2-core
    machine, on the UI thread, which shares the CPU with training. After ``gc.freeze`` a collection only
    walks what was made since. Measured: opening a confusion cell at 160x48 painted in ~300 ms before,
    ~150 ms after (benchmarks/inspect_cost.py). Garbage is collected first, so nothing dead is kept.
    """
    gc.collect()
    gc.freeze()


def run_app(config: RunConfig | None = None, *, runs_dir: str | None = None, watch: str | None = None,
            compare: list[str] | None = None, resume: str | None = None, change: dict[str, Any] | None = None,
            base: RunConfig | None = None, notify: bool = True, start_screen: Any = None) -> int:
    """Run the app until the user quits (or a stop signal comes); returns the process exit code.
    ``notify``: a bell and a desktop notification when a run ends (cifar-tui --no-notify: False).
    ``start_screen``: the first screen, ready-made (`cifar-tui sweep`: the sweep screen running the sweep)."""
    check_terminal()
    if runs_dir is not None and Path(runs_dir).exists() and not Path(runs_dir).is_dir():
        raise UserError(f"runs directory {runs_dir} is not a directory; pass --runs-dir DIR")
    if watch is not None and not metrics_path(watch).exists() and not Path(watch).is_dir():
        raise UserError(f"{watch} is not a run directory")
    # No cyclic garbage collection until the first frame: building the first screen makes a burst of objects
    # (widgets, styles, CSS rules) that sets off collections walking every live object, ~0.06 s of CPU on a
    # 2-core machine (the README's Performance target: the first frame within 0.5 s), and frees next to nothing.
    probe = ImageProbe()  # asks the terminal in a thread while the app is built (tui/terminal_images.py)
    gc.disable()
    try:
        app = CifarApp(config, runs_dir=runs_dir, watch=watch, compare=compare, resume=resume, change=change,
                       base=base, notify=notify, images=probe.result, start_screen=start_screen)
        app.handle_signals = True
        HangupWatch(app).start()  # daemon: it dies with the process, and outlives a run() stuck in shutdown
        code = app.run()
    finally:
        probe.result()  # never exit while its thread holds the terminal in cbreak mode
        gc.enable()
    if code is None:  # quit before a result was set, or the app crashed (return_code says which)
        return app.return_code or 0
    return int(code)
