"""The rows of the runs table: columns, cell text, filtering and sorting.

Kept apart from the screen so the rules (what a column shows, how a filter
matches, where runs without a value sort) read and test without a terminal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
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


class Cell:
    """One cell of the runs table: its text, style and justification; the rich Text is made when the table
    draws the cell (a few dozen rows), not for every run listed.

    It has no __rich_measure__ on purpose: DataTable measures each cell it is given through the console (three
    terminal-size system calls a cell, seconds for 5,000 runs); the screen reads each cell's ``width`` and gives
    the columns their widths itself (runs_rows). Not markup either: a '[' in a name or a config value is text."""

    __slots__ = ("plain", "style", "justify", "width", "_rich", "_text")

    def __init__(self, text: str | Text, style: str = "", justify: JustifyMethod = "left") -> None:
        self._rich = text if isinstance(text, Text) else None  # a Text given: kept (its spans style its parts)
        self._text = self._rich
        self.plain = text.plain if isinstance(text, Text) else text
        self.style, self.justify = style, justify
        self.width = len(self.plain) if self.plain.isascii() else cell_len(self.plain)

    def text(self) -> Text:
        if self._text is None:
            self._text = Text(self.plain, style=self.style, justify=self.justify, no_wrap=True, end="")
        return self._text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text()

    def __str__(self) -> str:
        return self.plain

    def __repr__(self) -> str:
        return f"Cell({self.plain!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cell):
            return NotImplemented
        return (self.plain, self.style, self.justify) == (other.plain, other.style, other.justify) and \
            (self._rich is None) == (other._rich is None) and (self._rich is None or self._rich == other._rich)

    __hash__ = None  # type: ignore[assignment]


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


def sort_value(e: RunEntry, key: str, values: Callable[[RunEntry], dict[str, Any]] = row_values) -> Any:
    """What a column sorts by for one run: a built-in value, else the config field's. ``values``: row_values,
    or a screen's remembered copy of what it returns."""
    built_in = values(e)
    return built_in[key] if key in built_in else columns.value(e.info.config, key)


def start_text(e: RunEntry) -> str:
    """When the run started, 'MM-DD HH:MM' UTC as stored (servers and laptops agree on it): from its
    summary ('2026-11-23T11:54:06Z'), else from the stamp its id begins with ('20261123-115406-...'; an
    unreadable run has no summary to ask). Read by slicing, not strptime: this runs for every row."""
    started = e.info.summary.get("started_at")
    if isinstance(started, str) and _ISO.fullmatch(started) and _real(started[:4], started[5:7], started[8:10],
                                                                      started[11:13], started[14:16], started[17:19]):
        return f"{started[5:10]} {started[11:16]}"
    rid = e.info.run_id
    if _ID.match(rid) and _real(rid[:4], rid[4:6], rid[6:8], rid[9:11], rid[11:13], rid[13:15]):
        return f"{rid[4:6]}-{rid[6:8]} {rid[9:11]}:{rid[11:13]}"
    return fmt.MISSING


_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_ID = re.compile(r"[0-9]{8}-[0-9]{6}")


def _real(*parts: str) -> bool:
    """Whether year, month, day, hour, minute and second make a real moment (no month 13)."""
    year, month, day, hour, minute, second = map(int, parts)
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


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


def _differing(configs: list[dict[str, Any]]) -> set[str]:
    """The top-level config fields whose values are not the same in every config (compared with == and type: 1
    and 1.0 read differently). A group can be thousands of runs of one config; beside the first config, each is
    compared whole first (in C), field by field only where it differs, and only in the fields not known to differ."""
    first, out = configs[0], set(NOT_TELLING)
    for c in configs:
        if c is first or c == first:
            continue
        for key in (c.keys() | first.keys()) - out:
            if key not in c or key not in first or c[key] != first[key] or type(c[key]) is not type(first[key]):
                out.add(key)
    return out - set(NOT_TELLING)


