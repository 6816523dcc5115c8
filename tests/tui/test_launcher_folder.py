"""The launcher offers your own image folders: the data path is checked as you type."""
from __future__ import annotations

from pathlib import Path

import pytest

from tui.app import CifarApp
from tests.helpers.image_folder import write_folder
from tests.helpers.pilot import type_into
from tests.helpers.waiting import pilot_wait_until

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_TUI_CACHE", str(tmp_path / "cache"))


async def test_folder_dataset_shows_what_it_found(tmp_path: Path) -> None:
    data = write_folder(tmp_path / "pets", per_class=5)
    app = CifarApp(runs_dir=str(tmp_path / "runs"))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot_wait_until(pilot, lambda: bool(pilot.app.screen.models))  # the launcher has the registry
        screen = pilot.app.screen
        screen.query_one("#dataset").value = "folder"
        await pilot.pause()
        assert "set 'data path'" in screen.dataset_message and not screen.dataset_present
        await type_into(pilot, "data_dir", str(tmp_path / "nowhere"))
        assert "does not exist" in screen.dataset_message
        screen.query_one("#data_dir").value = ""
        await type_into(pilot, "data_dir", str(data))
        await pilot.pause()
        assert screen.dataset_present and "3 classes, 15 train / 15 test images" in screen.dataset_message
        config, problems = screen.build_config()
        assert not problems and config.dataset == "folder" and config.data_dir == str(data)
        assert config.val_split is None  # the empty field means the default split
