"""The launcher's preset: the one the command line gave shows as picked, a picked one fills every field,
and a dataset chosen after it gets a validation split that fits.

`cifar-tui --preset NAME --dataset synthetic` builds a config from the preset with the flags over it;
the form holds those values, so the preset list names NAME (and the info panel its study) without
applying it again, which would undo the flags. A preset's split is sized for its dataset (10,000
of CIFAR's 50,000): on a smaller one it leaves no training images and Start would be refused, so
the split goes back to the new dataset's default, said under the field.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import Checkbox, Input, Select, Static

from engine.config import TRAIN_IMAGES, RunConfig

from tui.screens.launcher_fields import format_value
from tui.screens.launcher_form import parse_number, preset_fields
from tui.screens.launcher_rows import NO_PRESET

if TYPE_CHECKING:
    from tui.screens.launcher import LauncherScreen


def given(base: RunConfig, presets: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The preset the base config came from (the command line's --preset) and its metadata, if it is listed."""
    if base.preset and base.preset in presets:
        return base.preset, dict(base.extra or {})
    return None, {}


def apply(screen: LauncherScreen, name: str) -> None:
    """Fill every field from a preset picked in the list ((none): keep the fields, forget the preset)."""
    if name == NO_PRESET:
        screen.preset_name, screen.preset_extra = None, {}
        return
    if name == screen.preset_name:  # the one the form already holds (given on the command line, flags and all)
        return
    if not screen.form_complete:  # picked in the instant before every row is mounted: fill them once they are
        screen.call_after_refresh(apply, screen, name)
        return
    fields = preset_fields(name)
    screen.preset_name, screen.preset_extra = name, dict(fields.get("extra") or {})
    for key, value in {**RunConfig().to_dict(), **fields}.items():
        _fill(screen, key, value)
    screen.notify(f"preset {name} loaded; change any field before starting", timeout=3)


def _fill(screen: LauncherScreen, key: str, value: Any) -> None:
    widget = screen.control_of(key)
    if isinstance(widget, Select) and key != "from_run":
        widget.value = value
    elif isinstance(widget, Checkbox):
        widget.value = bool(value)
    elif isinstance(widget, Input) and key != "data_dir":
        widget.value = format_value(value)


def fit_val_split(screen: LauncherScreen, dataset: str | None = None) -> None:
    """A split that leaves no training images of the dataset picked goes back to its default, said in place."""
    dataset = dataset if dataset is not None else screen.value_of("dataset")
    field = screen.query_one("#val_split", Input)
    split, _ = parse_number("val_split", field.value)
    known = TRAIN_IMAGES.get(str(dataset))
    if not (isinstance(split, int) and known and split >= known):
        return
    field.value = ""
    note(screen, f"was {split:,}: {dataset} has {known:,} training images")


def note(screen: LauncherScreen, text: str) -> None:
    """A line under the validation split that stays when its value changes (an error line would be cleared)."""
    row = screen.query_one("#row-val_split")
    lines = row.query("#note-val_split")
    if lines:
        lines.first(Static).update(text)
    else:
        row.mount(Static(text, id="note-val_split", classes="field-note"))