def apart_texts(configs: list[dict[str, Any]]) -> list[str]:
    """For runs that read the same: 'lr=0.1 seed=2' per run, the fewest config fields that tell them apart.

    A field that differs but is not needed (epochs=6 beside lr=0.2 when lr alone tells) is left to its column.
    """
    differ = _differing(configs)  # only these are flattened: a group can be thousands of runs
    if not differ:
        return [""] * len(configs)
    flat = [{k: fmt_value(v) for k, v in _fields({f: v for f, v in c.items() if f in differ}).items()}
            for c in configs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    keys = [k for k in keys if len({f.get(k, fmt.MISSING) for f in flat}) > 1]
    chosen = _telling_keys(flat, keys)
    return [" ".join(f"{k}={f.get(k, fmt.MISSING)}" for k in chosen) for f in flat]


def tell_apart(entries: list[RunEntry], texts: Callable[[list[dict[str, Any]]], list[str]] = apart_texts
               ) -> dict[str, str]:
    """run id -> 'lr=0.1 seed=2' for runs that would read the same in the name column.

    Runs without a display name are grouped by their short name; within a group, the config fields
    whose values differ name each run (the start time where the configs are the same). ``texts``:
    apart_texts, or a screen's remembered answers of it.
    """
    groups: dict[str, list[RunEntry]] = {}
    for e in entries:
        if not e.meta.name and not e.info.error:
            groups.setdefault(e.short_name, []).append(e)
    out: dict[str, str] = {}
    for members in (g for g in groups.values() if len(g) > 1):
        for e, text in zip(members, texts([m.info.config for m in members])):
            out[e.info.run_id] = text or start_text(e)
    return out


def name_cell(e: RunEntry, apart: str = "") -> Cell:
    """The name, what tells it from same-named runs, then its tags: NAME_WIDTH in all."""
    base = fmt.truncate(e.short_name, BASE_WIDTH_APART if apart else BASE_WIDTH)
    tags = " ".join("#" + t for t in e.meta.tags)
    if not apart and not tags:
        return Cell(base)
    cell, room = Text(base), NAME_WIDTH - len(base)
    for piece, style in ((apart, "cyan"), (tags, "dim")):
        if piece and room > 4:
            cut = fmt.truncate(piece, room - 1)
            cell.append(" " + cut, style=style)
            room -= len(cut) + 1
    return Cell(cell)


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


def _cells(e: RunEntry, live: dict[str, Any] | None, v: dict[str, Any]) -> dict[str, Cell]:
    """Every built-in cell of a run by column key (``v``: its row_values); a running run's from its progress.json
    when there is one."""
    cells = {
        "status": Cell(e.status.value, STATUS_STYLE.get(e.status, "")),
        "best_val": Cell(fmt.pct(v["best_val"]), justify="right"), "test": Cell(fmt.pct(v["test"]), justify="right"),
        "epochs": Cell(f"{v['epochs'] or 0}/{e.info.config.get('epochs', '?')}"),
        "wall": Cell(fmt.duration(v["wall"]), justify="right"), "rate": Cell(fmt.rate(v["rate"]), justify="right"),
        "start": Cell(start_text(e)),
    }
    if live is not None and e.status is RunStatus.RUNNING:
        cells.update({k: Cell(c) for k, c in runs_live.cells(live, e.info.config.get("epochs")).items()})
    return cells


_MARK, _NO_MARK, _BLANK = Cell("●", "bold cyan"), Cell(" "), Cell("")


def row_cells(e: RunEntry, selected: bool, apart: str = "", shown: Sequence[Column] = (),
              live: dict[str, Any] | None = None, values: dict[str, Any] | None = None) -> list[Cell]:
    """The table cells of one run (the first is the selection mark), one per column of ``shown`` (default: the
    built-in columns); apart: from tell_apart; live: the run's progress.json record (runs_live); values: its
    row_values, when the caller has them already."""
    cells = _cells(e, live, row_values(e) if values is None else values)
    blank = e.status == RunStatus.STARTING or bool(e.info.error)  # an unreadable run's reason: on the info line
    out = [_MARK if selected else _NO_MARK]
    for col in shown or COLUMNS:
        if col.key == "name":
            out.append(name_cell(e, apart))
        elif col.key in ("status", "start"):
            out.append(cells[col.key])
        elif blank:
            out.append(_BLANK)
        elif col.key in cells:
            out.append(cells[col.key])
        else:
            out.append(_config_cell(e.info.config, col.key))
    return out


def _config_cell(config: dict[str, Any], key: str) -> Cell:
    raw = columns.value(config, key)
    return Cell(columns.cell(raw), justify="right" if _number(raw) else "left")


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def header_labels(shown: Sequence[Column], widths: Sequence[int], width: int, arrow: dict[str, str]) -> list[str]:
    """Each column's header: its long name where the table fits ``width``, else the short ones (the width there
    is goes to the values). ``widths``: each column's widest cell; ``arrow``: the sort column's arrow."""
    def table_width(labels: list[str]) -> int:
        return sum(max(len(label), w) + 2 for label, w in zip(labels, widths)) + 3  # cell padding 1 + 1; the mark

    long = [c.label + arrow.get(c.key, "") for c in shown]
    if table_width(long) <= width:
        return long
    return [(c.short or c.label) + arrow.get(c.key, "") for c in shown]


def haystack(e: RunEntry) -> str:
    """Everything a filter word may match in a run, lower case: its row, id, tags (#tag), note, config (lr=0.1)."""
    hay = " ".join(str(x) for x in row_values(e).values() if x is not None)
    config = " ".join(f"{k}={fmt_value(v)}" for k, v in _fields(e.info.config).items())
    return f"{hay} {e.info.run_id} {' '.join('#' + t for t in e.meta.tags)} {e.meta.note} {config}".lower()


def matches(e: RunEntry, query: str, hay: Callable[[RunEntry], str] = haystack) -> bool:
    """Every word of query occurs somewhere in the run's haystack (``hay``: a screen's remembered copy of it)."""
    words = query.lower().split()
    if not words:
        return True
    text = hay(e)
    return all(word in text for word in words)


def sort_entries(entries: list[RunEntry], key: str, descending: bool,
                 values: Callable[[RunEntry], dict[str, Any]] = row_values) -> list[RunEntry]:
    """Sorted by one column; runs without a value go last whichever the direction."""
    keyed = [(sort_value(e, key, values), e) for e in entries]
    have = [(v, e) for v, e in keyed if v not in (None, "")]
    missing = [e for v, e in keyed if v in (None, "")]
    numeric = column(key).numeric or all(_number(v) for v, _ in have)
    conv: Callable[[Any], Any] = float if numeric else (lambda x: str(x).lower())
    have.sort(key=lambda ve: conv(ve[0]), reverse=descending)
    return [e for _, e in have] + missing
