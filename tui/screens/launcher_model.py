"""The launcher's model field: any name ``--model`` takes, typed, and checked off the UI thread.

A registry name, a torchvision classifier name, ``timm/NAME``, ``FILE.py:Name`` or ``package.module:Name``:
the field is text, with the registry's names as suggestions (right arrow takes one). Checking a name can
import the user's code, build the model and run one batch through it, seconds on a small machine, so it
runs in a thread worker once typing pauses (DEBOUNCE), one check at a time, and a result for a name no
longer in the field is dropped by the screen. A bad name comes back as the one line of its UserError.
"""
from __future__ import annotations

import threading
from typing import Any, Iterable, Mapping

from textual import work
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.timer import Timer
from textual.widgets import Input

from engine.config import RunConfig, UserError

from tui.screens.launcher_form import count_info, device_description

DEBOUNCE = 0.35
"""Seconds of no typing before a check starts: each keystroke of a path would otherwise build a model."""
PLACEHOLDER = "name, timm/NAME, file.py:Name or pkg.mod:Name"
# Thread workers cannot be interrupted: an exclusive worker only stops the next from being awaited, so
# checks still running when a newer one starts would build models side by side on a 2-core machine.
_ONE_AT_A_TIME = threading.Lock()


class ModelChecked(Message):
    """What a check found for ``model`` (with ``head``): the info panel's lines, or the one-line error."""

    def __init__(self, model: str, head: str | None, info: dict[str, str], error: str | None = None,
                 description: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.head = head
        self.info = info
        self.error = error
        self.description = description

    def is_for(self, model: str, head: str | None) -> bool:
        return (self.model, self.head) == (model, head)


class ModelInput(Input):
    """The model field. ``check_soon(config)`` checks the config's model once typing pauses; the result
    bubbles to the screen as ModelChecked."""

    def __init__(self, value: str, **kwargs: object) -> None:
        super().__init__(value, placeholder=PLACEHOLDER, compact=True, id="model", **kwargs)  # type: ignore[arg-type]
        self._pending: Timer | None = None

    def suggest(self, names: Iterable[str]) -> None:
        self.suggester = SuggestFromList(sorted(names), case_sensitive=False)

    def check_soon(self, config: RunConfig) -> None:
        if self._pending is not None:
            self._pending.stop()
        self._pending = self.set_timer(DEBOUNCE, lambda: self._check(config))

    @work(thread=True, exclusive=True, group="model-check", exit_on_error=False)
    def _check(self, config: RunConfig) -> None:
        self.post_message(check_model(config))  # thread-safe; never waits for the UI


def check_model(config: RunConfig) -> ModelChecked:
    """Resolve, build and count the config's model. Imports torch and maybe user code: call it from a worker."""
    from tui.engine_import import import_engine

    with _ONE_AT_A_TIME:
        import_engine()  # never import torch beside another worker doing the same
        from engine.models.registry import MODELS, get_spec

        try:
            spec = get_spec(config.model, config.head)
            if config.model not in MODELS:  # the registry's models fit their datasets; outside code is run once
                from engine.models.fit import check_input_size

                check_input_size(config)
        except UserError as exc:
            error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return ModelChecked(config.model, config.head, failed_info(config), error)
        return ModelChecked(config.model, config.head, count_info(config), description=spec.description)


def failed_info(config: RunConfig) -> dict[str, str]:
    return {"params": "-", "input": "-", "device": device_description(config.device)}


def start_problem(config: RunConfig, models: Mapping[str, Any], checked: ModelChecked | None) -> str | None:
    """Why Start must wait for the model: its check failed, or has not answered yet for a name outside the
    registry (which only a build can vouch for)."""
    if checked is not None and checked.is_for(config.model, config.head):
        return checked.error
    if config.model in models and config.head is None:
        return None
    return f"model: {config.model} is still being checked; start again in a moment"
