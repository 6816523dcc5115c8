"""What the runs screen's keys do to runs: open, resume, compare, rename, note, tags, delete (to the trash), export.

Open, resume and compare post a message the app answers (tui.messages): it holds the dashboards
and knows whether a run already trains here.

A key that can take several runs acts on the selected runs the filter shows (else on the run
under the cursor), never on a selected run the filter hides; it says how many it left out.
Rename names one run: the one under the cursor.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from engine.config import RunConfig, UserError
from engine.runs import delete_run, set_name, set_note, set_tags, writer_alive
from engine.runs.index import RunEntry
from engine.runs.meta import parse_tags
from engine.runs.trash import trash_dir
from engine.runs.status import RunStatus

from tui.messages import OpenCompare, OpenLauncher, OpenRun, OpenSweep, ResumeRun
from tui.screens.run_dialogs import ChoicePrompt, ConfirmDialog, TextPrompt, prompt_export
from tui.screens.runs_control import remember_deleted, runs_dir_flag

if TYPE_CHECKING:
    from tui.screens.runs import RunsScreen


def runs_word(n: int) -> str:
    return f"{n} run{'' if n == 1 else 's'}"


def hidden_note(hidden: int) -> str:
    """'2 selected runs hidden by the filter are left out'."""
    return f"{hidden} selected run{' is' if hidden == 1 else 's are'} hidden by the filter and left out"


def pick(screen: RunsScreen, what: str) -> list[RunEntry]:
    """The runs a key acts on, with a notice when the filter hides part (or all) of the selection."""
    runs, hidden = screen.targets(), screen.hidden_selected()
    if hidden and not runs:
        screen.notify(f"the {runs_word(hidden)} selected {'is' if hidden == 1 else 'are'} hidden by the filter: "
                      f"nothing to {what} (escape clears the filter)", severity="warning")
    elif hidden:
        screen.notify(f"{what}: {runs_word(len(runs))} shown; {hidden_note(hidden)}", severity="warning")
    return runs


def readable(screen: RunsScreen, runs: list[RunEntry], what: str) -> list[RunEntry]:
    """runs minus the unreadable ones, saying so."""
    good = [e for e in runs if not e.info.error]
    if len(good) < len(runs):
        screen.notify(f"{what}: left out {runs_word(len(runs) - len(good))} unreadable "
                      "(delete it or fix its files)", severity="warning")
    return good


def resume(screen: RunsScreen) -> None:
    """Continue the run under the cursor in place, on the live dashboard (earlier epochs drawn)."""
    e = screen.current_entry()
    if e is None or not e.status.resumable:
        return
    screen.post_message(ResumeRun(str(e.info.path)))


# What belongs to one run, not to its settings: a new run gets its own name, and is saved where this
# list reads (the run may have been moved here from elsewhere).
BOOKKEEPING = ("runs_dir", "name")


def like_config(config: dict[str, Any], runs_dir: str) -> RunConfig:
    """A run's recorded settings as the base of a new run."""
    settings = {k: v for k, v in config.items() if k not in BOOKKEEPING}
    return RunConfig.from_dict({**settings, "runs_dir": runs_dir})


def start_like(screen: RunsScreen) -> None:
    """The launcher, filled with the settings of the run under the cursor (its config.json)."""
    e = screen.current_entry()
    if e is None:
        return
    if not e.info.config:
        screen.notify(f"{e.info.run_id} has no readable config.json: nothing to start from", severity="error")
        return
    try:
        base = like_config(e.info.config, screen.runs_dir)
    except (TypeError, ValueError) as exc:  # a config.json written by hand, or by another version
        screen.notify(f"{e.info.run_id}: cannot read its settings: {exc}", severity="error")
        return
    screen.post_message(OpenLauncher(screen.runs_dir, base))


def open_run(screen: RunsScreen) -> None:
    e = screen.current_entry()
    if e is None:
        return
    if e.status is RunStatus.STARTING:
        screen.notify(f"{e.info.run_id} is starting; open it again in a moment")
        return
    if e.info.error:
        screen.notify(f"{e.info.run_id} is unreadable: {e.info.error}", severity="error")
        return
    screen.post_message(OpenRun(str(e.info.path)))


def compare(screen: RunsScreen) -> None:
    runs = [e for e in pick(screen, "compare") if e.info.run_id in screen.selected]
    runs = readable(screen, runs, "compare")
    if len(runs) < 2:
        screen.notify(f"select two or more runs with space to compare ({len(runs)} selected and shown)",
                      severity="warning")
        return
    screen.post_message(OpenCompare([str(e.info.path) for e in runs], runs_dir=screen.runs_dir))


def open_sweep(screen: RunsScreen) -> None:
    """S: the sweep the run under the cursor is a trial of; else the runs directory's sweep, or a choice of them."""
    from engine.sweeps.storage import list_sweep_folders
    from engine.sweeps.trial import sweep_of

    e = screen.current_entry()
    name = sweep_of(e.info.config, e.meta.tags) if e is not None else None
    if name is not None:
        screen.post_message(OpenSweep(screen.runs_dir, name))
        return
    names = [folder.name for folder in list_sweep_folders(screen.runs_dir)]
    if not names:
        screen.notify(f"no sweeps in {screen.runs_dir} yet; start one with 'cifar-tui sweep NAME --param FIELD=a,b'",
                      severity="warning")
    elif len(names) == 1:
        screen.post_message(OpenSweep(screen.runs_dir, names[0]))
    else:
        def chosen(name: str | None) -> None:
            if name is not None:
                screen.post_message(OpenSweep(screen.runs_dir, name))

        screen.app.push_screen(ChoicePrompt("Open a sweep", names, "This run is no trial of a sweep. Enter "
                                                                   "opens the sweep chosen, Escape cancels."), chosen)


