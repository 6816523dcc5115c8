"""Screens of images: one confusion cell, and the most confident mistakes and confused pairs
(enter on an image shows its detail with its top-5 classes: image_base.ImageDetail).

Every screen gets its images from a loader run in a thread worker (test images and
predictions are read from the run's files there, never on the UI thread) and shows
"loading…" meanwhile. Escape goes back.
"""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from tui import format as fmt
from tui.widgets.image_grid import GridItem, ImageGrid
from tui.screens import inspect_data as data
from tui.screens.image_base import ImageDetail, failure

Loader = Callable[[], tuple[str, list[GridItem]]]
Detail = Callable[[GridItem], list[tuple[str, float]]]


class ImagesScreen(Screen):
    """A titled grid of images from ``load`` (run in a worker); enter on one shows its detail."""

    CSS_PATH = "images.tcss"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, load: Loader, *, what: str, detail: Detail | None = None) -> None:
        super().__init__()
        self.load, self.what, self.detail = load, what, detail
        self._shown = 0  # loads started; an older one that finishes late is dropped

    def compose(self) -> ComposeResult:
        yield Static(Text(f"loading {self.what}…", style="dim"), id="images-title")
        yield ImageGrid(id="images-grid")
        yield Footer()

    def on_mount(self) -> None:
        self._load(self._shown)

    def reload(self, load: Loader, *, what: str, detail: Detail | None = None) -> None:
        """Show other images in this (installed, already styled) screen: no new screen to build and style."""
        self.load, self.what, self.detail = load, what, detail
        self._shown += 1
        if self.is_mounted:
            self.query_one("#images-title", Static).update(Text(f"loading {self.what}…", style="dim"))
            self.query_one(ImageGrid).set_items([], empty="")
            self._load(self._shown)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self, number: int) -> None:
        try:
            title, items = self.load()
        except Exception as exc:  # noqa: BLE001 - one line on screen, never "loading…" forever
            self.app.call_from_thread(self._show, number, failure(exc), [], error=True)
            return
        self.app.call_from_thread(self._show, number, title, items)

    def _show(self, number: int, title: str, items: list[GridItem], error: bool = False) -> None:
        if number != self._shown:
            return
        self.query_one("#images-title", Static).update(Text(title, style="red" if error else "bold"))
        grid = self.query_one(ImageGrid)
        grid.set_items(items, empty="" if error else "no images here")
        grid.focus()

    def on_image_grid_selected(self, message: ImageGrid.Selected) -> None:
        if self.detail is not None:
            self.app.push_screen(ImageDetail(message.item, self.detail(message.item)))

    def action_back(self) -> None:
        self.app.pop_screen()


CELL_SCREEN = "cell-images"


def cell_screen(run_dir: str, true: int, pred: int) -> ImagesScreen:
    """A new screen of the test images of one confusion cell (true class ``true`` predicted as ``pred``)."""
    load, what, detail = _cell_loader(run_dir, true, pred)
    return ImagesScreen(load, what=what, detail=detail)


def open_cell(app: App, run_dir: str, true: int, pred: int) -> None:
    """Push the images of a confusion cell. One screen is installed and reused for every cell: building
    and styling a new screen costs more than the images (the store's 0.2 s target for opening a cell)."""
    load, what, detail = _cell_loader(run_dir, true, pred)
    if not app.is_screen_installed(CELL_SCREEN):
        app.install_screen(ImagesScreen(load, what=what, detail=detail), CELL_SCREEN)
    else:
        screen = app.get_screen(CELL_SCREEN)
        if screen in app.screen_stack:  # already open further down (another run's cell): a screen of its own
            app.push_screen(ImagesScreen(load, what=what, detail=detail))
            return
        assert isinstance(screen, ImagesScreen)
        screen.reload(load, what=what, detail=detail)
    app.push_screen(CELL_SCREEN)


def _cell_loader(run_dir: str, true: int, pred: int) -> tuple[Loader, str, Detail]:
    loaded: list[data.RunImages] = []

    def load() -> tuple[str, list[GridItem]]:
        loaded.append(data.run_images(run_dir))
        return data.cell_items(loaded[-1], true, pred)

    return load, "the images of this cell", lambda item: data.top5_lines(loaded[-1], item.key)


class MistakesScreen(Screen):
    """Two views of what the model gets wrong: the most confident mistakes (a grid of images)
    and the most confused class pairs (a list; enter opens that pair's images)."""

    CSS_PATH = "images.tcss"
    BINDINGS = [Binding("escape", "back", "Back"),
                Binding("1", "view('mistakes')", "Mistakes"), Binding("2", "view('pairs')", "Pairs")]

    def __init__(self, run_dir: str) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.pairs: list[tuple[int, int, int]] = []
        self.loaded: data.RunImages | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("loading the stored predictions…", style="dim"), id="images-title")
        with TabbedContent(id="mistake-tabs"):
            with TabPane("Most confident mistakes", id="mistakes"):
                yield ImageGrid(id="images-grid")
            with TabPane("Most confused pairs", id="pairs"):
                yield OptionList(id="pair-list")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            ri = data.run_images(self.run_dir)
            title, items = data.mistake_items(ri)
        except Exception as exc:  # noqa: BLE001 - one line on screen, never "loading…" forever
            self.app.call_from_thread(self._fail, failure(exc))
            return
        self.app.call_from_thread(self._show, ri, title, items)

    def _fail(self, error: str) -> None:
        self.query_one("#images-title", Static).update(Text(error, style="red"))

    def _show(self, ri: data.RunImages, title: str, items: list[GridItem]) -> None:
        self.loaded = ri
        self.query_one("#images-title", Static).update(Text(title, style="bold"))
        self.query_one(ImageGrid).set_items(items, empty="no mistakes: every test image is right")
        self.pairs = ri.preds.confused_pairs()
        width = max((len(n) for n in ri.names), default=5)
        options = [Option(f"{ri.names[t]:>{width}} → {ri.names[p]:<{width}} {fmt.count(c, 'image'):>11}")
                   for t, p, c in self.pairs]
        pair_list = self.query_one(OptionList)
        pair_list.clear_options()
        pair_list.add_options(options or [Option("no confused pairs", disabled=True)])
        pair_list.highlighted = 0 if options else None  # enter opens the most confused pair at once
        self.query_one(ImageGrid).focus()

    def action_view(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane
        self.query_one(ImageGrid if pane == "mistakes" else OptionList).focus()

    def on_image_grid_selected(self, message: ImageGrid.Selected) -> None:
        if self.loaded is not None:
            self.app.push_screen(ImageDetail(message.item, data.top5_lines(self.loaded, message.item.key)))

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        if message.option_index < len(self.pairs):
            true, pred, _ = self.pairs[message.option_index]
            open_cell(self.app, self.run_dir, true, pred)

    def action_back(self) -> None:
        self.app.pop_screen()

