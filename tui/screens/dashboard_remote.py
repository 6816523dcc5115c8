"""p and x on a run another process writes (`cifar-tui watch RUN`, or a running run opened from the runs
screen): asked of that process through the run's folder (engine.runs.remote), which it reads about once a
second, and acted on as if its own keys were pressed.

Where it cannot be asked (another host, another user's folder, a torchrun job for a pause), the key says why
in one line. The checks and the request read and write the run's files, so they run in a worker thread;
the stop asks first, with the dialog of a run this app trains.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from engine.config import UserError

from tui.state.run_phase import Phase
from tui.screens.confirm import ConfirmStop, ended_note

if TYPE_CHECKING:
    from tui.screens.dashboard import DashboardScreen

ASKED = {"pause": "asked the run to pause (its process acts within about a second)",
         "resume": "asked the run to resume", "stop": "asked the run to stop; it is saved as interrupted"}


def pause(screen: DashboardScreen) -> None:
    """p: pause the followed run, or resume it when its progress says it is paused."""
    _ask(screen, "resume" if screen.state.phase is Phase.PAUSED else "pause")


def stop(screen: DashboardScreen, question: str) -> None:
    """x: ``question`` (the stop dialog of an own run) first, once the run is known to accept a stop from here."""
    _ask(screen, "stop", question)


def _ask(screen: DashboardScreen, action: str, question: str | None = None) -> None:
    run_dir = screen.shown_run_dir()
    if run_dir is not None:
        screen.run_worker(partial(_request, screen, run_dir, action, question), thread=True, group="remote",
                          exit_on_error=False)


def _request(screen: DashboardScreen, run_dir: str, action: str, question: str | None) -> None:
    """Worker thread: why not (one line), else the question (stop) or the request itself."""
    from engine.runs.remote import controllable, request

    call = screen.app.call_from_thread
    why = controllable(run_dir, action)
    if why is not None:
        call(screen.notify, why, severity="warning", timeout=6)
    elif question is not None:
        call(_confirm, screen, run_dir, action, question)
    else:
        try:
            request(run_dir, action)
        except UserError as exc:
            call(screen.notify, str(exc), severity="error", timeout=8)
            return
        call(screen.show_phase_change, "info", ASKED[action])


def _confirm(screen: DashboardScreen, run_dir: str, action: str, question: str) -> None:
    def answer(yes: bool | None) -> None:
        if yes:
            screen.run_worker(partial(_request, screen, run_dir, action, None), thread=True, group="remote",
                              exit_on_error=False)

    if not screen.follows_live:  # it ended while we checked: nothing to ask about
        screen.notify(ended_note(screen.state.phase, action), timeout=4)
        return
    screen.app.push_screen(ConfirmStop(question, about=screen.state.run_id), answer)
