"""The dashboard's top panel: what is running where, and how far along it is."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from tui import format as fmt
from tui.state.run_state import Phase, RunState
from tui.widgets.system_line import system_text

PHASE_STYLES = {
    Phase.TRAINING: "bold green", Phase.PAUSED: "bold yellow", Phase.STOPPING: "bold yellow", Phase.STARTING: "cyan",
    Phase.FOLLOWING: "bold cyan", Phase.COMPLETED: "bold green", Phase.INTERRUPTED: "bold yellow",
    Phase.FAILED: "bold red", Phase.DIVERGED: "bold red", Phase.STALE: "bold red", Phase.ERROR: "bold red",
    Phase.UNREADABLE: "bold red",
}


def progress_bar(fraction: float, width: int) -> Text:
    """A solid bar in eighths of a cell (reads in monochrome: filled vs. dotted)."""
    width = max(4, width)
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + (" ▏▎▍▌▋▊▉"[rest] if rest else "")
    return Text(text, style="green") + Text("·" * (width - len(text)), style="dim")


def identity_line(state: RunState) -> Text:
    """Phase, run, model · strategy · dataset · device, preset, parameters."""
    phase = state.phase
    top = Text()
    top.append(f" {phase.value.upper()} ", style=f"reverse {PHASE_STYLES.get(phase, 'bold')}")
    top.append(f" {state.run_id or 'starting...'}", style="bold")
    top.append(f"  {state.model} · {state.strategy} · {state.dataset} · {state.device}")
    if state.preset:
        top.append(f" · preset {state.preset}", style="dim")
    if state.params_total:
        top.append(f"  {fmt.params(state.params_total)} params", style="dim")
        if state.params_trainable != state.params_total:
            top.append(f" ({fmt.params(state.params_trainable)} trainable)", style="dim")
    return top


def clock_text(state: RunState) -> Text:
    """Elapsed training time (stopped and marked while paused), then the ETA of a live run."""
    text = Text(f" elapsed {fmt.duration(state.elapsed_s)}  ")
    if state.phase is Phase.PAUSED:
        text.append("(paused)", style="bold yellow")
        text.append("  ")
    elif state.phase.live:
        text.append(f"ETA {fmt.duration(state.eta_s)}  ")
    return text


def results_text(state: RunState) -> Text:
    """A run that has ended: its test accuracy at the last epoch, and at the epoch validation picked."""
    text = Text()
    last = state.epoch_series["test_acc"][-1] if state.epoch_series["test_acc"] else None
    if last is not None:
        text.append(f"test {fmt.pct(last)}", style="bold")
    if state.best_acc is not None:
        at_best = state.test_acc_at(state.best_epoch)
        there = f", test {fmt.pct(at_best)}" if at_best is not None else ""
        text.append(f"  best val {fmt.pct(state.best_acc)} (ep {state.best_epoch}{there})", style="bold")
    return text


def stats_text(state: RunState) -> Text:
    """Clock, speed (a finished run: its test accuracy first), best and study accuracy, then GPU memory,
    loss, lr, epoch time.

    What a glance is for comes first: a narrow terminal cuts the end of the line.
    """
    stats = clock_text(state)
    results = results_text(state) if not state.phase.live else Text()
    if results:
        stats.append(results)
        stats.append("  ")
    stats.append(f"{fmt.rate(state.img_per_s)} img/s")
    if state.best_acc is not None and not results:
        stats.append(f"  best val {fmt.pct(state.best_acc)} (ep {state.best_epoch})", style="bold")
    elif state.n_val == 0:
        stats.append("  no val split", style="dim")  # nothing is selected: best.pt is the last epoch
    if state.probe_acc is not None:  # beside the run's own test accuracy, as study 001 reports them
        test = state.epoch_series["test_acc"][-1] if state.epoch_series["test_acc"] else None
        stats.append(f"  probe {fmt.pct(state.probe_acc)} (test {fmt.pct(test)})", style="bold")
    if state.reported_test_acc:
        stats.append(f"  study {fmt.pct(state.reported_test_acc)}", style="dim")
    if state.gpu_mem is not None:  # CUDA only: the CPU has no such number
        stats.append(f"  GPU {fmt.memory(state.gpu_mem, state.gpu_peak)}")
    if state.loss is not None:
        stats.append(f"  loss {fmt.loss(state.loss)}")
    if state.lr is not None:
        stats.append(f"  lr {fmt.lr(state.lr)}")
    if state.last_epoch_s is not None:
        stats.append(f"  {fmt.duration(state.last_epoch_s)}/ep")
    return stats


def activity_text(state: RunState) -> tuple[Text, float | None]:
    """Where the run is and how far along: the epoch and step, or the phase outside the steps
    ('epoch 3/10 · evaluating val 3,000/5,000 images (60%)'); and the fraction its bar shows (None: no bar)."""
    p = state.activity
    epoch = f"epoch {state.epoch}/{state.epochs or '?'}"
    if p is None:
        spe = state.steps_per_epoch
        steps = f"  step {min(state.step, spe)}/{spe}" if spe else ""  # saved runs only know epochs
        return Text(f" {epoch}{steps} "), state.progress
    where = f"{epoch} · " if state.epoch else ""
    left = f" {where}{p.phase} {fmt.progress(p.done, p.total, p.unit)}"
    if p.eta_s is not None and p.run_eta_s is None:  # before the run's own ETA exists: this phase's
        left += f", {fmt.duration(p.eta_s)} left"
    return Text(left + " ", style="cyan"), (p.done / p.total if p.total else None)


def header_text(state: RunState, width: int) -> Table:
    """Identity (run, model, strategy, dataset, device), then progress; 2 lines wide, 3 narrow; and the
    machine (system_line) on one more while the run trains here."""
    grid = Table.grid(expand=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_row(identity_line(state))
    progress_rows(grid, state, width)
    if state.system is not None:
        grid.add_row(system_text(state.system, width))
    return grid


def progress_rows(grid: Table, state: RunState, width: int) -> None:
    """Where the run is, its bar and its numbers: one row when they fit ``width``, else two."""
    left, fraction = activity_text(state)
    pct = Text(f" {fmt.share(fraction):>4} ") if fraction is not None and state.activity is None else Text(" ")
    stats = stats_text(state)
    if fraction is None:  # a phase of unknown size: its count, no bar
        fits = len(left) + len(stats) <= width
        grid.add_row(left + stats if fits else left)
        if not fits:
            grid.add_row(stats)
        return
    bar_width = width - len(left) - len(pct) - len(stats)
    if bar_width >= 12:
        grid.add_row(left + progress_bar(fraction, bar_width) + pct + stats)
    else:  # narrow: the bar keeps a usable length and the numbers get their own line
        grid.add_row(left + progress_bar(fraction, width - len(left) - len(pct)) + pct)
        grid.add_row(stats)


class RunHeader(Widget):
    """Renders header_text for the RunState it is given."""

    def __init__(self, state: RunState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self._rows = 0
        self._built: tuple[int, Table] | None = None
        """(width, table) made by update() for the render that follows: the header redraws twice a second
        while training, and building the table is most of its cost."""

    def update(self) -> None:
        """Redraw; a relayout of the screen only when the header's height changes (it is costly)."""
        width = max(20, self.size.width)
        table = header_text(self.state, width)
        self._built = (width, table)
        self.refresh(layout=table.row_count != self._rows)
        self._rows = table.row_count

    def render(self) -> Table:
        width = max(20, self.size.width)
        built, self._built = self._built, None
        table = built[1] if built is not None and built[0] == width else header_text(self.state, width)
        self._rows = table.row_count
        return table
