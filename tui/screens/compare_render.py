"""How the compare screen draws: run colours and markers, short labels, shaded matrices.

Rich renderables only (no widgets): the drawing rules read apart from the
screen's keys and state.
"""
from __future__ import annotations

from typing import Any, Callable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from engine.analysis.compare import ConfusionDiff, RunData, largest_changes
from engine.analysis.seed_groups import seed_groups
from engine.runs.meta import short_name

from tui import format as fmt
from tui.format import abbreviations, letter, truncate
from tui.screens.runs_table import apart_texts

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; exact RGB so
# the plot (tui.widgets.plot) and the legend (rich) show the same colour.
PALETTE = ((230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0),
           (204, 121, 167), (190, 190, 190))
MARKERS = ("●", "▲", "■", "◆", "+", "x", "*", "o")
MAX_MATRIX_CLASSES = 20  # beyond this a class × class matrix no longer fits 160 columns


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


def diff_view(diff: ConfusionDiff, no_color: bool) -> Group:
    """The confusion difference B − A: a matrix, or its largest cells where the classes are too many.

    In colour a cell is shaded green where B is better and red where worse. Without colour (NO_COLOR)
    the shades cannot say it, and B − A's sign means better on the diagonal but worse off it; so each
    cell shows its sign by merit instead, '+' for better and '−' for worse, and the title says so.
    """
    unit = "percentage points of each true class" if diff.normalized else "images"
    # Whole points / images, signed: a matrix cell has room for "+13", not "+13.0".
    cell = (lambda v: f"{100 * v:+.0f}") if diff.normalized else (lambda v: f"{v:+d}")
    what = "B vs A" if no_color else "B − A"
    legend = "+ B better · − B worse (more right on the diagonal, fewer of these mistakes off it)" if no_color \
        else "green: B better · red: B worse"
    if len(diff.class_names) > MAX_MATRIX_CLASSES:
        return changes_table(diff, f"largest changes {what} ({unit}) · {legend}", cell, by_merit=no_color)
    return matrix_table(f"{what} ({unit}), rows = true class · {legend}", diff.class_names, diff.cells, cell,
                        by_merit=no_color)


def merit(value: float, on_diagonal: bool) -> float:
    """A B − A cell signed by merit: more right answers (diagonal) or fewer mistakes (off it) is positive."""
    return value if on_diagonal else -value


def matrix_table(title: str, names: list[str], cells: list[list[float]], fmt: Callable[[Any], str],
                 by_merit: bool = False) -> Group:
    """A class × class matrix, each cell shaded by diff_style (zeros as a dot); ``by_merit``: signs by merit."""
    scale = max((abs(v) for row in cells for v in row), default=0)
    table = Table(box=None, padding=(0, 1))
    table.add_column("true \\ pred", no_wrap=True)
    for short in abbreviations(names):  # the dashboard's matrix labels its columns the same way
        table.add_column(short, justify="right")
    for i, (name, row) in enumerate(zip(names, cells)):
        table.add_row(truncate(name, 16), *[Text("·" if v == 0 else _shown(fmt, v, i == j, by_merit),
                                                 style=diff_style(v, scale, i == j)) for j, v in enumerate(row)])
    return Group(Text(title, style="bold"), table)  # a title apart: a Table wraps its title to the table's width


def _shown(fmt: Callable[[Any], str], value: float, on_diagonal: bool, by_merit: bool) -> str:
    """A cell's text: B − A as it is, or by merit with a true minus ('−3' reads as worse, '-3' as a dash)."""
    if not by_merit:
        return fmt(value)
    text = fmt(merit(value, on_diagonal))
    return "−" + text[1:] if text.startswith("-") else text


def changes_table(diff: ConfusionDiff, title: str, fmt: Callable[[Any], str], by_merit: bool = False) -> Group:
    """The largest cells as a list: a 100×100 matrix does not fit a terminal."""
    table = Table(box=None, padding=(0, 1))
    for col in ("true", "predicted", "cell"):
        table.add_column(col)
    changes = largest_changes(diff, 30)
    scale = max((abs(v) for _, _, v in changes), default=0)
    for i, j, v in changes:
        shown = _shown(fmt, v, i == j, by_merit)
        table.add_row(diff.class_names[i], diff.class_names[j], Text(shown, style=diff_style(v, scale, i == j)))
    return Group(Text(title, style="bold"), table)  # a title apart: a Table wraps its title to the table's width


def own_confusion(run: RunData) -> RenderableType:
    """One run's test confusion matrix, or its most frequent confusions where the classes are too many."""
    cells = run.summary.get("confusion") or []
    if not cells:
        return "no confusion matrix yet (no epoch finished)"
    if len(cells) <= MAX_MATRIX_CLASSES:
        return matrix_table("test confusion matrix, rows = true class", run.class_names, cells, str)
    errors = [[0 if i == j else v for j, v in enumerate(row)] for i, row in enumerate(cells)]
    return changes_table(ConfusionDiff(run.class_names, errors, False), "most frequent confusions (images)", str)


def seeds_view(runs: list[RunData]) -> RenderableType:
    """The runs that differ only by seed, grouped: mean ± sample std of each group's metrics."""
    groups = seed_groups(runs)
    if not groups:
        return ("No two of these runs differ only by seed.\n"
                "Train one config with --seed 1, 2, 3 and compare them to see mean ± spread.")
    table = Table(title="runs that differ only by seed: mean ± sample std", box=None, padding=(0, 1),
                  title_justify="left")
    for col in ("group", "n", "seeds", "best val", "test (last)", "wall", "img/s"):
        table.add_column(col)
    for g in groups:
        what = " ".join(f"{k}={v}" for k, v in g.differing.items()) or "same config"
        members = " ".join(str(letter(runs.index(r))) for r in g.runs)
        cells = [fmt.mean_std(*g.stats[key][:2], kind) if key in g.stats else fmt.MISSING
                 for key, kind in (("best_acc", "pct"), ("test_acc", "pct"), ("wall_time_s", "time"),
                                   ("img_per_s", "rate"))]
        table.add_row(f"{what}\n[{members}]", str(len(g.runs)), ",".join(map(str, g.seeds)), *cells)
    return table
