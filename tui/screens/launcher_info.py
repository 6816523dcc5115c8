"""What the launcher's info panel says: the run the form describes, the focused field's help, the preset.

Rich renderables built from plain values (no widgets, no torch), so the screen
only decides when to redraw.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from tui import format as fmt
from tui.screens.launcher_advanced import AdvancedSection
from tui.screens.launcher_fields import field_specs, in_words
from tui.screens.launcher_form import DatasetStatus

# A parameter count written into a model's description ('(~0.29M params)', ', 11.2M params', '(36.9M)'):
# the panel's params line shows the exact count, formatted by tui/format, so the description drops its own.
_PARAM_NOTE = re.compile(r"(?:[,:]\s*|\s*\()~?[\d.]+M(?: params)?(?: with \d+ classes)?\)?")


@dataclass
class InfoState:
    """Everything the info panel shows, gathered by the screen."""

    model: str
    description: str | None
    counts: dict[str, str]
    """params, input and device lines (computed in a worker)."""
    dataset: DatasetStatus
    can_start: bool
    runs_dir: str
    probe: str | None = None
    """linear-probe: the picked run's label ('' when none is picked); None for other strategies."""


def abs_dir(path: str) -> str:
    """A directory as an absolute path with a trailing slash."""
    return f"{Path(path).expanduser().absolute()}/"


def without_param_note(description: str) -> str:
    return _PARAM_NOTE.sub("", description)


def info_panel(state: InfoState, preset: Any | None) -> RenderableType:
    described = f": {without_param_note(state.description)}" if state.description else ""
    rows = [("model", f"{state.model}{described}", "")]
    if state.probe is not None:
        rows.append(("probes", state.probe or "a finished run: pick it under 'from run'",
                     "" if state.probe else "bold red"))
    rows += [(key, state.counts[key], "") for key in ("params", "input", "device")]
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True, min_width=8)  # values line up with 'dataset  ' below
    grid.add_column()
    for key, value, style in rows:
        grid.add_row(key, Text(value, style=style))
    # Paths get the panel's whole width, folded where they must break: never cut short.
    paths = Text(overflow="fold")
    paths.append("dataset  ", style="bold")
    paths.append(state.dataset.message + "\n", style="" if state.can_start else "bold red")
    paths.append("runs dir ", style="bold")
    paths.append(abs_dir(state.runs_dir))
    return Group(grid, paths, preset_text(preset)) if preset is not None else Group(grid, paths)


def preset_text(p: Any) -> Text:
    """The preset's study, description, reported accuracy and what it needs, in the launcher's words."""
    text = Text()
    text.append("\npreset ", style="bold")
    text.append(f"{p.name}\n", style="bold cyan")
    text.append(f"study {p.study}: {getattr(p, 'study_title', '')}\n", style="dim")
    text.append(f"{p.description}\n")
    if p.reported_test_acc:
        text.append(f"reported test accuracy {fmt.pct(p.reported_test_acc)}\n", style="green")
    if getattr(p, "needs", ""):
        text.append(f"needs {in_words(p.needs)}\n", style="yellow")
    if getattr(p, "assumed", ()):
        text.append("not stated by the study, our choice: ", style="dim bold")
        text.append(f"{', '.join(p.assumed)}\n", style="dim")
    return text


def field_help(widget: Widget) -> Text | str:
    """What the focused control sets: the RunConfig docstring of its field, in the launcher's words."""
    name = widget.id or ""
    if name == "preset":
        return Text.assemble(("▸ preset: ", "bold"), "a study's experiment; it fills in every field")
    if isinstance(widget.parent, AdvancedSection):
        return Text.assemble(("▸ advanced: ", "bold"), "enter opens every other setting of the run")
    if name in field_specs():
        spec = field_specs()[name]
        return Text.assemble((f"▸ {spec.label}: ", "bold"), in_words(spec.doc.replace("``", "'")))
    return ""
