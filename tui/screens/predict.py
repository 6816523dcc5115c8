"""Predictions on images from outside the dataset (study 003): a path prompt on a run's page.

The path may name an image file (PNG, JPEG, any size) or a folder of them. Each image is
shown as the model sees it (centre crop, resized to the dataset's size) with its top-5
classes; a file that is not an image gets one line, and the others still get predictions.
The same engine function backs ``cifar-tui predict``.
"""
from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from tui import format as fmt
from tui.widgets.image_grid import GridItem, ImageGrid
from tui.screens.image_base import ImageDetail, failure

MAX_ERROR_LINES = 3  # unreadable files listed by name; the title has room for few lines


class PredictScreen(Screen):
    """Type a path, press enter: the run's model classifies the image(s) there."""

    CSS_PATH = "images.tcss"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, run_dir: str) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.tops: dict[int, list[tuple[str, float]]] = {}
        self._asked = 0  # paths submitted; only the newest one's results are shown
        self._loaded: Any = None
        """The run's model and data, loaded by the first prediction and kept for the next paths."""

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
        self._asked += 1
        self._predict(self._asked, path)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _predict(self, number: int, path: str) -> None:
        try:
            from tui.engine_import import import_engine

            import_engine()
            from engine.analysis.analyze import load_run_model, predict_images

            if self._loaded is None:
                self._loaded = load_run_model(self.run_dir)
            results = predict_images(self.run_dir, [path], loaded=self._loaded)
        except Exception as exc:  # noqa: BLE001 - one line on screen, never "classifying…" forever
            self.app.call_from_thread(self._show, number, Text(failure(exc), style="red"), [], {})
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
        epoch = self._loaded.epoch
        title = Text(f"{fmt.count(len(items), 'image')} classified by the model from epoch {epoch} (enter: top-5)",
                     style="bold")
        if errors:
            title.append(f"; {fmt.count(len(errors), 'file')} could not be read:", style="red")
            for line in errors[:MAX_ERROR_LINES]:
                title.append("\n" + line, style="red")
            if len(errors) > MAX_ERROR_LINES:
                title.append(f"\n… and {fmt.count(len(errors) - MAX_ERROR_LINES, 'more file')} "
                             f"(cifar-tui predict lists them all)", style="red")
        self.app.call_from_thread(self._show, number, title, items, tops)

    def _show(self, number: int, title: Text, items: list[GridItem], tops: dict[int, list[tuple[str, float]]]) -> None:
        if number != self._asked:
            return  # an older path finished after a newer one was asked
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
