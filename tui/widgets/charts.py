"""Loss and accuracy charts (textual-plotext) fed from a RunState.

plotext rebuilds the whole canvas on every render, so the charts never refresh
themselves: ``update_from`` stores the data and the dashboard calls it at most
a few times a second. Curves are downsampled to the chart's width first, so a
long run costs the same to draw as a short one.
"""
from __future__ import annotations

from textual_plotext import PlotextPlot

from .run_state import RunState

# plotext colour names; distinct in 16-colour terminals too.
COLOURS = {"train": "cyan", "val": "magenta", "test": "green", "step": "gray"}


class MetricChart(PlotextPlot):
    """One chart: several named curves, x = epoch."""

    def __init__(self, title: str, kind: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.kind = kind  # "loss" or "acc"
        self.curves: dict[str, tuple[list[float], list[float]]] = {}
        self.border_title = title

    def points(self, label: str) -> int:
        """How many points the curve called label holds (0 if absent)."""
        return len(self.curves.get(label, ([], []))[0])

    def update_from(self, state: RunState) -> None:
        """Take the curves from state and redraw once."""
        width = max(10, self.size.width - 12)  # y-axis labels take ~10 columns
        curves: dict[str, tuple[list[float], list[float]]] = {}
        if self.kind == "loss" and len(state.step_loss):
            curves["step (smoothed)"] = state.step_loss.view(width)
        for split in ("train", "val", "test"):
            ys = state.epoch_series.get(f"{split}_{self.kind}", [])
            pts = [(x, 100 * y if self.kind == "acc" else y) for x, y in zip(state.epoch_x, ys) if y is not None]
            if pts:
                xs, vs = zip(*pts)
                curves[split] = _thin(list(xs), list(vs), width)
        self.curves = curves
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("epoch")
        if not self.curves:
            plt.text("waiting for the first epoch...", 0.5, 0.5, alignment="center")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        for label, (xs, ys) in self.curves.items():
            colour = COLOURS["step"] if label.startswith("step") else COLOURS[label]
            # One epoch is one point: a marker makes a single epoch visible at all.
            marker = "braille" if label.startswith("step") else "hd"
            plt.plot(xs, ys, label=label, color=colour, marker=marker)
        if self.kind == "acc" and self.curves:
            plt.ylim(0, 100)
        self.refresh()


def _thin(xs: list[float], ys: list[float], width: int) -> tuple[list[float], list[float]]:
    """Every k-th epoch point (keeping the last) when there are more epochs than columns."""
    if len(xs) <= width:
        return xs, ys
    k = -(-len(xs) // width)
    idx = list(range(0, len(xs), k))
    if idx[-1] != len(xs) - 1:
        idx.append(len(xs) - 1)
    return [xs[i] for i in idx], [ys[i] for i in idx]
