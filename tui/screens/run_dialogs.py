"""Small modal dialogs of the runs screen: one line of text, a yes/no, a choice from a list.

Both dismiss with a value (``push_screen(dialog, callback)``), so the caller
does the store write and the dialog stays a pure input device.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, OptionList

from engine.config import UserError

class TextPrompt(ModalScreen[str | None]):
    """Ask for one line; Enter returns it, Escape returns None."""

    CSS_PATH = "run_dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", hint: str = "", placeholder: str = ""):
        super().__init__()
        self.title_text, self.value, self.hint, self.placeholder = title, value, hint, placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Label(self.hint or "Enter to save, Escape to cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; only `y` or the Delete button confirms (Enter does not, by design)."""

    CSS_PATH = "run_dialogs.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, body: str, yes_label: str = "Delete"):
        super().__init__()
        self.title_text, self.body, self.yes_label = title, body, yes_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Label(self.body, classes="body")
            yield Label("y confirms, n or Escape keeps everything", classes="hint")
            with Horizontal():
                yield Button("Keep", id="no")
                yield Button(self.yes_label, variant="error", id="yes")

    def on_mount(self) -> None:
        # Focus on the safe button: a stray Enter keeps the runs.
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ChoicePrompt(ModalScreen[str | None]):
    """Pick one of a few names: Enter (or a click) returns it, Escape returns None."""

    CSS_PATH = "run_dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: Sequence[str], hint: str = ""):
        super().__init__()
        self.title_text, self.choices, self.hint = title, list(choices), hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield OptionList(*self.choices, id="choice-list")
            yield Label(self.hint or "Enter opens, Escape cancels", classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


def prompt_export(screen: Screen, run_dirs: Sequence[Path], stem: str = "runs-export") -> None:
    """Ask for a file name, then export run_dirs there (format from the extension)."""
    default = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.csv"

    def done(path: str | None) -> None:
        if not path:
            return
        from engine.analysis.export import export_runs, format_for

        target = Path(path).expanduser()
        try:
            export_runs(list(run_dirs), format_for(target), target)
        except (OSError, UserError) as exc:
            screen.notify(f"export failed: {exc}", severity="error")
            return
        # Absolute: a name typed without a folder lands where the app was started, which few remember.
        screen.notify(f"exported {len(run_dirs)} run(s) to {target.absolute()}", timeout=8)

    hint = (f"A .json name writes JSON, anything else CSV (one row per epoch). A name without a folder "
            f"is saved in {Path.cwd()}/.")
    screen.app.push_screen(TextPrompt(f"Export {len(run_dirs)} run(s) to", default, hint), done)
