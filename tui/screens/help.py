"""The help overlay (``?``): every key of every screen, closed with escape, ? or q."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: dict[str, list[tuple[str, str]]] = {
    "everywhere": [
        ("?", "this help"),
        ("r", "saved runs (browse, compare, open)"),
        ("q / ctrl+q", "quit (asks first while a run is training; the run is saved)"),
        ("ctrl+p", "command palette (themes, screenshot)"),
    ],
    "launcher": [
        ("tab / shift+tab", "next / previous field"),
        ("↑ ↓ enter", "open and pick a choice; space toggles a switch"),
        ("ctrl+s or F5", "start training with these settings"),
        ("ctrl+y", "use the synthetic demo dataset (no download)"),
        ("preset", "picking a preset fills the form with its settings"),
    ],
    "dashboard": [
        ("p", "pause / resume training"),
        ("x", "stop (asks first): finish the step, save the run as interrupted (resumable)"),
        ("n", "confusion matrix: counts <-> row-normalised %"),
        ("s", "sort the per-class table (class, latest, change, best)"),
        ("1-5", "small terminals: show loss, accuracy, classes, confusion, log"),
        ("← →", "small terminals: previous / next panel (when the tabs have focus)"),
        ("escape", "back (when no run is training here)"),
    ],
    "runs": [
        ("↑ ↓ enter", "move; open the run's dashboard (live while it runs)"),
        ("space / a", "select the run / every run shown"),
        ("c", "compare the selected runs (two or more)"),
        ("u", "resume the run (interrupted, stale, failed): train on, live, where it stopped"),
        ("/", "filter by typing (name, model, #tag, note...); escape clears"),
        ("s or 1-9, 0", "sort by the next column / by column n (again: reverse)"),
        ("e / n / t", "rename / note / tags"),
        ("d", "delete the selected runs (asks first)"),
        ("x", "export per-epoch metrics (csv or json)"),
        ("r", "re-read the runs directory (also automatic)"),
    ],
    "compare": [
        ("1-6", "curves, metrics, config, per class, confusion B − A, seed groups"),
        ("v / t / l / m", "curves of val acc / test acc / loss / the next metric"),
        ("w", "x axis: epoch <-> wall time"),
        ("a", "config: only the fields that differ <-> all"),
        ("x", "export the compared runs' metrics"),
        ("escape", "back to the runs"),
    ],
}


def help_table() -> Table:
    """Every key as a rich table, one section per screen."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for section, keys in KEYS.items():
        table.add_row(Text(section, style="bold underline"), "")
        for key, what in keys:
            table.add_row(key, what)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    """A modal listing the keys; any of escape, ?, q closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "keys"
            box.border_subtitle = "escape closes"
            yield Static(help_table())

    def action_close(self) -> None:
        self.dismiss(None)
