"""How the compare screen draws: run colours and markers, short labels, shaded matrices.

Rich renderables only (no widgets): the drawing rules read apart from the
screen's keys and state.
"""
from __future__ import annotations

from typing import Any, Callable

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine.analysis.compare import ConfusionDiff, RunData, largest_changes
from engine.runs.meta import short_name

from tui.format import abbreviations, letter, truncate
from tui.screens.runs_table import apart_texts

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; exact RGB so
# the plot (plotext) and the legend (rich) show the same colour.
PALETTE = ((230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0),
           (204, 121, 167), (190, 190, 190))
MARKERS = ("●", "▲", "■", "◆", "+", "x", "*", "o")


def run_style(i: int) -> str:
    r, g, b = PALETTE[i % len(PALETTE)]
    return f"bold rgb({r},{g},{b})"


def run_tag(i: int) -> Text:
    """'A●' in the run's colour: the key that ties tables to curves."""
    return Text(f"{letter(i)}{MARKERS[i % len(MARKERS)]}", style=run_style(i))


def short_label(run: RunData, width: int = 18) -> str:
    """A header-sized name: the display name, else the run id without its timestamp.

    Two runs may then read the same (seeds of one config); their letters still tell them apart.
    """
    text = short_name(run.run_id, run.meta)
    return truncate(text, width)


def apart_labels(runs: list[RunData]) -> list[str]:
    """Per run, what tells it from compared runs whose short labels read the same ('lr=0.1'), else ''."""
    groups: dict[str, list[int]] = {}
    for i, run in enumerate(runs):
        groups.setdefault(short_label(run, 10**6), []).append(i)
    out = [""] * len(runs)
    for members in (g for g in groups.values() if len(g) > 1):
        for i, text in zip(members, apart_texts([runs[i].config for i in members])):
            out[i] = text
    return out


def diff_style(value: float, scale: float, on_diagonal: bool) -> str:
    """Background by sign: green where B is better (more right on the diagonal, fewer errors off it)."""
    if value == 0 or scale == 0:
        return "dim"
    better = (value > 0) == on_diagonal
    t = 0.3 + 0.7 * min(1.0, abs(value) / scale)
    base, full = (40, 40, 40), ((0, 150, 70) if better else (190, 40, 40))
    r, g, b = (int(base[k] + (full[k] - base[k]) * t) for k in range(3))
    return f"bold white on rgb({r},{g},{b})"


def matrix_table(title: str, names: list[str], cells: list[list[float]], fmt: Callable[[Any], str]) -> Group:
    """A class × class matrix, each cell shaded by diff_style (zeros as a dot)."""
    scale = max((abs(v) for row in cells for v in row), default=0)
    table = Table(box=None, padding=(0, 1))
    table.add_column("true \\ pred", no_wrap=True)
    for short in abbreviations(names):  # the dashboard's matrix labels its columns the same way
        table.add_column(short, justify="right")
    for i, (name, row) in enumerate(zip(names, cells)):
        table.add_row(truncate(name, 16), *[Text("·" if v == 0 else fmt(v), style=diff_style(v, scale, i == j))
                                            for j, v in enumerate(row)])
    return Group(Text(title, style="bold"), table)  # a title apart: a Table wraps its title to the table's width


def changes_table(diff: ConfusionDiff, title: str, fmt: Callable[[Any], str]) -> Group:
    """The largest cells as a list: a 100×100 matrix does not fit a terminal."""
    table = Table(box=None, padding=(0, 1))
    for col in ("true", "predicted", "cell"):
        table.add_column(col)
    changes = largest_changes(diff, 30)
    scale = max((abs(v) for _, _, v in changes), default=0)
    for i, j, v in changes:
        table.add_row(diff.class_names[i], diff.class_names[j], Text(fmt(v), style=diff_style(v, scale, i == j)))
    return Group(Text(title, style="bold"), table)  # a title apart: a Table wraps its title to the table's width
