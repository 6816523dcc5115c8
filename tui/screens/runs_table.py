"""The rows of the runs table: columns, cell text, filtering and sorting.

Kept apart from the screen so the rules (what a column shows, how a filter
matches, where runs without a value sort) read and test without a terminal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

from rich.text import Text

from engine.analysis.compare import NOT_EXPERIMENT, flatten, fmt_value
from engine.runs import RunStatus
from engine.runs.index import RunEntry
from engine.training.selection import chose_by_validation

from tui import columns
from tui import format as fmt
from tui.screens import runs_live

STATUS_STYLE = {RunStatus.RUNNING: "bold green", RunStatus.STARTING: "green", RunStatus.STALE: "yellow",
                RunStatus.FAILED: "red", RunStatus.DIVERGED: "red", RunStatus.UNREADABLE: "bold red",
                RunStatus.INTERRUPTED: "yellow", RunStatus.COMPLETED: ""}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    desc_first: bool = False  # accuracies and speed: the best first on the first press
    short: str = ""
    """A config column's header where the table is wider than the screen ('': the label)."""
    config: bool = False
    """A config field (tui.columns), added or removed with v."""


# What decides between runs comes first, so it is on screen at 80 columns; the rest scrolls.
COLUMNS = (
    Column("name", "name"), Column("status", "status"), Column("best_val", "best val", True, True),
    Column("test", "test acc", True, True), Column("epochs", "epochs", True),
    Column("wall", "wall", True), Column("rate", "img/s", True, True), Column("start", "started", False, True),
    Column("dataset", "dataset", config=True), Column("model", "model", config=True),
    Column("strategy", "strategy", config=True),
)
ALWAYS = ("name", "status")
FIRST = ("name", "status", "best_val", "test")
"""Columns a person adds come right after these: on screen at 80 columns, not scrolled off to the right."""
DEFAULT_SHOWN = tuple(c.key for c in COLUMNS if c.key not in ALWAYS)
SORT_KEYS = "1234567890"  # digit n sorts by the n-th column shown (0 = tenth)
NAME_WIDTH = 40  # the name cell in all: name, what tells same-named runs apart, tags; clipped with …
BASE_WIDTH = 28  # model-strategy-name fits (the timestamp is the 'started' column)
BASE_WIDTH_APART = 20  # ... and leaves room for 'lr=0.1 seed=2' beside it
# Config fields that never tell runs apart for a person: where and how a run was stored, the machine.
NOT_TELLING = tuple(k for k in NOT_EXPERIMENT if k != "seed")


def column(key: str) -> Column:
    """A built-in column, or a config field's (tui.columns)."""
    found = next((c for c in COLUMNS if c.key == key), None)
    return found or Column(key, columns.long_name(key), short=columns.short_name(key), config=True)


def layout(shown: Sequence[str]) -> list[Column]:
    """The table's columns: name and status, the results, the columns added, then the rest shown."""
    chosen = [k for k in dict.fromkeys(shown) if k not in ALWAYS]
    built_in = [c.key for c in COLUMNS]
    added = [k for k in chosen if k not in built_in]
    order = [k for k in FIRST if k in ALWAYS or k in chosen] + added
    order += [k for k in built_in if k in chosen and k not in order]
    return [column(k) for k in order]


def row_values(e: RunEntry) -> dict[str, Any]:
    """Raw, sortable values of one run's built-in columns (None where unknown)."""
    s, c = e.info.summary, e.info.config
    return {
        "name": e.name, "dataset": c.get("dataset", ""), "model": c.get("model", ""),
        "strategy": c.get("strategy", ""), "epochs": s.get("epochs_done"),
        "best_val": s.get("best_acc") if chose_by_validation(s) else None,
        "test": s.get("test_acc"), "wall": s.get("wall_time_s"), "rate": s.get("img_per_s"),
        "status": e.status, "start": s.get("started_at") or e.info.run_id,
    }


def sort_value(e: RunEntry, key: str) -> Any:
    """What a column sorts by for one run: a built-in value, else the config field's."""
    values = row_values(e)
    return values[key] if key in values else columns.value(e.info.config, key)


def start_text(e: RunEntry) -> str:
    """When the run started, 'MM-DD HH:MM' UTC as stored (servers and laptops agree on it): from its
    summary, else from the stamp its id begins with (an unreadable run has no summary to ask)."""
    stamps = ((e.info.summary.get("started_at"), "%Y-%m-%dT%H:%M:%SZ"), (e.info.run_id[:15], "%Y%m%d-%H%M%S"))
    for stamp, form in stamps:
        if not isinstance(stamp, str):
            continue
        try:
            return datetime.strptime(stamp, form).strftime("%m-%d %H:%M")
        except (TypeError, ValueError):
            continue
    return fmt.MISSING


