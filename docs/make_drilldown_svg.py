"""Regenerate docs/drilldown-matrix.svg and docs/drilldown.svg from a real saved run, at 80x24:
the confusion matrix with its cursor on the most confused pair (key 4), then that cell's images (enter).

    python docs/make_drilldown_svg.py RUN_DIR

The README's pair came from a cnn-bn-dropout run on CIFAR-10 (JPEG q75); see docs/replication.md
for how such a run is made (e.g. cifar-tui train --no-ui --preset 004-cnn-bn-dropout --dataset folder
--data-dir ../shared/data/cifar10-jpg.tar.gz --epochs 4).
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tui.app import CifarApp  # noqa: E402
from tui.screens.dashboard import DashboardScreen  # noqa: E402
from tui.screens.images import ImagesScreen  # noqa: E402
from tui.widgets.confusion import ConfusionMatrix  # noqa: E402
from tui.widgets.image_grid import ImageGrid  # noqa: E402


async def main(run_dir: str) -> None:
    app = CifarApp(runs_dir=str(Path(run_dir).parent), start_screen=DashboardScreen.for_saved_run(run_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.screen.query_one(ConfusionMatrix).matrix:
                break
        await pilot.press("4")
        await pilot.pause(0.5)
        app.save_screenshot(filename="drilldown-matrix.svg", path=str(ROOT / "docs"))
        await pilot.press("enter")
        for _ in range(400):
            await pilot.pause(0.05)
            if isinstance(app.screen, ImagesScreen) and app.screen.query_one(ImageGrid).items:
                break
        await pilot.pause(0.5)
        app.save_screenshot(filename="drilldown.svg", path=str(ROOT / "docs"))
    print(ROOT / "docs" / "drilldown-matrix.svg", ROOT / "docs" / "drilldown.svg")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1]))
