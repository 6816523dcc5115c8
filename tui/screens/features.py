"""The feature space of one or more runs: penultimate-layer features of test images
projected on their first two principal components, one colour per class (study 001).

The projection is stored in the run (``analysis/pca.npz``) the first time it is computed
(here, or by ``cifar-tui analyze RUN --pca``), so it opens at once afterwards. Two runs
(from compare) are drawn side by side when the terminal is wide enough, else one at a
time: ``left``/``right`` page through them, the title saying which ("2 of 3"). Runs are named as
everywhere else: the name a person gave, else the id without its start time.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from engine.runs.meta import read_meta, short_name

from tui import format as fmt
from tui.widgets.scatter import ScatterPlot
from tui.screens.image_base import failure

PANEL_MIN = 60  # columns each run's scatter needs to share the width; fewer: one at a time (left/right)
PCA_LIMIT = 2000  # test images projected: enough for the class clouds, a few seconds on a CPU


class FeaturesScreen(Screen):
    """Scatter plots of stored (or freshly computed) PCA projections, one per run."""

    CSS_PATH = "images.tcss"
    BINDINGS = [Binding("left", "show(-1)", "Previous run"), Binding("right", "show(1)", "Next run"),
                Binding("escape", "back", "Back")]

    def __init__(self, run_dirs: list[str], letters: list[str] | None = None) -> None:
        super().__init__()
        self.run_dirs = run_dirs
        self.letters = letters or [fmt.letter(i) for i in range(len(run_dirs))]
        self.names = [run_label(d) for d in run_dirs]
        self.current = 0
        self.paged = False
        """One run at a time (the terminal is too narrow for all side by side): ← → page."""

    def compose(self) -> ComposeResult:
        yield Static(Text("principal components of the penultimate features of test images", style="bold"),
                     id="images-title")
        with Horizontal(id="feature-row"):
            for i, _ in enumerate(self.run_dirs):
                with Vertical(classes="feature-panel", id=f"feature-{i}"):
                    yield Static(Text("computing…", style="dim"), classes="feature-info")
                    yield ScatterPlot(classes="feature-plot")
        yield Footer()

    def on_mount(self) -> None:
        self._layout()
        for i, run_dir in enumerate(self.run_dirs):
            self._load(i, run_dir)

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        paged = len(self.run_dirs) > 1 and self.size.width < PANEL_MIN * len(self.run_dirs)
        if paged != self.paged:
            self.paged = paged
            self.refresh_bindings()  # ← → are offered only while they page
        for i in range(len(self.run_dirs)):
            panel = self.query_one(f"#feature-{i}")
            panel.display = not paged or i == self.current
            panel.border_title = f"{self.letters[i]} {self.names[i]}" if len(self.run_dirs) > 1 else self.names[i]
            panel.border_subtitle = f"{i + 1} of {len(self.run_dirs)} · ← →" if paged else ""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.paged if action == "show" else True

    @work(thread=True, exit_on_error=False)
    def _load(self, i: int, run_dir: str) -> None:
        try:
            fs, note = load_or_compute(run_dir, lambda m: self.app.call_from_thread(self._info, i, Text(m, "dim")))
        except Exception as exc:  # noqa: BLE001 - one line on screen, never "computing…" forever
            self.app.call_from_thread(self._info, i, Text(failure(exc), style="red"))
            return
        self.app.call_from_thread(self._show, i, run_dir, fs, note)

    def _info(self, i: int, text: Text) -> None:
        self.query_one(f"#feature-{i} .feature-info", Static).update(text)

    def _show(self, i: int, run_dir: str, fs: Any, note: str) -> None:
        pcs = ", ".join(f"PC{k + 1} {fmt.share(r)}" for k, r in enumerate(fs.explained[:2]))
        # The run's letter and name are the panel's border title.
        info = Text(f"{pcs} of the variance; {len(fs.labels)} test images, {fs.dim}-d features entering "
                    f"{fs.layer}, from the model of epoch {fs.epoch}" + (f" ({note})" if note else ""), style="dim")
        self._info(i, info)
        plot = self.query_one(f"#feature-{i} ScatterPlot", ScatterPlot)
        plot.set_points(fs.coords, fs.labels, fs.class_names, title="PC1 →, PC2 ↑")

    def action_show(self, step: int) -> None:
        self.current = (self.current + step) % len(self.run_dirs)
        self._layout()

    def action_back(self) -> None:
        self.app.pop_screen()


def run_label(run_dir: str) -> str:
    """The run as its tables name it: the name a person gave, else the id without its start time."""
    return short_name(Path(run_dir).name, read_meta(run_dir))


def load_or_compute(run_dir: str, say: Any) -> tuple[Any, str]:
    """The run's stored projection if it is of the run's best checkpoint now, else computed from that
    checkpoint and stored (worker thread); with a note on what happened ("" for a stored one)."""
    from tui.engine_import import import_engine

    import_engine()
    from engine.analysis.analyze import best_epoch_now, feature_space, load_feature_space, load_run_model, save_feature_space
    from engine.runs.files import StoreWriteError

    stored = load_feature_space(run_dir)
    if stored is not None and stored.epoch == best_epoch_now(run_dir):
        return stored, ""
    say(f"computing the features of up to {PCA_LIMIT} test images (stored for next time)…")
    fs = feature_space(load_run_model(run_dir), limit=PCA_LIMIT)
    try:
        save_feature_space(run_dir, fs)
    except StoreWriteError as exc:  # a read-only store: show it anyway
        return fs, f"computed now, not stored: {exc}"
    return fs, "computed now, stored"
