"""Runs screen keys that act on a run's life: p and x on a run another process trains, u to undo a delete.

p pauses or resumes and x stops a run started elsewhere (``--no-ui``, torchrun, another app) through
its directory (engine.runs.remote): the writer obeys within about a second, as on its own keys.
Where it cannot be asked (another host, another user, a torchrun job asked to pause) one line says
why. The run this app trains is controlled on its own dashboard, which knows it is pausing.

A delete moves runs into the trash (engine.runs.trash); u brings back the runs of the newest delete
done in this app, then the one before. The list lives as long as the process: the app is the unit
of "undo", and the trash itself keeps every deleted run until `cifar-tui runs --empty-trash`.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from engine.config import UserError, default_runs_dir
from engine.runs.files import read_json
from engine.runs.index import RunEntry
from engine.runs.liveness import LOCK_FILE
from engine.runs.progress import read_progress
from engine.runs.remote import controllable, request
from engine.runs.status import RunStatus
from engine.runs.trash import restore_run

from tui.screens.confirm import ConfirmStop

if TYPE_CHECKING:
    from tui.screens.runs import RunsScreen

_DELETED: dict[str, list[list[str]]] = {}
"""Resolved runs directory -> the trash names of each delete done in this app, oldest first."""


def runs_dir_flag(runs_dir: str) -> str:
    """' --runs-dir DIR' where a command typed elsewhere would not find these runs by default, else ''."""
    return "" if Path(runs_dir) == Path(default_runs_dir()) else f" --runs-dir {runs_dir}"


def offered(e: RunEntry) -> bool:
    """p and x are offered on a running run (where it cannot be asked, they say why)."""
    return e.status is RunStatus.RUNNING


def trained_here(run_dir: Path) -> bool:
    """This process writes the run (its lock names us): the dashboard controls it, not control.json."""
    try:
        owner = read_json(run_dir / LOCK_FILE)
    except (OSError, ValueError):
        return False
    return isinstance(owner, dict) and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname()


def _askable(screen: RunsScreen, e: RunEntry, action: str) -> bool:
    """Whether the run can be asked to ``action`` from here; if not, one line says why."""
    if trained_here(e.info.path):
        screen.notify(f"{e.name} trains in this app: enter opens its dashboard, where p pauses and x stops it")
        return False
    why = controllable(e.info.path, action)
    if why:
        screen.notify(why, severity="warning")
    return why is None


def pause(screen: RunsScreen) -> None:
    """p: pause the run under the cursor, or resume it when its progress.json says it is paused."""
    e = screen.current_entry()
    if e is None:
        return
    live = screen.live.get(e.info.run_id) or read_progress(e.info.path) or {}
    action = "resume" if live.get("paused") else "pause"
    if _askable(screen, e, action):
        _ask(screen, e, action)


def stop(screen: RunsScreen) -> None:
    """x: ask first, as the dashboard does (Enter, n and Escape keep it training)."""
    e = screen.current_entry()
    if e is None or not _askable(screen, e, "stop"):
        return

    def answer(yes: bool | None) -> None:
        if yes:
            _ask(screen, e, "stop")

    question = (f"Stop {e.name}? Another process trains it: it finishes its step and is saved as interrupted, "
                f"and can be resumed (R on this screen, or cifar-tui --resume {e.info.run_id}"
                f"{runs_dir_flag(screen.runs_dir)}).")
    screen.app.push_screen(ConfirmStop(question), answer)


def _ask(screen: RunsScreen, e: RunEntry, action: str) -> None:
    try:
        request(e.info.path, action)
    except UserError as exc:
        screen.notify(str(exc), severity="error")
        return
    done = {"pause": "pauses", "resume": "goes on", "stop": "saves and stops"}[action]
    screen.notify(f"asked {e.name} to {action}: it {done} within about a second", timeout=4)
    screen.scan_in_background()


def why_not(screen: RunsScreen, action: str) -> None:
    """p or x on a run that is not running: what they are for (x exported runs before: say where that went)."""
    e = screen.current_entry()
    if e is None:
        return
    export = " (w exports)" if action == "stop" else ""
    screen.notify(f"{e.name} is {e.status.value}: p pauses and x stops a run while it trains{export}",
                  severity="warning")


# ---------------------------------------------------------------------------------------------- undo

def _key(runs_dir: str) -> str:
    return str(Path(runs_dir).resolve())


def remember_deleted(runs_dir: str, trashed: list[Path]) -> None:
    """One delete's runs, where the trash keeps them, for u."""
    if trashed:
        _DELETED.setdefault(_key(runs_dir), []).append([p.name for p in trashed])


def can_undo(runs_dir: str) -> bool:
    return bool(_DELETED.get(_key(runs_dir)))


def undo(screen: RunsScreen) -> None:
    """u: bring back the runs of the newest delete done in this app."""
    batches = _DELETED.get(_key(screen.runs_dir))
    if not batches:
        nothing_to_undo(screen)
        return
    restored = 0
    for name in batches.pop():
        try:
            restore_run(screen.runs_dir, name)
            restored += 1
        except UserError as exc:
            screen.notify(str(exc), severity="error")
    screen.refresh_runs()
    more = " (u again: the delete before)" if batches else ""
    screen.notify(f"restored {restored} run{'' if restored == 1 else 's'} from the trash{more}")


def nothing_to_undo(screen: RunsScreen) -> None:
    flag = runs_dir_flag(screen.runs_dir)
    screen.notify(f"nothing deleted here to undo; 'cifar-tui runs --trash{flag}' lists the trash, "
                  f"'cifar-tui runs --restore RUN{flag}' brings a run back", severity="warning")
