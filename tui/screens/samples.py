"""Training images per class, as the model sees them (study 002's sample grid).

``a`` switches the run's augmentation on and off: the same images then go through the
engine's own training pipeline (crop, flip, RandAugment, Cutout, affine, MixUp), so what
is drawn is exactly what a training step feeds the model, at the dataset's native size.
``space`` draws another random augmentation of the same images.
"""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from engine.config import RunConfig

from tui import format as fmt
from tui.widgets.image_grid import GridItem, ImageGrid
from tui.screens.image_base import failure

PER_CLASS = 6


class SamplesScreen(Screen):
    """A grid of training images per class; ``a`` toggles the augmentation, ``space`` redraws it."""

    CSS_PATH = "images.tcss"
    BINDINGS = [Binding("a", "augment", "Augmentation on/off"), Binding("space", "again", "Draw again"),
                Binding("escape", "back", "Back")]

    def __init__(self, source: RunConfig | str) -> None:
        """``source``: the config of the run being started, or a saved run's folder."""
        super().__init__()
        self.source = source
        self.augmented = False
        self.seed = 0
        self._asked = 0  # requests made; only the newest one's images are shown

    def compose(self) -> ComposeResult:
        yield Static(Text("loading training images…", style="dim"), id="images-title")
        yield ImageGrid(id="images-grid")
        yield Footer()

    def on_mount(self) -> None:
        self._request(self.augmented, self.seed)

    def _request(self, augmented: bool, seed: int) -> None:
        self._asked += 1
        self._load(self._asked, augmented, seed)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self, number: int, augmented: bool, seed: int) -> None:
        try:
            from tui.engine_import import import_engine

            import_engine()  # torch: the pipeline runs the real augmentation
            from engine.analysis.analyze import sample_grid

            config = self.source if isinstance(self.source, RunConfig) else _saved_config(self.source)
            grid = sample_grid(config.replace(download=False), per_class=PER_CLASS, augmented=augmented,
                               augment_seed=seed)
        except Exception as exc:  # noqa: BLE001 - one line on screen, never "loading…" forever
            self.app.call_from_thread(self._title, Text(failure(exc), style="red"))
            return
        items = [GridItem(img, [(cap, "bold")], key=i) for i, (img, cap) in enumerate(zip(grid.images, grid.captions))]
        self.app.call_from_thread(self._show, number, items, self._describe(config, augmented))

    @staticmethod
    def _describe(config: RunConfig, augmented: bool) -> str:
        if not augmented:
            return f"{config.dataset} training images, {PER_CLASS} per class, as stored (a: show the augmentation)"
        parts = [name for name, on in (("crop", config.crop), ("flip", config.flip),
                                       (f"RandAugment {config.randaugment}x{config.randaugment_magnitude}",
                                        config.randaugment), (f"Cutout {config.cutout}px", config.cutout),
                                       (f"rotate {config.rotate:g}°", config.rotate),
                                       (f"translate {fmt.share(config.translate)}", config.translate),
                                       (f"zoom {config.zoom:g}", config.zoom), (f"MixUp α={config.mixup:g}", config.mixup))
                 if on]
        what = ", ".join(parts) if parts else "none: this run trains on the images as stored"
        return f"as the model sees them, augmentation: {what} (space: draw again, a: off)"

    def _title(self, text: Text) -> None:
        self.query_one("#images-title", Static).update(text)

    def _show(self, number: int, items: list[GridItem], title: str) -> None:
        if number != self._asked:
            return  # an older request finished after a newer key
        self._title(Text(title, style="bold"))
        grid = self.query_one(ImageGrid)
        keep = grid.cursor_index
        grid.set_items(items, empty="no training images")
        if items and keep:
            grid.cursor_index = min(keep, len(items) - 1)
        grid.focus()

    def action_augment(self) -> None:
        self.augmented = not self.augmented
        self._title(Text("augmenting…" if self.augmented else "loading…", style="dim"))
        self._request(self.augmented, self.seed)

    def action_again(self) -> None:
        if self.augmented:
            self.seed += 1
            self._request(self.augmented, self.seed)
        else:
            self.notify("a shows the augmentation; space then draws another", timeout=3)

    def action_back(self) -> None:
        self.app.pop_screen()


def _saved_config(run_dir: str) -> RunConfig:
    """A saved run's RunConfig (worker thread: it reads config.json)."""
    from engine.analysis.analyze import read_run_config

    return read_run_config(run_dir)[1]
