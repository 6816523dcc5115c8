"""The rows of the runs table: columns, cell text, filtering and sorting.

Kept apart from the screen so the rules (what a column shows, how a filter
matches, where runs without a value sort) read and test without a terminal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from rich.text import Text

from engine.runs import RunStatus
from engine.runs.index import RunEntry

from .. import format as fmt

STATUS_STYLE = {RunStatus.RUNNING: "bold green", RunStatus.STARTING: "green", RunStatus.STALE: "yellow",
                RunStatus.FAILED: "red", RunStatus.DIVERGED: "red", RunStatus.UNREADABLE: "bold red",
                RunStatus.INTERRUPTED: "yellow", RunStatus.COMPLETED: ""}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    desc_first: bool = False  # accuracies and speed: the best first on the first press


# What decides between runs comes first, so it is on screen at 80 columns; the rest scrolls.
COLUMNS = (
    Column("name", "name"), Column("status", "status"), Column("best_val", "best val", True, True),
    Column("test", "test acc", True, True), Column("epochs", "epochs", True), Column("wall", "wall", True),
    Column("rate", "img/s", True, True), Column("start", "started", False, True), Column("dataset", "dataset"),
    Column("model", "model"), Column("strategy", "strategy"),
)
SORT_KEYS = "1234567890"  # digit n sorts by the n-th column (0 = tenth)
NAME_WIDTH = 28  # model-strategy-name fits (the timestamp is the 'started' column); longer names are clipped


def row_values(e: RunEntry) -> dict[str, Any]:
    """Raw, sortable values of one run (None where unknown)."""
    s, c = e.info.summary, e.info.config
    return {
        "name": e.name, "dataset": c.get("dataset", ""), "model": c.get("model", ""),
        "strategy": c.get("strategy", ""), "epochs": s.get("epochs_done"),
        "best_val": s.get("best_acc") if s.get("best_metric") == "val_acc" else None,
        "test": s.get("test_acc"), "wall": s.get("wall_time_s"), "rate": s.get("img_per_s"),
        "status": e.status, "start": s.get("started_at") or e.info.run_id,
    }


def _start_text(stamp: str) -> str:
    try:
        when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return "-"
    return when.strftime("%m-%d %H:%M")  # UTC, as stored: servers and laptops agree on it


def row_cells(e: RunEntry, selected: bool) -> list[Text | str]:
    """The table cells of one run (the first is the selection mark)."""
    v = row_values(e)
    mark = Text("●", style="bold cyan") if selected else " "
    name = Text(fmt.truncate(e.short_name, NAME_WIDTH))
    if e.meta.tags:
        name.append(" " + fmt.truncate(" ".join("#" + t for t in e.meta.tags), 16), style="dim")
    status = Text(e.status, style=STATUS_STYLE.get(e.status, ""))
    start = _start_text(e.info.summary.get("started_at"))
    if e.status == RunStatus.STARTING:
        return [mark, name, status, *[""] * 5, start, "", "", ""]
    if e.info.error:  # the reason goes where the metrics would be; the info line has it in full
        return [mark, name, status, Text(fmt.truncate(e.info.error, 30), style="red"), *[""] * 4, start, "", "", ""]
    return [
        mark, name, status, Text(fmt.pct(v["best_val"]), justify="right"), Text(fmt.pct(v["test"]), justify="right"),
        f"{v['epochs'] or 0}/{e.info.config.get('epochs', '?')}", Text(fmt.duration(v["wall"]), justify="right"),
        Text(fmt.rate(v["rate"]), justify="right"), start, v["dataset"], v["model"], v["strategy"],
    ]


def matches(e: RunEntry, query: str) -> bool:
    """Every word of query occurs somewhere in the run's row, tags (#tag) or note."""
    hay = " ".join(str(x) for x in row_values(e).values() if x is not None)
    hay = f"{hay} {e.info.run_id} {' '.join('#' + t for t in e.meta.tags)} {e.meta.note}".lower()
    return all(word in hay for word in query.lower().split())


def sort_entries(entries: list[RunEntry], key: str, descending: bool) -> list[RunEntry]:
    """Sorted by one column; runs without a value go last whichever the direction."""
    have = [e for e in entries if row_values(e)[key] not in (None, "")]
    missing = [e for e in entries if row_values(e)[key] in (None, "")]
    numeric = next(c.numeric for c in COLUMNS if c.key == key)
    conv: Callable[[Any], Any] = float if numeric else (lambda x: str(x).lower())
    have.sort(key=lambda e: conv(row_values(e)[key]), reverse=descending)
    return have + missing