def export(screen: RunsScreen) -> None:
    runs = readable(screen, pick(screen, "export"), "export")
    if runs:
        prompt_export(screen, [e.info.path for e in runs])


def _prompt(screen: RunsScreen, title: str, runs: list[RunEntry], value: str, hint: str,
            apply: Callable[[RunEntry, str], Any]) -> None:
    """Ask for one line, then apply it to every run of runs (each failure said, the rest still saved)."""
    who = runs[0].info.run_id if len(runs) == 1 else runs_word(len(runs))

    def done(text: str | None) -> None:
        if text is None:
            return
        saved = 0
        for e in runs:
            try:
                apply(e, text)
                saved += 1
            except (OSError, UserError) as exc:
                screen.notify(f"{e.name}: not saved: {exc}", severity="error")
        screen.refresh_runs()
        if len(runs) > 1:
            screen.notify(f"{title.lower()} saved on {runs_word(saved)}")

    screen.app.push_screen(TextPrompt(f"{title} — {who}", value, hint), done)


def rename(screen: RunsScreen) -> None:
    """The display name of the run under the cursor: a name tells one run apart, so it is never given to many."""
    e = screen.current_entry()
    if e is None or not readable(screen, [e], "rename"):
        return
    _prompt(screen, "Display name", [e], e.meta.name or "",
            "Enter saves; empty clears. The run id and folder never change.",
            lambda r, text: set_name(r.info.path, text))


def note(screen: RunsScreen) -> None:
    runs = readable(screen, pick(screen, "note"), "note")
    if not runs:
        return
    notes = {e.meta.note for e in runs}
    value = notes.pop() if len(notes) == 1 else ""
    hint = "One line; Enter saves, empty clears."
    if len(runs) > 1:
        hint += f" Replaces the note of all {len(runs)} runs" + (" (their notes differ)." if len(notes) else ".")
    _prompt(screen, "Note", runs, value, hint, lambda r, text: set_note(r.info.path, text))


def shared_tags(runs: list[RunEntry]) -> list[str]:
    """The tags every run has, in the first run's order."""
    return [t for t in runs[0].meta.tags if all(t in e.meta.tags for e in runs[1:])]


def retag(own: list[str], shared: list[str], new: list[str]) -> list[str]:
    """A run's tags after the shared tags became new: its other tags stay."""
    return [t for t in own if t not in shared or t in new] + [t for t in new if t not in own]


def tags(screen: RunsScreen) -> None:
    runs = readable(screen, pick(screen, "tag"), "tag")
    if not runs:
        return
    if len(runs) == 1:
        _prompt(screen, "Tags", runs, " ".join(runs[0].meta.tags), "Separated by spaces or commas; filter with /#tag.",
                lambda r, text: set_tags(r.info.path, text))
        return
    shared = shared_tags(runs)
    hint = (f"The tags the {len(runs)} runs share{' (none yet)' if not shared else ''}: adding or removing one "
            "changes every run; their other tags stay. Filter with /#tag.")
    _prompt(screen, "Tags", runs, " ".join(shared), hint,
            lambda r, text: set_tags(r.info.path, retag(r.meta.tags, shared, parse_tags(text))))


def _names(screen: RunsScreen, runs: list[RunEntry], most: int = 5) -> str:
    """One run a line, with what tells it apart as the table does: a list to check before deleting."""
    lines = [f"  {e.name}  {screen.apart.get(e.info.run_id, '')}".rstrip() for e in runs[:most]]
    if len(runs) > most:
        lines.append(f"  and {len(runs) - most} more")
    return "\n".join(lines)


def delete(screen: RunsScreen) -> None:
    """Move the runs into the trash, after asking; u brings them back."""
    runs, hidden = screen.targets(), screen.hidden_selected()
    if not runs:
        if hidden:
            pick(screen, "delete")  # says why nothing happens
        return
    live = [e for e in runs if writer_alive(e.info.path)]
    if live:
        screen.notify(f"{live[0].name} is running; stop it (x) before deleting it", severity="error")
        return

    def done(yes: bool | None) -> None:
        if yes:
            _trash(screen, runs)

    what = "Their folders move" if len(runs) > 1 else "Its folder moves"
    body = (f"{_names(screen, runs)}\n{what} to the trash ({trash_dir(screen.runs_dir)}/): "
            f"u undoes the delete; 'cifar-tui runs --restore last{runs_dir_flag(screen.runs_dir)}' brings a run back "
            "later.")
    if hidden:
        body += f"\n{hidden_note(hidden)}: not deleted."
    screen.app.push_screen(ConfirmDialog(f"Delete {runs_word(len(runs))}?", body), done)


def _trash(screen: RunsScreen, runs: list[RunEntry]) -> None:
    moved = []
    for e in runs:
        try:
            moved.append(delete_run(e.info.path, screen.runs_dir))
        except (OSError, UserError) as exc:
            screen.notify(f"{e.name}: {exc}", severity="error")
    remember_deleted(screen.runs_dir, moved)
    screen.refresh_runs()
    if moved:
        screen.notify(f"moved {runs_word(len(moved))} to the trash: u undoes it", timeout=8)
