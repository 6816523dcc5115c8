"""The launcher's rows, and its "advanced" section: every RunConfig field the main form has no control for.

The section is generated from the dataclass (launcher_fields): one row per
field, grouped like RunConfig, a switch for a bool and a text field for the
rest, filled with the field's value and described by its docstring (shown
in the info panel while the field has focus). Values are parsed and flagged
by the screen, exactly as on the main form.
"""
from __future__ import annotations

from typing import Any

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Checkbox, Collapsible, Input, Label, Static

from engine.config import RunConfig

from .. import format as fmt
from .launcher_fields import FieldSpec, field_groups, field_specs, format_value

LABEL_WIDTH = 19  # launcher.tcss: .field-label
TITLE = "advanced: every other setting"


class Switch(Checkbox):
    """A checkbox marked only when on ('▐X▌' / '▐ ▌'): the state reads without colour (NO_COLOR, monochrome)."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super()._button

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return super().get_content_width(container, viewport) + (0 if self._label else 2)  # render() pads it


def field_row(label: str, widget: Widget, field: str) -> Vertical:
    """A form row: label and control side by side, an error line under them (hidden when fine)."""
    return Vertical(
        Horizontal(Label(fmt.truncate(label, LABEL_WIDTH - 1), classes="field-label"), widget, classes="field-row"),
        Static("", id=f"err-{field}", classes="field-error"),
        classes="field", id=f"row-{field}",
    )


def control(spec: FieldSpec, value: Any) -> Widget:
    """The widget for one field: a switch for a bool, a text field for anything else."""
    if spec.kind is bool:
        return Switch("", value=bool(value), compact=True, id=spec.name)
    return Input(format_value(value), placeholder=spec.placeholder, compact=True, id=spec.name)


def advanced_names(shown: frozenset[str]) -> list[tuple[str, list[str]]]:
    """(group title, fields) of every field not in ``shown``, in RunConfig's groups and order."""
    specs = field_specs()
    groups = [(title, [n for n in names if n in specs and n not in shown]) for title, names in field_groups()]
    return [(title, names) for title, names in groups if names]


class AdvancedSection(Collapsible):
    """Collapsed at first (enter on its title opens it); fields keep their values while it is closed."""

    def __init__(self, base: RunConfig, shown: frozenset[str]) -> None:
        children: list[Widget] = []
        self.names: list[str] = []
        for title, names in advanced_names(shown):
            children.append(Static(title, classes="group-title"))
            for name in names:
                spec = field_specs()[name]
                children.append(field_row(spec.label, control(spec, getattr(base, name)), name))
                self.names.append(name)
        super().__init__(*children, title=TITLE, collapsed=True, id="advanced")

    def reveal(self) -> None:
        """Open the section (to show a flagged field or focus one of its fields)."""
        self.collapsed = False
