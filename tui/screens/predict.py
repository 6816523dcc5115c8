"""Predictions on images from outside the dataset (study 003): a path prompt on a run's page.

The path may name an image file (PNG, JPEG, any size) or a folder of them. Each image is
shown as the model sees it (centre crop, resized to the dataset's size) with its top-5
classes; a file that is not an image gets one line, and the others still get predictions.
The same engine function backs ``cifar-tui predict``.
"""
from __future__ import annotations

import os

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from engine.config import UserError

from .. import format as fmt
from ..widgets.image_grid import GridItem, ImageGrid
from .images import ImageDetail


class PredictScreen(Screen):
    """Type a path, press enter: the run's model classifies the image(s) there."""

    CSS_PATH = "images.tcss"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, run_dir: str) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.tops: dict[int, list[tuple[str, float]]] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="path to a PNG/JPEG image or a folder of them, then enter", id="predict-path")
        yield Static(Text("the run's best checkpoint classifies each image: top-5 classes", style="dim"),
                     id="images-title")
        yield ImageGrid(id="images-grid")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        path = os.path.expanduser(message.value.strip())
        if not path:
            self.notify("type a path to an image or a folder", timeout=3)
            return
        self.query_one("#images-title", Static).update(Text(f"classifying {path}…", style="dim"))
        self._predict(path)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _predict(self, path: str) -> None:
        try:
            from ..engine_import import import_engine

            import_engine()
            from engine.analysis import predict_images

            results = predict_images(self.run_dir, [path])
        except UserError as exc:
            self.app.call_from_thread(self._show, Text(str(exc), style="red"), [], {})
            return
        items, tops, errors = [], {}, []
        for i, r in enumerate(results):
            if r.error or r.image is None:
                errors.append(r.error or f"cannot read {r.path}")
                continue
            name, p = r.top[0]
            items.append(GridItem(r.image, [(os.path.basename(r.path), "bold"), (f"{name} {fmt.pct(p)}", "cyan")],
                                  key=i))
            tops[i] = r.top
        title = Text(f"{fmt.count(len(items), 'image')} classified (enter: top-5)", style="bold")
        for line in errors:
            title.append("\n" + line, style="red")
        self.app.call_from_thread(self._show, title, items, tops)

    def _show(self, title: Text, items: list[GridItem], tops: dict[int, list[tuple[str, float]]]) -> None:
        self.tops = tops
        self.query_one("#images-title", Static).update(title)
        grid = self.query_one(ImageGrid)
        grid.set_items(items, empty="no image could be read there")
        if items:
            grid.focus()

    def on_image_grid_selected(self, message: ImageGrid.Selected) -> None:
        self.app.push_screen(ImageDetail(message.item, self.tops.get(message.item.key, [])))

    def action_back(self) -> None:
        self.app.pop_screen()
