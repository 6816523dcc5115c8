"""The help overlay (``?`` or F1): the keys of the screen it was opened on, then the app's own.

Each entry names the real key names it documents, so a test can check that every key listed
is bound on that screen (tests/tui/test_help_keys.py): the help cannot promise a key that does nothing.
"""
from __future__ import annotations

from typing import NamedTuple

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class Key(NamedTuple):
    shown: str
    """How the key reads in the help."""
    does: str
    keys: tuple[str, ...]
    """Textual's names of the keys (checked against the screen's bindings)."""


EVERYWHERE = [
    Key("? / F1", "this help (F1 also while typing in a text field)", ("question_mark", "f1")),
    Key("r", "saved runs (browse, compare, open)", ("r",)),
    Key("q / ctrl+q", "quit (asks first while a run is training; the run is saved); ctrl+q also while typing",
        ("q", "ctrl+q")),
    Key("ctrl+p", "command palette (themes, screenshot)", ("ctrl+p",)),
]
TYPING_NOTE = "In a text field, letters type: ? r q work once the focus leaves it (tab)."

SCREENS: dict[str, list[Key]] = {
    "LauncherScreen": [
        Key("tab / shift+tab", "next / previous field", ("tab", "shift+tab")),
        Key("enter", "open a choice list and pick (↑ ↓ move in it); on 'advanced': show every other setting",
            ("enter",)),
        Key("space", "toggle a switch", ("space",)),
        Key("ctrl+s / F5", "start training with these settings", ("ctrl+s", "f5")),
        Key("ctrl+y", "use the synthetic demo dataset (no download)", ("ctrl+y",)),
    ],
    "DashboardScreen": [
        Key("p", "pause / resume training; a run another process writes (watch, or opened from the runs list) "
            "is asked through its folder, or p says why it cannot be", ("p",)),
        Key("x", "stop (asks first): finish the step, save the run as interrupted (resumable); also a run "
            "another process writes", ("x",)),
        Key("n", "confusion matrix: counts <-> row-normalised %", ("n",)),
        Key("s", "sort the per-class table (class, latest, change, best)", ("s",)),
        Key("1-5", "small terminals: show loss, accuracy, classes, confusion, log", ("1", "2", "3", "4", "5")),
        Key("4, ↑ ↓ ← →, enter", "confusion matrix: move the cursor (it starts on the most confused pair), "
            "enter (or a click on the cursor) shows that cell's test images", ("4", "enter")),
        Key("e", "the most confident mistakes, and the most confused class pairs", ("e",)),
        Key("g", "training images per class; there a toggles the augmentation the model sees", ("g",)),
        Key("o", "classify your own images (a path to a PNG/JPEG or a folder): top-5 each", ("o",)),
        Key("f", "feature space: PCA of the penultimate features, one colour per class", ("f",)),
        Key("l", "start a linear probe on this run's frozen features (a run that has ended)", ("l",)),
        Key("escape", "back to the screen before, or the runs list after `cifar-tui watch RUN` (not while this "
            "app trains the run: x stops it)", ("escape",)),
    ],
    "ImagesScreen": [
        Key("↑ ↓ ← → pgup pgdn home end", "move among the images", ("up", "down", "left", "right")),
        Key("enter", "the image large, with its top-5 classes", ("enter",)),
        Key("escape", "back", ("escape",)),
    ],
    "MistakesScreen": [
        Key("1 / 2", "most confident mistakes (images) / most confused pairs (list)", ("1", "2")),
        Key("enter", "an image: large with its top-5; a pair: its images", ("enter",)),
        Key("escape", "back", ("escape",)),
    ],
    "SamplesScreen": [
        Key("a", "augmentation on/off: the images as a training step feeds them to the model", ("a",)),
        Key("space", "another random draw of the augmentation", ("space",)),
        Key("escape", "back", ("escape",)),
    ],
    "PredictScreen": [
        Key("enter", "in the path field: classify the image(s) there; on an image: its top-5", ("enter",)),
        Key("escape", "back", ("escape",)),
    ],
    "FeaturesScreen": [
        Key("← →", "narrow terminals: the previous / next run's scatter", ("left", "right")),
        Key("escape", "back", ("escape",)),
    ],
    "RunsScreen": [
        Key("↑ ↓ home end", "move; first / last run", ("up", "down", "home", "end")),
        Key("enter", "open the run's dashboard (live while it runs; the run this app trains: its own)", ("enter",)),
        Key("space / a", "select the run and move down / select every run shown", ("space", "a")),
        Key("c", "compare the selected runs (two or more)", ("c",)),
        Key("R", "resume the run (interrupted, stale, failed, diverged) where it stopped, live", ("R",)),
        Key("l", "a new run like this one: the launcher, filled with its settings", ("l",)),
        Key("S", "the sweep this run is a trial of (else the runs directory's sweeps)", ("S",)),
        Key("/", "filter as you type (name, model, #tag, note, lr=0.1); escape clears", ("slash",)),
        Key("s / 1-9, 0", "sort by the next column / by column n (again: reverse)",
            ("s", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0")),
        Key("v", "choose the columns: any setting (lr, batch size, aug, seed...); remembered", ("v",)),
        Key("e", "rename the run under the cursor", ("e",)),
        Key("n / t / d / w", "note, tags, delete (into the trash, asks), export: the selected runs the filter "
            "shows, else the cursor's", ("n", "t", "d", "w")),
        Key("u", "undo the last delete (the runs come back from the trash); again: the one before", ("u",)),
        Key("p / x", "a run another process trains: pause or resume / stop (asks first)", ("p", "x")),
        Key("r", "re-read the runs directory (also every 2 s)", ("r",)),
        Key("escape", "back", ("escape",)),
    ],
    "SweepScreen": [
        Key("↑ ↓", "move among the trials (best validation accuracy first)", ("up", "down")),
        Key("enter", "the trial's dashboard (live while it trains)", ("enter",)),
        Key("space", "select the trial and move down", ("space",)),
        Key("c", "compare the selected trials, else the best four", ("c",)),
        Key("p", "the scatter's next param (validation accuracy against it)", ("p",)),
        Key("q / ctrl+c", "quit; while the sweep runs here, stop it first (asks; each trial saved, resumable)",
            ("q", "ctrl+c")),
        Key("escape", "unselect, else back (the runs, while the sweep runs here)", ("escape",)),
    ],
    "CompareScreen": [
        Key("1-6", "curves, metrics, config, per class, confusion B − A, seed groups",
            ("1", "2", "3", "4", "5", "6")),
        Key("v / t / l / m", "curves of val acc / test acc / loss / the next metric", ("v", "t", "l", "m")),
        Key("w", "x axis: epoch <-> wall time", ("w",)),
        Key("y", "the loss on a log scale (on / off)", ("y",)),
        Key("a", "config: only the fields that differ <-> all", ("a",)),
        Key("x", "export the compared runs' metrics", ("x",)),
        Key("f", "the runs' feature spaces (PCA scatter) side by side", ("f",)),
        Key("ctrl+r", "re-read the runs", ("ctrl+r",)),
        Key("escape", "back to the runs", ("escape",)),
    ],
}
TITLES = {"LauncherScreen": "launcher", "DashboardScreen": "dashboard", "RunsScreen": "runs",
          "CompareScreen": "compare", "SweepScreen": "sweep", "ImagesScreen": "images", "MistakesScreen": "mistakes",
          "SamplesScreen": "training images", "PredictScreen": "predict", "FeaturesScreen": "feature space"}


def keys_for(screen_name: str) -> list[tuple[str, list[Key]]]:
    """(section title, keys): the screen's own first, then the app's that the screen does not take over."""
    own = SCREENS.get(screen_name, [])
    taken = {k for key in own for k in key.keys}
    everywhere = [key for key in EVERYWHERE if not taken & set(key.keys)]
    return ([(TITLES[screen_name], own)] if own else []) + [("everywhere", everywhere)]


def help_table(screen_name: str) -> Table:
    """The keys as a rich table, one section per group."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for title, keys in keys_for(screen_name):
        table.add_row(Text(title, style="bold underline"), "")
        for key in keys:
            table.add_row(key.shown, key.does)
        table.add_row("", "")
    table.add_row("", Text(TYPING_NOTE, style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    """A modal listing the keys of the screen below; any of escape, ?, F1, q closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("f1", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, screen_name: str = "") -> None:
        super().__init__()
        self.screen_name = screen_name

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "keys"
            box.border_subtitle = "escape closes"
            yield Static(help_table(self.screen_name))

    def action_close(self) -> None:
        self.dismiss(None)
