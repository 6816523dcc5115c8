"""Yes/no modals that guard a running training: quitting, and stopping the run.

The safe answer is the default: the "keep training" button has focus, so
Enter keeps training, as do n and Escape; only y (or clicking the other
button) stops. A stray key on a run that has trained for hours loses nothing.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


TRAINED_HERE = "the run this app trains"
"""What a question guards when it is the run this app trains: its id may not be known yet (the run is
still starting) and its end (RunFinished) is the app's one trained run's end."""


def ended_note(phase: str, action: str = "stop") -> str:
    """The word for a stop (or pause) asked of a run that has already ended."""
    return f"the run already ended ({phase}): nothing to {action}"


class ConfirmQuit(ModalScreen[bool]):
    """Asks before quitting while a run trains; y confirms, n/escape/enter keep training."""

    YES_LABEL = "Stop and quit (y)"
    NO_LABEL = "Keep training (n)"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, message: str, about: str = "") -> None:
        super().__init__()
        self.message = message
        self.about = about
        """The run this question guards: TRAINED_HERE, a followed run's id, or '' (none). The app tells
        the question when that run ends."""

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.message, id="confirm-text")
            with Horizontal(id="confirm-buttons"):
                yield Button(self.YES_LABEL, id="yes", variant="error")
                yield Button(self.NO_LABEL, id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # Enter answers "keep training"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def run_ended(self, phase: str) -> None:
        """The guarded run ended while the question was open: there is nothing left to stop, so it
        becomes a plain quit (y still quits, as the user asked; n stays to read the results)."""
        self.restate(f"The run has ended ({phase}): nothing to stop. Quit?", "Quit (y)", "Stay (n)")

    def restate(self, text: str, yes_label: str, no_label: str) -> None:
        self.query_one("#confirm-text", Static).update(text)
        yes = self.query_one("#yes", Button)
        yes.label, yes.variant = yes_label, "default"
        self.query_one("#no", Button).label = no_label


class ConfirmStop(ConfirmQuit):
    """Asks before `x` stops a run (the app stays open); same keys, same safe default."""

    YES_LABEL = "Stop (y)"

    def run_ended(self, phase: str) -> None:
        """Nothing is left to stop: the question goes, with a word on why; under another screen (help)
        it cannot go, so it says so instead."""
        if self.app.screen is self:
            self.dismiss(False)
            self.app.notify(ended_note(phase), timeout=4)
        else:
            self.restate(f"The run has ended ({phase}): nothing to stop.", "Close (y)", "Close (n)")
