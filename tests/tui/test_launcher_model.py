"""The launcher's model field takes every name --model does, as text, checked in a worker: a torchvision
name and the user's own file show their parameter count; a file that does not compile shows its
'file:line: SyntaxError' line under the field, and Start is refused with it."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import RunConfig
from tui.app import CifarApp
from tui.screens.launcher import LauncherScreen
from tui.screens.launcher_model import ModelInput
from tests.helpers.pilot import form_ready, text_of, workers_settled
from tests.helpers.waiting import pilot_wait_until

SMALL = (80, 24)
NET = """import torch.nn as nn


class Net(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 7))
        self.fc = nn.Linear(7, num_classes)

    def forward(self, x):
        return self.fc(self.body(x))
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_TUI_CACHE", str(tmp_path / "cache"))


def _app(tmp_path: Path) -> CifarApp:
    runs = str(tmp_path / "runs")
    base = RunConfig(runs_dir=runs, dataset="synthetic", model="cnn")
    return CifarApp(runs_dir=runs, start_screen=LauncherScreen(runs_dir=runs, base=base))


async def _type_model(pilot, text: str) -> None:
    """Clear the model field and type text one key at a time, as fast as Pilot goes."""
    await form_ready(pilot)
    await pilot_wait_until(pilot, lambda: bool(pilot.app.screen.models))  # the registry is in
    field = pilot.app.screen.query_one(ModelInput)
    field.focus()
    field.value = ""
    await pilot.press(*text)


def _info(screen) -> str:
    return text_of(screen.query_one("#info-text"))


async def test_a_torchvision_name_shows_its_parameter_count(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await _type_model(pilot, "mobilenet_v3_small")
        screen = app.screen
        await pilot_wait_until(pilot, lambda: "1.5M total" in _info(screen) or "1.53M" in _info(screen), 60)
        assert "224 px" in _info(screen)  # its weights' input size
        assert not screen.query("#err-model") or not screen.query_one("#err-model").display
        await workers_settled(pilot)


async def test_typing_fast_checks_the_last_name_only(tmp_path: Path, monkeypatch) -> None:
    import tui.screens.launcher_model as launcher_model

    seen: list[str] = []
    real = launcher_model.check_model
    monkeypatch.setattr(launcher_model, "check_model", lambda config: seen.append(config.model) or real(config))
    # A pause longer than any gap between Pilot's keys on a loaded machine (0.35 s is not, beside training):
    # the test is of the debounce, not of the machine's speed.
    monkeypatch.setattr(launcher_model, "DEBOUNCE", 3.0)
    app = _app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await _type_model(pilot, "resnet18")
        await pilot_wait_until(pilot, lambda: "resnet18" in seen, 60)
        await workers_settled(pilot)
        assert seen[-1] == "resnet18" and len(seen) <= 2  # not one build per keystroke


async def test_your_own_file_shows_its_parameter_count(tmp_path: Path) -> None:
    net = tmp_path / "net.py"
    net.write_text(NET)
    app = _app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await _type_model(pilot, f"{net}:Net")
        screen = app.screen
        await pilot_wait_until(pilot, lambda: "0.02M total" in _info(screen), 60)  # 21,593, by tui/format
        assert "your own model from" in _info(screen) and "32 px" in _info(screen)
        await workers_settled(pilot)


async def test_a_syntax_error_shows_in_place_and_start_is_refused(tmp_path: Path) -> None:
    net = tmp_path / "broken.py"
    net.write_text("import torch.nn as nn\n\nclass Net(nn.Module)\n    pass\n")
    app = _app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await _type_model(pilot, f"{net}:Net")
        screen = app.screen
        await pilot_wait_until(pilot, lambda: bool(screen.query("#err-model")) and
                               screen.query_one("#err-model").display, 60)
        line = text_of(screen.query_one("#err-model"))
        assert f"{net}:3: SyntaxError" in line
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, LauncherScreen)
        assert screen.query_one(ModelInput).has_focus
        assert f"{net}:3: SyntaxError" in text_of(screen.query_one("#problems"))
        await workers_settled(pilot)
