"""Compare saved runs: overlaid curves, differing config, metrics, per class, confusion B − A, seeds.

Tabs keep it usable at 80×24 (1-6 switch them); from 140 columns the curves
tab also shows a per-run summary beside the chart. Every number comes from
engine.analysis.compare, the same functions ``cifar-tui compare --no-ui`` prints.
Keys: v/t/l/m pick the curve metric, w toggles epoch / wall-time x, y a log-scale
loss, a shows every config field, x exports, ctrl+r reloads (automatic while a run
is running).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from engine.runs import RunStatus
from engine.analysis.compare import (
    CURVE_METRICS, RunData, attach_probes, config_rows, confusion_diff, curves, load_compare_run, metric_rows,
    per_class_rows,
)
from engine.config import UserError

from tui import format as fmt
from tui.format import letter, truncate
from tui.messages import OpenFeatures, OpenRuns
from tui.screens.compare_render import (
    MARKERS,
    PALETTE,
    apart_labels,
    diff_view,
    own_confusion,
    run_style,
    run_tag,
    seeds_view,
    short_label,
)
from tui.screens.run_dialogs import prompt_export
from tui.widgets.plot import Axes, Chart, Series

METRIC_CYCLE = tuple(CURVE_METRICS)
LOSS_CYCLE = ("test_loss", "train_loss", "val_loss")
RELOAD_S = 2.0
TABS = ("tab-curves", "tab-metrics", "tab-config", "tab-classes", "tab-confusion", "tab-seeds")


class CompareLoaded(Message):
    """A background read of the compared runs finished: the readable runs, a notice per unreadable one."""

    def __init__(self, runs: list[RunData], errors: list[str], number: int) -> None:
        super().__init__()
        self.runs, self.errors, self.number = runs, errors, number


def read_runs(run_dirs: Sequence[str], probes: bool = True) -> tuple[list[RunData], list[str]]:
    """Every run that can be read (any thread), and why each other one cannot; ``probes``: also find each
    run's linear probes (a scan of the whole runs directory: worker threads only)."""
    runs, errors = [], []
    for d in run_dirs:
        try:
            runs.append(load_compare_run(d))
        except (UserError, OSError) as exc:
            errors.append(str(exc))
    if probes:
        attach_probes(runs)
    return runs, errors


def _runs_dir_of(run_dirs: Sequence[str]) -> str:
    """The runs directory the compared runs came from: the folder holding the first."""
    return str(Path(run_dirs[0]).parent) if run_dirs else "saved_runs"


