"""Regenerate docs/dashboard.svg: the dashboard at 160x48 with the fixed events the snapshot tests use.

    python docs/make_dashboard_svg.py
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.tui_fixtures import dashboard_events  # noqa: E402
from tui.app import CifarApp  # noqa: E402
from tui.screens.dashboard import DashboardScreen  # noqa: E402


async def main() -> None:
    app = CifarApp(runs_dir="saved_runs", start_screen=DashboardScreen.for_events(dashboard_events()))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.5)
        app.save_screenshot(filename="dashboard.svg", path=str(ROOT / "docs"))
    print(ROOT / "docs" / "dashboard.svg")


if __name__ == "__main__":
    asyncio.run(main())