def _fields(config: dict[str, Any]) -> dict[str, Any]:
    """A config, flattened, without the fields that never tell runs apart."""
    return {k: v for k, v in flatten(config).items() if k.split(".")[0] not in NOT_TELLING}


def _split(classes: list[list[int]], flat: list[dict[str, str]], key: str) -> list[list[int]]:
    """Each class of runs split by their value of key."""
    out: list[list[int]] = []
    for members in classes:
        by: dict[str, list[int]] = {}
        for i in members:
            by.setdefault(flat[i].get(key, fmt.MISSING), []).append(i)
        out.extend(by.values())
    return out


def _telling_keys(flat: list[dict[str, str]], keys: list[str]) -> list[str]:
    """Few fields whose values tell the runs apart: greedily the one that splits them most (ties: config order)."""
    classes, chosen = [list(range(len(flat)))], []
    while any(len(c) > 1 for c in classes):
        options = [(len(_split(classes, flat, k)), k) for k in keys if k not in chosen]
        best = max(options, key=lambda o: o[0], default=(0, ""))
        if best[0] <= len(classes):
            break  # the runs left together read the same in every field
        chosen.append(best[1])
        classes = _split(classes, flat, best[1])
    return [k for k in keys if k in chosen]


def apart_texts(configs: list[dict[str, Any]]) -> list[str]:
    """For runs that read the same: 'lr=0.1 seed=2' per run, the fewest config fields that tell them apart.

    A field that differs but is not needed (epochs=6 beside lr=0.2 when lr alone tells) is left to its column.
    """
    flat = [{k: fmt_value(v) for k, v in _fields(c).items()} for c in configs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    keys = [k for k in keys if len({f.get(k, fmt.MISSING) for f in flat}) > 1]
    chosen = _telling_keys(flat, keys)
    return [" ".join(f"{k}={f.get(k, fmt.MISSING)}" for k in chosen) for f in flat]


def tell_apart(entries: list[RunEntry]) -> dict[str, str]:
    """run id -> 'lr=0.1 seed=2' for runs that would read the same in the name column.

    Runs without a display name are grouped by their short name; within a group, the config fields
    whose values differ name each run (the start time where the configs are the same).
    """
    groups: dict[str, list[RunEntry]] = {}
    for e in entries:
        if not e.meta.name and not e.info.error:
            groups.setdefault(e.short_name, []).append(e)
    out: dict[str, str] = {}
    for members in (g for g in groups.values() if len(g) > 1):
        for e, text in zip(members, apart_texts([m.info.config for m in members])):
            out[e.info.run_id] = text or start_text(e)
    return out


def name_cell(e: RunEntry, apart: str = "") -> Text:
    """The name, what tells it from same-named runs, then its tags: NAME_WIDTH in all."""
    base = fmt.truncate(e.short_name, BASE_WIDTH_APART if apart else BASE_WIDTH)
    cell, room = Text(base), NAME_WIDTH - len(base)
    tags = " ".join("#" + t for t in e.meta.tags)
    for piece, style in ((apart, "cyan"), (tags, "dim")):
        if piece and room > 4:
            cut = fmt.truncate(piece, room - 1)
            cell.append(" " + cut, style=style)
            room -= len(cut) + 1
    return cell


def describe(e: RunEntry) -> str:
    """What the info line says of a run beside its id: dataset · model · strategy · start time."""
    c = e.info.config
    parts = [str(c[k]) for k in ("dataset", "model", "strategy") if c.get(k)]
    start = start_text(e)
    if start != fmt.MISSING:
        parts.append(f"started {start}")  # UTC, as the started column
    return " · ".join(parts)


def info_text(e: RunEntry, live: dict[str, Any] | None = None) -> Text:
    """The lines under the table for the run under the cursor: what it is, what is wrong with it, where it is."""
    text = Text(e.info.run_id, style="bold")
    text.append(f"  {describe(e)}")
    if e.info.error:  # on its own line, not in the table's columns
        text.append(f"\nunreadable: {e.info.error}", style="red")
    if live is not None and e.status is RunStatus.RUNNING:
        text.append(f"\n{runs_live.sentence(live, e.info.config.get('epochs'))}", style="green")
    if e.meta.note:
        text.append(f"\nnote: {e.meta.note}")
    if e.status is RunStatus.STALE:
        text.append("\nstale: the process writing this run is gone; it will not finish (R resumes it)", style="yellow")
    elif e.info.summary.get("error"):
        text.append(f"\nerror: {e.info.summary['error']}", style="red")
    if e.status in (RunStatus.INTERRUPTED, RunStatus.FAILED):
        text.append(f"\n{e.status.value}: R resumes it where it stopped", style="dim")
    text.append(f"\n{e.info.path}", style="dim")
    return text


def _cells(e: RunEntry, live: dict[str, Any] | None) -> dict[str, Text | str]:
    """Every built-in cell of a run by column key; a running run's from its progress.json when there is one."""
    v = row_values(e)
    cells: dict[str, Text | str] = {
        "status": Text(e.status, style=STATUS_STYLE.get(e.status, "")),
        "best_val": Text(fmt.pct(v["best_val"]), justify="right"), "test": Text(fmt.pct(v["test"]), justify="right"),
        "epochs": f"{v['epochs'] or 0}/{e.info.config.get('epochs', '?')}",
        "wall": Text(fmt.duration(v["wall"]), justify="right"), "rate": Text(fmt.rate(v["rate"]), justify="right"),
        "start": start_text(e),
    }
    if live is not None and e.status is RunStatus.RUNNING:
        cells.update(runs_live.cells(live, e.info.config.get("epochs")))
    return cells


def row_cells(e: RunEntry, selected: bool, apart: str = "", shown: Sequence[Column] = (),
              live: dict[str, Any] | None = None) -> list[Text | str]:
    """The table cells of one run (the first is the selection mark), one per column of ``shown`` (default: the
    built-in columns); apart: from tell_apart; live: the run's progress.json record (runs_live)."""
    mark = Text("●", style="bold cyan") if selected else " "
    cells = _cells(e, live)
    blank = e.status == RunStatus.STARTING or bool(e.info.error)  # an unreadable run's reason: on the info line
    out: list[Text | str] = [mark]
    for col in shown or COLUMNS:
        if col.key == "name":
            out.append(name_cell(e, apart))
        elif col.key in ("status", "start"):
            out.append(cells[col.key])
        elif blank:
            out.append("")
        elif col.key in cells:
            out.append(cells[col.key])
        else:
            out.append(_config_cell(e.info.config, col.key))
    return out


def _config_cell(config: dict[str, Any], key: str) -> Text | str:
    raw = columns.value(config, key)
    text = columns.cell(raw)
    return Text(text, justify="right") if _number(raw) else text


def _cell_len(cell: Any) -> int:
    return cell.cell_len if isinstance(cell, Text) else len(str(cell))


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def header_labels(shown: Sequence[Column], rows: Sequence[Sequence[Any]], width: int, arrow: dict[str, str]
                  ) -> list[str]:
    """Each column's header: its long name where the table fits ``width``, else the short ones (the width there
    is goes to the values). ``rows``: the cells without the mark; ``arrow``: the sort column's arrow."""
    def table_width(labels: list[str]) -> int:
        widths = [max([len(label)] + [_cell_len(r[i]) for r in rows]) for i, label in enumerate(labels)]
        return sum(w + 2 for w in widths) + 3  # cell padding 1 + 1; the mark column

    long = [c.label + arrow.get(c.key, "") for c in shown]
    if table_width(long) <= width:
        return long
    return [(c.short or c.label) + arrow.get(c.key, "") for c in shown]


def matches(e: RunEntry, query: str) -> bool:
    """Every word of query occurs somewhere in the run's row, tags (#tag), note or config (lr=0.1)."""
    hay = " ".join(str(x) for x in row_values(e).values() if x is not None)
    config = " ".join(f"{k}={fmt_value(v)}" for k, v in _fields(e.info.config).items())
    hay = f"{hay} {e.info.run_id} {' '.join('#' + t for t in e.meta.tags)} {e.meta.note} {config}".lower()
    return all(word in hay for word in query.lower().split())


def sort_entries(entries: list[RunEntry], key: str, descending: bool) -> list[RunEntry]:
    """Sorted by one column; runs without a value go last whichever the direction."""
    have = [e for e in entries if sort_value(e, key) not in (None, "")]
    missing = [e for e in entries if sort_value(e, key) in (None, "")]
    numeric = column(key).numeric or all(_number(sort_value(e, key)) for e in have)
    conv: Callable[[Any], Any] = float if numeric else (lambda x: str(x).lower())
    have.sort(key=lambda e: conv(sort_value(e, key)), reverse=descending)
    return have + missing
