"""The launcher's widgets: a form row, the main form's rows, a switch that reads without colour, and the
missing-dataset banner. Built from RunConfig's fields (launcher_fields); the screen wires the events."""
from __future__ import annotations

from typing import Any, Iterator

from rich.text import Text
from textual import on
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from engine.config import RunConfig

from tui import format as fmt
from tui.screens.launcher_fields import FieldSpec, field_specs, format_value
from tui.screens.launcher_form import NUMBER_FIELDS, SWITCHES, DatasetStatus
from tui.screens.launcher_model import ModelInput
from tui.screens.launcher_runs import ProbePicker

LABEL_WIDTH = 19  # launcher.tcss: .field-label
NO_PRESET = "(none)"


class Switch(Checkbox):
    """A checkbox marked only when on ('▐X▌' / '▐ ▌'): the state reads without colour (NO_COLOR, monochrome)."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return super().get_content_width(container, viewport) + (0 if self._label else 2)  # render() pads it


def field_row(label: str, widget: Widget, field: str) -> Vertical:
    """A form row: label and control side by side; show_error adds the error line under them."""
    return Vertical(
        Horizontal(Label(fmt.truncate(label, LABEL_WIDTH - 1), classes="field-label"), widget, classes="field-row"),
        classes="field", id=f"row-{field}",
    )


def show_error(row: Widget, field: str, error: str | None) -> None:
    """Say what is wrong under a row's control (None: nothing, the line hides).

    The line is made on the field's first error: one hidden line per row, made with the form, was a sixth
    of the launcher's widgets, all styled before its first frame.
    """
    lines = row.query(f"#err-{field}")
    if lines:
        line = lines.first(Static)
        line.update(error or "")
        line.display = bool(error)
    elif error:
        line = Static(error, id=f"err-{field}", classes="field-error")
        line.display = True
        row.mount(line)


def control(spec: FieldSpec, value: Any) -> Widget:
    """The widget for one field: a switch for a bool, a choice list for a choice, else a text field."""
    if spec.kind is bool:
        return Switch("", value=bool(value), compact=True, id=spec.name)
    if spec.choices:
        return Select([(v, v) for v in spec.choices], value=value, allow_blank=False, compact=True, id=spec.name)
    return Input(format_value(value), placeholder=spec.placeholder, compact=True, id=spec.name)


def _row(base: RunConfig, name: str) -> Vertical:
    spec = field_specs()[name]
    return field_row(spec.label, control(spec, getattr(base, name)), name)


def preset_label(name: str, preset: Any) -> str:
    # Short: the list is ~25 columns wide at 80x24 (the name starts with its study id);
    # the info panel shows the study and its reported accuracy in full.
    acc = getattr(preset, "reported_test_acc", None)
    return f"{name} {fmt.pct(acc)}" if acc else name


def main_row_names() -> list[str]:
    """The main form's fields, in the order a run is usually thought through."""
    numbers = [f.name for f in NUMBER_FIELDS]
    return ["preset", "dataset", "data_dir", "model", "strategy", "from_run", *numbers[:4], "optimizer", "schedule",
            *numbers[4:], *(name for name, _, _ in SWITCHES), "device"]


def main_row(name: str, base: RunConfig, presets: dict[str, Any], runs_dir: str) -> Vertical:
    """One row of the main form (the preset row only when there are presets)."""
    if name == "preset":
        options = [(NO_PRESET, NO_PRESET)] + [(preset_label(n, p), n) for n, p in presets.items()]
        picked = base.preset if base.preset in presets else NO_PRESET  # `cifar-tui --preset NAME`: it shows
        return field_row("preset", Select(options, value=picked, allow_blank=False, compact=True, id="preset"),
                         "preset")
    if name == "model":
        return field_row("model", ModelInput(base.model), "model")
    if name == "from_run":
        return field_row("from run", ProbePicker(runs_dir, base.from_run), "from_run")
    switch = next((s for s in SWITCHES if s[0] == name), None)
    if switch is not None:
        return field_row(switch[1], Switch(switch[2], value=bool(getattr(base, name)), compact=True, id=name), name)
    return _row(base, name)


def main_rows(base: RunConfig, presets: dict[str, Any], runs_dir: str, names: list[str] | None = None
              ) -> Iterator[Vertical]:
    """The main form's rows (those of ``names`` only, when given), built one at a time."""
    for name in main_row_names() if names is None else names:
        if name != "preset" or presets:
            yield main_row(name, base, presets, runs_dir)


class DatasetBanner(Vertical):
    """Shown while the dataset is missing: where it was looked for, and the fixes as buttons."""

    def compose(self) -> Iterator[Widget]:
        yield Static("", id="dataset-missing-text")
        with Horizontal(id="dataset-missing-buttons"):
            yield Button("Synthetic data (ctrl+y)", id="use-synthetic", compact=True, variant="warning")
            yield Button("Set a data path", id="set-data-path", compact=True)
            yield Button("Turn download on", id="download-on", compact=True)

    # The fixes act on the screen's form (the banner's own buttons; the screen only shows or hides it).
    @on(Button.Pressed, "#use-synthetic")
    async def _use_synthetic(self) -> None:
        await self.screen.run_action("synthetic")

    @on(Button.Pressed, "#set-data-path")
    def _focus_data_path(self) -> None:
        self.screen.query_one("#data_dir", Input).focus()

    @on(Button.Pressed, "#download-on")
    def _download_on_pressed(self) -> None:
        self.screen.query_one("#download", Checkbox).value = True

    def show(self, status: DatasetStatus, download: bool) -> bool:
        """Say what is missing; True when the banner appeared or vanished (the layout moved)."""
        self.query_one("#download-on").display = status.downloadable and not download
        self.query_one("#dataset-missing-text", Static).update(Text(status.headline(download), style="bold"))
        moved = self.display == status.present
        self.display = not status.present
        return moved
