"""What every screen of images shares: the image detail dialog, and one line for a load that failed.

Not a screen of its own (ImageDetail is a modal over the grid that asked for it), so the features,
samples and predict screens use it without importing another screen's module.
"""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.config import UserError

from tui import format as fmt
from tui.widgets.full_image import FullImage
from tui.widgets.image_grid import GridItem


NAME_MAX = 28  # class-name cells of the top-5 list (longer ones are cut)


def failure(exc: BaseException) -> str:
    """One line for a failed load: a UserError's own words, else the exception's type and message."""
    return str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"


class ImageDetail(ModalScreen):
    """One image as large as fits (real pixels where the terminal can: FullImage), its captions, and its
    top classes with probability bars."""

    CSS_PATH = "images.tcss"
    BINDINGS = [Binding("escape", "back", "Back"), Binding("enter", "back", "Back", show=False)]

    def __init__(self, item: GridItem, top: list[tuple[str, float]]) -> None:
        super().__init__()
        self.item, self.top = item, top

    def compose(self) -> ComposeResult:
        with Vertical(id="detail-box"):
            yield FullImage(self.item.image, id="detail-image")
            yield Static(self._text(), id="detail-text")

    def on_mount(self) -> None:
        self.call_after_refresh(self._draw)

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        rows = max(4, self.size.height - len(self.top) - len(self.item.caption) - 6)
        self.query_one(FullImage).fit(max(8, self.size.width - 8), rows)

    def _text(self) -> Text:
        out = Text()
        for text, style in self.item.caption:
            out.append(text + "\n", style=style)
        names = min(NAME_MAX, max((len(name) for name, _ in self.top), default=0))  # whole names where they fit
        for name, p in self.top:
            bar = "█" * round(20 * p)
            out.append(f"{fmt.truncate(name, names):<{names}} {fmt.pct(p):>7} ", style="bold")
            out.append(bar + "\n", style="cyan" if not self.app.no_color else "")
        return out

    def action_back(self) -> None:
        self.app.pop_screen()
