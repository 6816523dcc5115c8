"""The launcher's "advanced" section: every RunConfig field the main form has no control for.

The section is generated from the dataclass (launcher_fields): one row per
field, grouped like RunConfig, a switch for a bool and a text field for the
rest, filled with the field's value and described by its docstring (shown
in the info panel while the field has focus). Values are parsed and flagged
by the screen, exactly as on the main form.
"""
from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Collapsible, Static

from engine.config import RunConfig

from tui.screens.launcher_fields import field_groups, field_specs
from tui.screens.launcher_rows import control, field_row

TITLE = "advanced: every other setting"


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
        # Not in the launcher's first frame (~100 widgets styled and mounted cost ~0.15 s of a 2-core machine's
        # CPU): the screen mounts the section right after it.
        # Born with Collapsible's '-collapsed' class: mounting then finds it set and skips restyling these
        # ~100 widgets a second time (~0.1 s of a 2-core machine's first frame).
        super().__init__(*children, title=TITLE, collapsed=True, id="advanced", classes="-collapsed")

    def reveal(self) -> None:
        """Open the section (to show a flagged field or focus one of its fields)."""
        self.collapsed = False
