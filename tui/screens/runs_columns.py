"""v on the runs screen: choose the table's columns, any config field among them; remembered across sessions.

The list shows every column but name and status (always there): the results, then every RunConfig
field (tui.columns.column_names: the ones that tell experiments apart first), with ``aug`` (the
augmentations in one cell). Space adds or removes one
and the table behind follows at once; escape closes. The choice is saved in the app's settings
(tui.settings), so the next session opens with the same columns.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Checkbox, Label, SelectionList

from tui import columns, settings
from tui.screens.runs_table import ALWAYS, COLUMNS, DEFAULT_SHOWN, column

if TYPE_CHECKING:
    from tui.screens.runs import RunsScreen

SETTING = "runs_columns"


def choices() -> list[str]:
    """Every column a person may show, in the list's order."""
    built_in = [c.key for c in COLUMNS if c.key not in ALWAYS]
    return built_in + [n for n in columns.column_names() if n not in built_in]


def remembered() -> list[str]:
    """The columns chosen last time (the known ones), else the default set."""
    saved = settings.get(SETTING)
    if not isinstance(saved, list):
        return list(DEFAULT_SHOWN)
    known = set(choices())
    return [k for k in saved if isinstance(k, str) and k in known]


def label(key: str) -> Text:
    col = column(key)
    text = Text(f"{col.label:<16}")
    if col.config:
        text.append(f" --columns {columns.flag_name(key)}", style="dim")
    return text


class ColumnList(SelectionList[str]):
    """A selection list whose box is marked only when ticked ('▐X▌' / '▐ ▌'): Textual's marks both and tells
    them apart by colour alone, which NO_COLOR and monochrome terminals lose."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        index = self.scroll_offset[1] + y
        if index >= self.option_count or self.get_option_at_index(index).value in self.selected:
            return strip
        segments = list(strip)
        if len(segments) > 1 and segments[1].text == Checkbox.BUTTON_INNER:
            segments[1] = Segment(" ", segments[1].style)
        return Strip(segments, strip.cell_length)


class ColumnPicker(ModalScreen[list[str]]):
    """The columns shown, ticked; dismisses with them in the order they were added."""

    CSS_PATH = "run_dialogs.tcss"
    BINDINGS = [Binding("escape,v", "done", "Done")]

    def __init__(self, shown: list[str], on_change: Any) -> None:
        super().__init__()
        self.shown = list(shown)
        self.on_change = on_change

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Columns of the runs table (name and status always show)")
            yield ColumnList(*[(label(k), k, k in self.shown) for k in choices()], id="columns-list")
            yield Label("space: add / remove · escape: done (remembered)", classes="hint")

    def on_selection_list_selection_toggled(self, event: SelectionList.SelectionToggled) -> None:
        key = str(event.selection.value)
        if key in self.shown:
            self.shown.remove(key)
        else:
            self.shown.append(key)  # added last: it comes after the columns added before it
        self.on_change(list(self.shown))

    def action_done(self) -> None:
        self.dismiss(self.shown)


def choose(screen: RunsScreen) -> None:
    """Open the picker; save the choice when it closes."""
    def done(keys: list[str] | None) -> None:
        if keys is None:
            return
        screen.show_columns(keys)
        error = settings.put(SETTING, keys)
        if error:
            screen.notify(f"columns not remembered: {error}", severity="warning")

    screen.app.push_screen(ColumnPicker(screen.shown_keys, screen.show_columns), done)
