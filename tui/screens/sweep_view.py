"""What the sweep screen shows, as text: the trials' cells, the state and info lines, the importance
bars and the scatter's points. Functions of engine.sweeps' plain data, readable and testable
without a terminal; the screen (tui.screens.sweep) only places them.
"""
from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text

from engine.sweeps.definition import SweepDefinition
from engine.sweeps.space import params_text, value_text
from engine.sweeps.table import MIN_IMPORTANCE_TRIALS, SweepTable, TrialRow
from engine.sweeps.watch import SweepSnapshot

from tui import format as fmt
from tui.screens import runs_live
from tui.widgets.param_scatter import ParamPoints

STATUS_STYLE = {"completed": "", "running": "bold green", "pruned": "yellow", "interrupted": "yellow",
                "failed": "red", "waiting": "dim"}
BAR_CHARS = " ▏▎▍▌▋▊▉█"
TOP_K = 4
"""c with nothing selected compares this many of the best trials (four read apart at 80 columns)."""


def columns(params: list[str]) -> list[tuple[str, str]]:
    """(key, header) of the trials table after the selection mark: trial, status, best val, epochs, each param."""
    return [("trial", "trial"), ("status", "status"), ("best_val", "best val"), ("epochs", "epochs"),
            *((f"param:{p}", p) for p in params)]


def trial_cells(row: TrialRow, params: list[str], selected: bool, live: dict[str, Any] | None) -> list[Text | str]:
    """One trial's row: the mark, then a cell per column of ``columns``; a running trial's status and
    epochs from its progress.json (the step inside the epoch), as the runs screen shows a running run."""
    mark: Text | str = Text("●", style="bold cyan") if selected else " "
    status: Text | str = Text(f"pruned@{row.pruned_at}" if row.status == "pruned" and row.pruned_at else row.status,
                              style=STATUS_STYLE.get(row.status, ""))
    epochs: Text | str = f"{row.epochs_done or 0}/{row.epochs}" if row.epochs else fmt.MISSING
    if live is not None and row.status == "running":
        cells = runs_live.cells(live, row.epochs)
        status, epochs = cells["status"], cells["epochs"]
    values = [value_text(row.params[p]) if p in row.params else fmt.MISSING for p in params]
    return [mark, Text(f"t{row.number}", justify="right"), status, Text(fmt.pct(row.best_val), justify="right"),
            epochs, *values]


def cell_width(cell: Text | str) -> int:
    """Columns a cell takes on screen."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def state_text(snap: SweepSnapshot | None, name: str, driving: str) -> Text:
    """'lr-bs (grid) 12 trials: 8 completed, 2 running · best t3 61.50%' and what this app does with it."""
    if snap is None:
        return Text(f"sweep {name}: reading its study...", style="dim")
    table = snap.table
    text = Text(f"{table.name}", style="bold")
    shown = len(table.rows)
    counts = ", ".join(f"{n} {state}" for state, n in table.counts.items() if n) or "no trial yet"
    text.append(f" ({table.sampler}) {shown if shown == table.trials else f'{shown} of {table.trials}'} "
                f"trials: {counts}")
    if table.best is not None:
        text.append(f" · best t{table.best.number} {fmt.pct(table.best.best_val)}", style="bold green")
    if driving:
        text.append(f" · {driving}", style="cyan")
    return text


def drive_text(drive: str, parallel: int) -> str:
    """What the driver this app runs is doing, for the state line ('' when the screen only shows the sweep)."""
    return {"running": f"running, {parallel} at once (q stops)", "stopping": "stopping: each trial saves its run",
            "stopped": "stopped: trials saved, the same command continues", "finished": "finished",
            "failed": "the sweep's driver failed (its trials stopped); the same command continues"}.get(drive, "")


def info_text(row: TrialRow | None, live: dict[str, Any] | None) -> Text:
    """The lines under the table for the trial under the cursor: its settings, run, progress or reason."""
    if row is None:
        return Text("")
    text = Text(f"t{row.number}", style="bold")
    text.append(f"  {params_text(row.params)}")
    text.append(f"  {row.run_id}" if row.run_id else "  (no run yet)", style="dim")
    if live is not None and row.status == "running":
        text.append(f"\n{runs_live.sentence(live, row.epochs)}", style="green")
    elif row.error:
        text.append(f"\nerror: {row.error}", style="red")
    elif row.status == "pruned":
        text.append(f"\npruned after epoch {row.pruned_at}: below the median of the completed trials there",
                    style="yellow")
    elif row.status == "interrupted":
        text.append("\ninterrupted: saved; the same 'cifar-tui sweep NAME' continues it", style="yellow")
    return text


def bar(share: float, width: int) -> str:
    """A horizontal bar of ``share`` (0..1) of ``width`` cells, in eighths."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (BAR_CHARS[rest] if rest else "")).ljust(width)


def importance_text(table: SweepTable, width: int, compact: bool = False) -> Text:
    """Which params matter (PED-ANOVA): a bar per param, or why there is none yet. ``compact``: one line."""
    done = table.counts.get("completed", 0)
    if not table.importances:
        if done < MIN_IMPORTANCE_TRIALS:
            more = MIN_IMPORTANCE_TRIALS - done
            why = f"after {MIN_IMPORTANCE_TRIALS} completed trials: {more} more needed"
        else:
            why = "none: no param varies among the completed trials"
        return Text(f"importance: {why}" if compact else why, style="dim")
    items = sorted(table.importances.items(), key=lambda kv: -kv[1])
    if compact:
        text = Text("importance: ", style="bold")
        for i, (name, value) in enumerate(items):
            text.append(("  " if i else "") + f"{name} ")
            text.append(bar(value, 6).rstrip() or "▏", style="cyan")
            text.append(f" {value:.2f}")
        return text
    label = min(max(len(n) for n, _ in items), max(6, width // 3))
    room = max(4, width - label - 7)
    text = Text(f"PED-ANOVA over {done} completed trials", style="dim")
    for name, value in items:
        text.append(f"\n{fmt.truncate(name, label).ljust(label)} ")
        text.append(bar(value, room), style="cyan")
        text.append(f" {value:.2f}")
    text.append("\n\nhow much each param's value tells the best trials from the rest (the shares add to 1)",
                style="dim")
    return text


def scatter_points(table: SweepTable, defn: SweepDefinition, param: str) -> ParamPoints:
    """Every trial with a validation accuracy, at its value of ``param``."""
    spec = next((p for p in defn.params if p.field == param), None)
    rows = [r for r in table.rows if r.best_val is not None and param in r.params]
    return ParamPoints(param, spec.kind if spec else "list", tuple(spec.values) if spec else (),
                       [r.params[param] for r in rows], [float(r.best_val or 0.0) for r in rows],
                       [r.status for r in rows])


def best_title(row: TrialRow | None, completed: bool) -> str:
    """The curves panel's title: which trial it draws (short: the panel is 40 columns at 80)."""
    if row is None:
        return "best trial: none yet"
    what = "best" if completed else "leading (none completed)"
    return f"{what} t{row.number} · {params_text(row.params)}"
