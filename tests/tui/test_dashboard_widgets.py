"""The dashboard's pieces without a terminal: matrix text, shading, abbreviations, downsampling, sorting."""
from __future__ import annotations

import pytest

import io
import os
import subprocess
import sys

from tui.format import abbreviations
from tui.widgets.confusion import pick_classes, render_confusion, shade_char
from tui.widgets.header import header_text
from tui.widgets.per_class import bar, fit_columns, sort_order
from tui.state.run_state import Phase, RunState, Series
from tests.helpers import ROOT
from tests.helpers.tui_fixtures import CLASSES, dashboard_events

MATRIX = [[90, 5, 5], [3, 80, 17], [0, 10, 90]]


def test_monochrome_matrix_reads_with_shade_characters() -> None:
    text = render_confusion(MATRIX, ["airplane", "red-horizontal", "cat"], monochrome=True, width=80).plain
    lines = text.splitlines()
    assert lines[1].split() == ["airp", "reho", "cat"]  # column abbreviations
    assert lines[2].startswith("airplane") and "90█" in lines[2]  # diagonal: darkest shade
    assert "17▒" in lines[3] and "0·" in lines[4]  # an error shaded lighter, an empty cell a dot
    spans = [s for s in render_confusion(MATRIX, ["a", "b", "c"], monochrome=True).spans if "reverse" in str(s.style)]
    assert len(spans) == 3  # the diagonal stands out without colour (reverse video)


def test_normalised_matrix_shows_row_percentages() -> None:
    text = render_confusion([[1, 3], [0, 4]], ["x", "y"], normalized=True).plain
    assert " 25%" in text and " 75%" in text and "100%" in text and "row-normalised" in text


def test_shades_abbreviations_and_class_subset() -> None:
    assert [shade_char(f) for f in (0, 0.01, 0.1, 0.3, 0.9)] == ["·", "░", "▒", "▓", "█"]
    short = abbreviations(CLASSES)
    assert short[:3] == ["airp", "auto", "bird"] and len(set(short)) == 10
    assert len(set(abbreviations(["maple_tree", "maple_trunk", "oak_tree"]))) == 3
    big = [[10 if i == j else 0 for j in range(100)] for i in range(100)]
    big[42][42], big[42][7] = 1, 9  # class 42 is the worst
    shown = pick_classes(big, 12)
    assert len(shown) == 12 and 42 in shown
    text = render_confusion(big, [f"c{i}" for i in range(100)], width=80).plain
    assert "of 100 classes" in text and max(len(line) for line in text.splitlines()) <= 80


def test_series_keeps_memory_bounded_and_shape() -> None:
    s = Series(cap=64)
    for i in range(100_000):
        s.add(i, float(i))
    assert len(s) < 64
    xs, ys = s.view(20)
    assert len(xs) == 20 and ys == sorted(ys)  # still increasing: means of consecutive buckets
    assert abs(ys[-1] - 100_000) < 100_000 * 0.1


def test_state_from_events_and_header_fits() -> None:
    state = RunState()
    for e in dashboard_events():
        state.apply(e)
    assert len(state.epoch_x) == 6 and len(state.per_class) == 10
    assert sum(map(sum, state.confusion)) == 1000
    assert state.epoch == 7 and state.step == 20 and state.phase is Phase.TRAINING
    for width in (40, 80, 160):
        from rich.console import Console

        console = Console(width=width, record=True, file=io.StringIO())
        console.print(header_text(state, width))
        text = console.export_text()
        assert all(len(line) <= width for line in text.splitlines())
        assert "epoch 7/10" in text and "ETA" in text


def test_followed_run_gets_elapsed_and_eta_from_its_records() -> None:
    """A run read from metrics.jsonl has no step events: the records carry the times."""
    state = RunState(epochs=6, phase=Phase.FOLLOWING)
    for epoch, (took, wall) in enumerate([(10.0, 11.0), (12.0, 23.0)], start=1):
        state.apply_record({"epoch": epoch, "test_acc": 0.5, "epoch_time_s": took, "wall_time_s": wall})
    assert state.elapsed_s == 23.0 and state.eta_s == 4 * 11.0
    state.apply_record({"epoch": 6, "test_acc": 0.6, "epoch_time_s": 11.0, "wall_time_s": 60.0})
    assert state.eta_s is None  # nothing left to wait for
    state.follow("completed")
    assert "ETA" not in str(header_text(state, 160).columns[0]._cells)


def test_per_class_sort_and_bar() -> None:
    latest, prev, best = [0.5, 0.9, 0.1], [0.6, 0.5, 0.1], [0.7, 0.9, 0.2]
    assert sort_order("latest ↓", latest, prev, best) == [1, 0, 2]
    assert sort_order("change ↓", latest, prev, best) == [1, 2, 0]
    assert bar(0.5, 10) == "█████·····" and bar(1.0, 4) == "████"


def test_per_class_columns_fit_the_width() -> None:
    """Narrow: class, latest and change stay; best, then the bar, come back with the width."""
    assert fit_columns(78) == (16, True, 12)
    assert fit_columns(36) == (12, True, 0)
    name, with_best, bar_width = fit_columns(24)
    assert not with_best and bar_width == 0 and name + 2 + 8 + 7 <= 24




@pytest.mark.slow
def test_dashboard_renders_under_no_color(tmp_path) -> None:
    """NO_COLOR=1: Textual drops colour; the matrix must then carry shade characters."""
    code = (
        "import asyncio, sys\n"
        "from tests.helpers.tui_fixtures import dashboard_events\n"
        "from tui.app import CifarApp\n"
        "from tui.screens.dashboard import DashboardScreen\n"
        "async def main():\n"
        "    app = CifarApp(runs_dir='x', start_screen=DashboardScreen.for_events(dashboard_events()))\n"
        "    async with app.run_test(size=(160, 48)) as pilot:\n"
        "        await pilot.pause(0.3)\n"
        "        m = app.screen.query_one('#confusion')\n"
        "        print(app.no_color, m.render().plain)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "NO_COLOR": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                         cwd=ROOT, check=True).stdout
    assert out.startswith("True")
    assert "█" in out and "·" in out