class CompareScreen(Screen):
    """Two or more saved runs side by side; given one run, a read-only view of that run."""

    CSS_PATH = "compare.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        Binding("v", "metric('val_acc')", "Val acc"),
        Binding("t", "metric('test_acc')", "Test acc"),
        Binding("l", "loss", "Loss"),
        Binding("m", "next_metric", "Metric"),
        Binding("w", "toggle_x", "Epoch/time"),
        Binding("y", "toggle_log", "Log y", show=False),  # 80 columns are spoken for; ? lists it
        Binding("a", "toggle_all", "All fields"),
        Binding("x", "export", "Export"),
        Binding("f", "features", "Features"),
        Binding("ctrl+r", "reload", "Reload", show=False),  # r stays the app's "runs screen"
        Binding("escape", "back", "Back"),
        *[Binding(str(i + 1), f"tab({i})", show=False) for i in range(len(TABS))],
    ]

    def __init__(self, run_dirs: Sequence[str | Path], runs_dir: str | Path | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.run_dirs = [str(d) for d in run_dirs]
        self.runs_dir = str(runs_dir) if runs_dir is not None else _runs_dir_of(self.run_dirs)
        """Where escape goes when nothing is beneath this screen (opened by `cifar-tui compare A B`)."""
        self.runs: list[RunData] = []
        self.metric = "val_acc"
        self.x_axis = "epoch"
        self.log_y = False  # the loss on a log scale (accuracy never: it spans a bounded range)
        self.show_all = False
        self._loads = 0  # reads started (load, reload_in_background)
        self._shown_load = 0  # the read on screen: an older one arriving late is dropped

    def compose(self) -> ComposeResult:
        yield Static(id="cmp-state")
        with TabbedContent(id="cmp-tabs"):
            with TabPane("1 Curves", id="tab-curves"):
                with Horizontal(id="cmp-curves-row"):
                    yield Chart(id="cmp-chart")
                    with Vertical(id="cmp-curves-side"):
                        yield Static(id="cmp-legend")
                        yield DataTable(id="cmp-side-metrics", cursor_type="none")
            with TabPane("2 Metrics", id="tab-metrics"):
                yield Static("at the best-validation epoch / at the last epoch; the best of the runs is highlighted", classes="hint")
                yield DataTable(id="cmp-metrics", cursor_type="row", zebra_stripes=True)
            with TabPane("3 Config", id="tab-config"):
                yield Static(id="cmp-config-hint", classes="hint")
                yield DataTable(id="cmp-config", cursor_type="row", zebra_stripes=True)
            with TabPane("4 Per class", id="tab-classes"):
                yield Static("final per-class test accuracy", id="cmp-classes-hint", classes="hint")
                yield DataTable(id="cmp-classes", cursor_type="row", zebra_stripes=True)
            with TabPane("5 Confusion B−A", id="tab-confusion"):
                with VerticalScroll():
                    yield Static(id="cmp-confusion")
            with TabPane("6 Seeds", id="tab-seeds"):
                with VerticalScroll():
                    yield Static(id="cmp-seeds")
        yield Footer()

    def action_features(self) -> None:
        """f: the compared runs' feature spaces (PCA) side by side (study 001 compares its two models so)."""
        self.post_message(OpenFeatures([str(r.path) for r in self.runs]))

    def on_mount(self) -> None:
        self.load()
        if not any("val_acc" in r for run in self.runs for r in run.metrics):
            self.metric = "test_acc"  # no run held out a validation set
        if len(self.runs) == 1:
            self.query_one(TabbedContent).get_tab("tab-confusion").label = "5 Confusion"
        self.rebuild()
        if any(r.status == RunStatus.RUNNING for r in self.runs):
            self.set_interval(RELOAD_S, self._live_reload)

    # ------------------------------------------------------------------ data

    def load(self) -> None:
        """(Re)read every run now, on the UI thread (on opening): unreadable ones are left out with a notice.
        Their linear probes come from a worker right after (it scans the whole runs directory)."""
        self._loads += 1
        self._show_loaded(*read_runs(self.run_dirs, probes=False), self._loads)
        self.reload_in_background()

    def _show_loaded(self, runs: list[RunData], errors: list[str], number: int) -> None:
        if number < self._shown_load:  # a later read is already on screen
            return
        self._shown_load = number
        for error in errors:
            self.notify(error, severity="warning")
        self.runs = runs
        self.run_dirs = [str(r.path) for r in runs]  # one notice per lost run, not one per reload
        self.title = "Compare " + " · ".join(f"{letter(i)} {r.label}" for i, r in enumerate(runs))

    def reload_in_background(self) -> None:
        self._loads += 1
        self._read_worker(list(self.run_dirs), self._loads)

    @work(thread=True, exclusive=True, group="compare-read", exit_on_error=False)
    def _read_worker(self, run_dirs: list[str], number: int) -> None:
        """Re-read the runs in a thread (live reload, ctrl+r): the UI thread does no file I/O for it."""
        runs, errors = read_runs(run_dirs)
        if not get_current_worker().is_cancelled:
            self.post_message(CompareLoaded(runs, errors, number))

    def on_compare_loaded(self, message: CompareLoaded) -> None:
        self._show_loaded(message.runs, message.errors, message.number)
        self.rebuild()

    def _live_reload(self) -> None:
        if self.is_current and any(r.status == RunStatus.RUNNING for r in self.runs):
            self.reload_in_background()

    def rebuild(self) -> None:
        """Refill every tab from self.runs."""
        self._state()
        self.replot()
        self._metrics_table()
        self._config_table()
        self._classes_table()
        self._confusion()
        self._seeds()

    def _state(self) -> None:
        runs, apart = self.runs, apart_labels(self.runs)
        text = Text()
        for i, r in enumerate(runs[:4]):
            text.append_text(run_tag(i))
            text.append(f" {short_label(r, 30)}")
            text.append(f" {truncate(apart[i], 30)}  " if apart[i] else "  ", style="cyan")
        if len(runs) > 4:
            text.append(f"+{len(runs) - 4} more")
        if not runs:
            text = Text("no readable run to show (escape goes back)", style="yellow")
        self.query_one("#cmp-state", Static).update(text)

    def _headers(self, table: DataTable, first: str, extra: Sequence[str] = ()) -> None:
        table.clear(columns=True)
        table.add_column(first, key="key")
        for i, r in enumerate(self.runs):
            table.add_column(run_tag(i) + Text(" " + short_label(r)), key=f"run{i}")
        for name in extra:
            table.add_column(name, key=name)

    # ------------------------------------------------------------------ curves

    def replot(self) -> None:
        chart = self.query_one("#cmp-chart", Chart)
        label = CURVE_METRICS[self.metric]
        pct = self.metric.endswith("acc")
        data = curves(self.runs, self.metric, self.x_axis)
        series = []
        for i, c in enumerate(data):
            if c.x:
                r, g, b = PALETTE[i % len(PALETTE)]
                # Each run's glyph at its epochs; under NO_COLOR all along its line, the only way to tell the
                # runs apart. No legend in the chart: ours sits beside or below it.
                series.append(Series(c.x, [100 * y for y in c.y] if pct else c.y, f"rgb({r},{g},{b})",
                                     marker=MARKERS[i % len(MARKERS)], fill=self.app.no_color))
        log = self.log_y and not pct
        by = "epoch" if self.x_axis == "epoch" else "wall time"
        hint = " (no run has a validation split; press t)" if self.metric.startswith("val") else ""
        chart.border_title = f"{label}{' %' if pct else ''} by {by}{' · log y' if log else ''}  " \
                             f"[v t l m: metric · w: x axis{' · y: log' if not pct else ''}]"
        chart.border_subtitle = by
        chart.show(series, Axes("whole" if self.x_axis == "epoch" else "time", log, legend=None),
                   f"no {label} recorded yet{hint}")
        self._legend(data)
        self._side_metrics()

    def _legend(self, data: list) -> None:
        text, apart = Text(), apart_labels(self.runs)
        for i, (run, c) in enumerate(zip(self.runs, data)):
            if i:
                text.append("\n")
            text.append_text(run_tag(i))
            text.append(f" {run.label}", style=run_style(i))
            if apart[i]:
                text.append(f" {apart[i]}", style="cyan")
            text.append(f"  {run.status}" + ("" if c.x else f"  (no {CURVE_METRICS[self.metric]})"), style="dim")
        self.query_one("#cmp-legend", Static).update(text)

    def _side_metrics(self) -> None:
        table = self.query_one("#cmp-side-metrics", DataTable)
        table.clear(columns=True)
        for name in ("run", "@best val", "last", "epochs", "wall"):
            table.add_column(name, key=name)
        rows = {m.spec.key: m for m in metric_rows(self.runs)}
        m, wall = rows.get(self.metric), rows.get("wall_time_s")
        for i, r in enumerate(self.runs):
            best = fmt.metric(m.best[i], m.spec.kind) if m else "-"
            style = "bold green" if m and m.best_winner == i else ""
            table.add_row(run_tag(i), Text(best, style=style), fmt.metric(m.last[i], m.spec.kind) if m else "-",
                          str(len(r.metrics)), fmt.metric(wall.last[i], "time") if wall else "-")

    # ------------------------------------------------------------------ tables

    def _metrics_table(self) -> None:
        table = self.query_one("#cmp-metrics", DataTable)
        self._headers(table, "metric")
        for m in metric_rows(self.runs):
            cells = []
            for i in range(len(self.runs)):
                cell = Text()
                if m.spec.has_best:
                    cell.append(fmt.metric(m.best[i], m.spec.kind), style="bold green" if m.best_winner == i else "")
                    cell.append(" / ", style="dim")
                cell.append(fmt.metric(m.last[i], m.spec.kind), style="bold green" if m.last_winner == i else "")
                cells.append(cell)
            table.add_row(m.spec.label, *cells, key=m.spec.key)

    def _config_table(self) -> None:
        table = self.query_one("#cmp-config", DataTable)
        self._headers(table, "field")
        rows = config_rows(self.runs, self.show_all)
        for key, values in rows:
            differs = len(set(values)) > 1
            table.add_row(Text(key, style="bold" if differs else "dim"), *values, key=key)
        what = "every field (a: only those that differ)" if self.show_all else "fields that differ (a: every field)"
        if not rows:
            what = "the configurations are identical (a: show every field)"
        self.query_one("#cmp-config-hint", Static).update(what)

    def _classes_table(self) -> None:
        table = self.query_one("#cmp-classes", DataTable)
        pc = per_class_rows(self.runs)
        self._headers(table, "class", [pc.delta_label])
        for name, values, delta in zip(pc.class_names, pc.values, pc.delta):
            present = [v for v in values if v is not None]
            top = max(present) if len(set(present)) > 1 else None
            cells = [Text(fmt.class_pct(v), style="bold green" if v is not None and v == top else "") for v in values]
            if delta is None:
                d = Text("-")
            else:
                style = "" if pc.delta_label == "spread" else ("green" if delta > 0 else "red" if delta < 0 else "dim")
                d = Text(fmt.class_pct(delta)[:-1] if pc.delta_label == "spread" else fmt.points(delta), style=style)
            table.add_row(name, *cells, d, key=name)

    def _confusion(self) -> None:
        box = self.query_one("#cmp-confusion", Static)
        if len(self.runs) == 1:  # a single run (opened as its own view): its matrix itself
            box.update(own_confusion(self.runs[0]))
            return
        if len(self.runs) != 2:
            box.update("The confusion difference needs exactly two runs (select two on the runs screen).")
            return
        try:
            diff = confusion_diff(self.runs[0], self.runs[1])
        except UserError as exc:
            box.update(str(exc))
            return
        box.update(diff_view(diff, self.app.no_color))

    def _seeds(self) -> None:
        self.query_one("#cmp-seeds", Static).update(seeds_view(self.runs))

    # ------------------------------------------------------------------ keys

    def action_metric(self, metric: str) -> None:
        self.metric = metric
        self.query_one(TabbedContent).active = "tab-curves"
        self.replot()

    def action_loss(self) -> None:
        nxt = LOSS_CYCLE[(LOSS_CYCLE.index(self.metric) + 1) % len(LOSS_CYCLE)] if self.metric in LOSS_CYCLE else LOSS_CYCLE[0]
        self.action_metric(nxt)

    def action_next_metric(self) -> None:
        self.action_metric(METRIC_CYCLE[(METRIC_CYCLE.index(self.metric) + 1) % len(METRIC_CYCLE)])

    def action_toggle_x(self) -> None:
        self.x_axis = "wall" if self.x_axis == "epoch" else "epoch"
        self.replot()

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        if self.metric.endswith("acc"):
            self.notify("log y applies to the loss: press l for a loss curve")
        self.replot()

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.query_one(TabbedContent).active = "tab-config"
        self._config_table()

    def action_tab(self, index: int) -> None:
        self.query_one(TabbedContent).active = TABS[index]

    def action_reload(self) -> None:
        self.reload_in_background()

    def action_back(self) -> None:
        """Back to the screen beneath; opened on its own (`cifar-tui compare A B`), to the runs of its runs directory."""
        if len(self.app.screen_stack) > 2:  # [default, this screen]: nothing of the app beneath
            self.app.pop_screen()
            return
        self.post_message(OpenRuns(self.runs_dir))

    def action_export(self) -> None:
        prompt_export(self, [r.path for r in self.runs], "compare-export")
