"""What the dashboard's worker threads post to it: engine events, a coalesced step, a followed run's poll,
and a run that could not start. (What the dashboard tells the app is in tui.messages.)"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

from engine.events import Event

if TYPE_CHECKING:
    from engine.runs.follow import FollowUpdate


class EngineEvent(Message):
    """An engine event that must not be dropped (RunStarted, EpochDone, Log, RunEnded), or a phase's progress."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class StepTick(Message):
    """A newer StepDone waits in the screen's slot (coalesced: at most one in flight)."""


class FollowUpdateMessage(Message):
    """One poll of a followed run, with the steps.jsonl points new since the last poll."""

    def __init__(self, update: FollowUpdate, steps: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.update = update
        self.steps = steps or []


class StartError(Message):
    """The run could not start: bad input found before the run directory existed (nothing saved)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
