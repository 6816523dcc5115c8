"""Compare for daily use: the feature view pages run by run where the terminal is narrow ("2 of 3"), runs
named as the tables name them, and the confusion difference read without colour."""
from __future__ import annotations

from textual.widgets import Static

from engine.analysis.compare import ConfusionDiff, curves
from tests.helpers.pilot import ScreenApp, shown_text, text_of
from tests.helpers.runs_fixture import run_named
from tui.screens.compare import CompareScreen
from tui.screens.compare_render import diff_view
from tui.screens.features import FeaturesScreen
from tui.widgets.plot import Chart


def panels(screen: FeaturesScreen) -> list:
    return [screen.query_one(f"#feature-{i}") for i in range(len(screen.run_dirs))]


async def test_the_feature_view_pages_with_the_arrows_and_says_which_run(runs):
    dirs = [str(run_named(runs, k)) for k in ("lowlr", "cnn", "seed1")]
    app = ScreenApp(lambda: FeaturesScreen(dirs))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.pause()
        shown = [p for p in panels(screen) if p.display]
        assert len(shown) == 1 and shown[0].border_title == "A mlp-scratch-lowlr" and shown[0].border_subtitle == "1 of 3 · ← →"
        assert {"left", "right"} <= {k.key for k in screen.query("FooterKey")}  # offered while they page
        await pilot.press("right", "right")
        shown = [p for p in panels(screen) if p.display]
        assert [p.border_title for p in shown] == ["C mlp-scratch"]  # the name, not the run id
        assert shown[0].border_subtitle == "3 of 3 · ← →"
        await pilot.press("right")
        assert [p for p in panels(screen) if p.display][0].border_subtitle == "1 of 3 · ← →"  # round again


async def test_runs_that_fit_side_by_side_do_not_page(runs):
    dirs = [str(run_named(runs, k)) for k in ("lowlr", "cnn")]
    app = ScreenApp(lambda: FeaturesScreen(dirs))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await pilot.pause()
        assert all(p.display for p in panels(screen)) and not any(p.border_subtitle for p in panels(screen))
        assert [p.border_title for p in panels(screen)] == ["A mlp-scratch-lowlr", "B cnn-scratch-cnn"]
        assert not {"left", "right"} & {k.key for k in screen.query("FooterKey")}


DIFF = ConfusionDiff(["cat", "dog"], [[3, -3], [2, -2]], False)  # B: 3 more cats right, 2 more dogs taken for cats


def test_the_difference_says_better_and_worse_in_words_without_colour() -> None:
    plain = _text(diff_view(DIFF, no_color=True))
    title = plain.splitlines()[0]
    assert "+ B better · − B worse" in title and "green" not in title and "red" not in title
    assert cells(plain) == {"cat": ["+3", "+3"], "dog": ["−2", "−2"]}  # by merit: fewer cats called dogs is better
    coloured = _text(diff_view(DIFF, no_color=False))
    assert "green: B better · red: B worse" in coloured and "B − A" in coloured
    assert cells(coloured) == {"cat": ["+3", "-3"], "dog": ["+2", "-2"]}  # B − A as it is


async def test_compare_under_no_color_uses_the_words(runs, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    dirs = [str(run_named(runs, k)) for k in ("seed1", "seed2")]
    app = ScreenApp(lambda: CompareScreen(dirs))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("5")
        title = text_of(app.screen.query_one("#cmp-confusion", Static)).splitlines()[0]
        assert "+ B better · − B worse" in title and "green" not in title


def cells(text: str) -> dict[str, list[str]]:
    """The matrix rows of a rendered difference: true class -> its cells."""
    rows = [line.split() for line in text.splitlines()]
    return {row[0]: row[1:] for row in rows if row[:1] in (["cat"], ["dog"])}


def _text(renderable) -> str:
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_compare_draws_the_loss_on_a_log_scale_with_y(runs):
    dirs = [str(run_named(runs, k)) for k in ("lowlr", "cnn")]
    app = ScreenApp(lambda: CompareScreen(dirs))
    async with app.run_test(size=(80, 24)) as pilot:
        cmp = app.screen
        chart = cmp.query_one("#cmp-chart", Chart)
        await pilot.press("l", "y")
        await pilot.pause()
        assert cmp.log_y and "log y" in str(chart.border_title) and chart.axes.log_y
        text = shown_text(chart, inner=True)
        labels = [float(line.split("┫")[0]) for line in text.splitlines() if "┫" in line and line.split("┫")[0].strip()]
        losses = [y for c in curves(cmp.runs, cmp.metric) for y in c.y]
        # The tick labels read as losses, not as the log10 of them that the widget draws on.
        assert labels and all(0.95 * min(losses) <= v <= 1.05 * max(losses) for v in labels), (labels, losses)
        await pilot.press("v")  # accuracy: never on a log scale
        await pilot.pause()
        assert not chart.axes.log_y and "log y" not in str(chart.border_title)
