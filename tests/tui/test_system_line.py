"""The machine on the dashboard: RunState folds engine SystemSample events, the header draws them."""
from __future__ import annotations

import io

from rich.console import Console
from textual.geometry import Region

from engine.events import GpuSample, RunEnded, SystemSample
from tui.app import CifarApp
from tui.screens.dashboard import DashboardScreen
from tui.state.run_state import RunState
from tui.widgets.header import header_text
from tui.widgets.system_line import system_text
from tests.helpers.tui_fixtures import dashboard_events
from tests.helpers.waiting import pilot_wait_until

GB = 10**9
H100 = GpuSample(0, "H100", 87.0, 12_300_000_000, 80 * GB, 65.0, 301.4)
SECOND = GpuSample(1, "H100", 40.0, 2 * GB, 80 * GB, 88.0, 120.0)
SAMPLE = SystemSample(150.0, 2_100_000_000, 120 * GB, (H100,))
NO_GPU = SystemSample(98.0, 900_000_000, 45 * GB, ())


def header_plain(state: RunState, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(header_text(state, width))
    return console.export_text()


def screen_text(widget) -> str:
    width, height = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


def live_state() -> RunState:
    state = RunState()
    for event in dashboard_events(done=1):
        state.apply(event)
    return state


def test_state_keeps_the_last_sample_while_live_and_drops_it_at_the_end() -> None:
    state = live_state()
    assert state.system is None
    state.apply(SAMPLE)
    assert state.system is SAMPLE
    state.apply(RunEnded("completed", "r", "runs/r", {}))
    assert state.system is None
    state.apply(SAMPLE)  # a sample posted just before the end, delivered after it
    assert state.system is None


def test_system_line_with_a_gpu_wide_and_narrow() -> None:
    wide = system_text(SAMPLE, 160).plain
    assert "GPU0 H100 87% 12.3/80.0G 65°C 301W" in wide
    assert "CPU 150% RSS 2.1G" in wide and "disk 120G free" in wide
    narrow = system_text(SAMPLE, 80).plain
    assert len(narrow) <= 80 and "GPU0 H100 87%" in narrow and "disk 120G free" in narrow  # one GPU fits whole
    two = SystemSample(150.0, GB, 120 * GB, (H100, SECOND))
    assert "GPU0 87% 12.3/80.0G 65° 301W  GPU1 40%" in system_text(two, 100).plain  # compact: no names
    assert system_text(two, 80).plain.startswith(" 2 GPUs 64% 14/160G ≤88° 421W  CPU")  # summed up


def test_system_line_without_a_gpu_says_nothing_about_gpus() -> None:
    line = system_text(NO_GPU, 80).plain
    assert "GPU" not in line and "CPU 98% RSS 900M" in line and "disk 45.0G free" in line


def test_many_gpus_on_a_narrow_terminal_are_summed_up() -> None:
    many = SystemSample(150.0, 2 * GB, 120 * GB, tuple(GpuSample(i, "H100", 50.0 + i, GB, 80 * GB, 60.0 + i, 100.0)
                                                        for i in range(8)))
    line = system_text(many, 80).plain
    assert line.strip().startswith("8 GPUs 54% 8/640G ≤67° 800W") and len(line) <= 80
    hot = system_text(SystemSample(1.0, GB, None, (H100, SECOND)), 160)
    assert any("red" in str(span.style) for span in hot.spans)  # 88 °C stands out
    assert "disk" not in hot.plain  # no disk figure (None): nothing said


def test_header_adds_the_system_row_only_with_a_sample() -> None:
    state = live_state()
    before = header_plain(state, 160)
    state.apply(SAMPLE)
    after = header_plain(state, 160)
    assert "GPU0 H100 87%" not in before and "GPU0 H100 87%" in after
    assert len(after.splitlines()) == len(before.splitlines()) + 1


async def _sample_on_dashboard(size: tuple[int, int], sample: SystemSample) -> str:
    app = CifarApp(runs_dir="tmp-runs", start_screen=DashboardScreen.for_events(dashboard_events()))
    async with app.run_test(size=size) as pilot:
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        dash._on_event(sample)  # as the training thread posts it
        await pilot_wait_until(pilot, lambda: "CPU " in screen_text(dash.query_one("#header")), timeout=5)
        return screen_text(dash.query_one("#header"))


async def test_dashboard_header_shows_the_gpus_at_160x48() -> None:
    text = await _sample_on_dashboard((160, 48), SystemSample(150.0, 2 * GB, 120 * GB, (H100, SECOND)))
    assert "GPU0 H100 87% 12.3/80.0G 65°C 301W" in text and "GPU1 H100 40% 2.0/80.0G 88°C 120W" in text
    assert "CPU 150% RSS 2.0G" in text


async def test_dashboard_header_at_80x24_without_gpus() -> None:
    text = await _sample_on_dashboard((80, 24), NO_GPU)
    line = next(row for row in text.splitlines() if "CPU " in row)
    assert "GPU" not in line and "disk 45.0G free" in line
