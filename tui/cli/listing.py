"""`cifar-tui runs`: the saved runs as a plain table that fits the terminal, with config columns on demand.

Piped (a script, `| grep`), the table keeps every column at full width; on a terminal it fits the width:
the least needed columns go first, then the run name is shortened (its id stays in `--json`).
"""
from __future__ import annotations

import shutil
import sys

from engine.runs import RunStatus
from engine.runs.index import RunEntry

from tui import format as fmt
from tui.columns import config_cell, flag_name

COLUMNS = ("run", "status", "dataset", "model", "strategy", "epochs", "best val", "test (last)", "wall", "img/s")
DROP_ORDER = ("img/s", "wall", "strategy", "dataset", "best val", "status")
"""Which columns a narrow terminal loses first; run, model, epochs and the test accuracy always stay."""
MIN_NAME = 20


def run_cells(e: RunEntry, extra: list[str], *, narrow: bool = False) -> list[str]:
    """One row; ``narrow``: the name without the id's start time (what tells runs apart is at its end)."""
    r, meta = e.info, e.meta
    name = (e.short_name if narrow else e.name) + "".join(f" #{t}" for t in meta.tags)
    if r.error:
        return [name, RunStatus.UNREADABLE.value, r.error] + [""] * (len(COLUMNS) - 3 + len(extra))
    s, c = r.summary, r.config
    return [
        name, e.status, c.get("dataset", "?"), c.get("model", "?"), c.get("strategy", "?"),
        f"{s.get('epochs_done', 0)}/{c.get('epochs', '?')}", fmt.pct(s.get("best_acc")), fmt.pct(s.get("test_acc")),
        fmt.duration(s.get("wall_time_s")), fmt.rate(s.get("img_per_s")),
    ] + [config_cell(c, k) for k in extra]


def runs_table(runs: list[RunEntry], extra: list[str] | None = None, width: int | None = None) -> str:
    """An aligned text table; with ``width``, columns are dropped and the name shortened to fit it."""
    extra = extra or []
    header = list(COLUMNS) + [flag_name(k) for k in extra]
    rows = [header] + [run_cells(r, extra) for r in runs]
    keep = list(range(len(header)))
    if width is not None and _line_width(rows, keep) > width:
        narrow = [header] + [run_cells(r, extra, narrow=True) for r in runs]
        names = [row[0] for row in narrow[1:]]
        if len(set(names)) == len(names):  # without start times two runs of one config would read the same
            rows = narrow
        keep = _fit(rows, keep, width)
        rows = [[row[i] for i in keep] for row in rows]
        rows = _shorten_names(rows, width)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def terminal_width() -> int | None:
    """The terminal's columns when stdout is one; None when piped (scripts get every column)."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _line_width(rows: list[list[str]], keep: list[int]) -> int:
    return sum(max(len(row[i]) for row in rows) for i in keep) + 2 * (len(keep) - 1)


def _fit(rows: list[list[str]], keep: list[int], width: int) -> list[int]:
    names = rows[0]
    for column in DROP_ORDER:
        name_w = max(len(row[0]) for row in rows)
        if _line_width(rows, keep) - max(0, name_w - MIN_NAME) <= width:
            break
        keep = [i for i in keep if names[i] != column]
    return keep


def _shorten_names(rows: list[list[str]], width: int) -> list[list[str]]:
    over = _line_width(rows, list(range(len(rows[0])))) - width
    if over <= 0:
        return rows
    name_w = max(MIN_NAME, max(len(row[0]) for row in rows) - over)
    return [[fmt.shorten_middle(row[0], name_w)] + row[1:] for row in rows]
