"""The launcher and presets: the preset given on the command line shows (name, study panel), a dataset
picked after a preset gets a validation split that fits it, and no field speaks Python (None/True/False)."""
from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Input, Select, Static

from tests.helpers.pilot import ScreenApp, form_ready, text_of
from tests.helpers.waiting import pilot_wait_until
from tui.cli.main import build_train_parser, config_from_args
from tui.screens.launcher import LauncherScreen, RegistryLoaded
from tui.screens.launcher_fields import field_specs, format_value
from tui.screens.launcher_info import field_help

PRESET = "004-cnn-bn-dropout"


def _launcher(tmp_path: Path, *argv: str) -> ScreenApp:
    """The launcher as `cifar-tui ARGV` opens it: the config the command line builds, unvalidated."""
    config = config_from_args(build_train_parser().parse_args([*argv, "--runs-dir", str(tmp_path / "runs")]),
                              validate=False)
    return ScreenApp(lambda: LauncherScreen(runs_dir=config.runs_dir, base=config))


def _models() -> dict:
    from engine.models.registry import MODELS

    return dict(MODELS)


async def test_the_preset_from_the_command_line_shows_with_its_study(tmp_path: Path) -> None:
    app = _launcher(tmp_path, "--preset", PRESET, "--dataset", "synthetic")
    async with app.run_test(size=(160, 48)) as pilot:
        await form_ready(pilot)
        screen = app.screen
        assert screen.query_one("#preset", Select).value == PRESET
        assert screen.query_one("#dataset", Select).value == "synthetic"  # the flag still wins over the preset
        panel = text_of(screen.query_one("#info-text", Static))
        assert f"preset {PRESET}" in panel and "study 004" in panel
        # What the study left unsaid is said beside its number: the user knows which fields are ours.
        assert "not stated by the study, our choice:" in panel and "normalize" in panel
        config, problems = screen.build_config(check=False)
        assert not problems and config.preset == PRESET and config.extra.get("study") == "004"


async def test_the_readme_example_shows_its_preset_and_keeps_the_flag(tmp_path: Path) -> None:
    app = _launcher(tmp_path, "--preset", "004-mlp", "--epochs", "5")
    async with app.run_test(size=(80, 24)) as pilot:
        await form_ready(pilot)
        screen = app.screen
        assert screen.query_one("#preset", Select).value == "004-mlp"
        assert screen.query_one("#epochs", Input).value == "5"  # not the preset's own epochs


async def test_a_dataset_picked_after_the_preset_gets_a_split_that_fits(tmp_path: Path) -> None:
    app = _launcher(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await form_ready(pilot)
        screen = app.screen
        screen.post_message(RegistryLoaded(_models()))  # validate() needs the models: Start's check
        await pilot_wait_until(pilot, lambda: bool(screen.models))
        screen.query_one("#preset", Select).value = PRESET
        await pilot_wait_until(pilot, lambda: screen.query_one("#val_split", Input).value == "10000")
        screen.query_one("#dataset", Select).value = "synthetic"
        await pilot_wait_until(pilot, lambda: screen.query_one("#val_split", Input).value != "10000")
        note = text_of(screen.query_one("#note-val_split", Static))
        assert note.strip() == "was 10,000: synthetic has 5,000 training images"  # said in place, not in a toast
        config, problems = screen.build_config()
        assert not problems and not screen._start_problems(config)  # Start is no longer refused


async def test_a_split_too_big_from_the_command_line_is_fitted_on_opening(tmp_path: Path) -> None:
    app = _launcher(tmp_path, "--preset", PRESET, "--dataset", "synthetic")
    async with app.run_test(size=(80, 24)) as pilot:
        await form_ready(pilot)
        screen = app.screen
        await pilot_wait_until(pilot, lambda: screen.query_one("#val_split", Input).value != "10000")
        assert "was 10,000" in text_of(screen.query_one("#note-val_split", Static))


PYTHON = re.compile(r"\b(None|True|False)\b")


def test_no_field_help_or_placeholder_speaks_python() -> None:
    assert (format_value(True), format_value(False), format_value(None)) == ("on", "off", "")
    for name, spec in field_specs().items():
        widget = Input(id=name)
        assert not PYTHON.search(str(field_help(widget))), name
        assert not PYTHON.search(spec.placeholder), name


async def test_no_value_on_the_form_reads_none_true_or_false(tmp_path: Path) -> None:
    app = _launcher(tmp_path, "--preset", PRESET)
    async with app.run_test(size=(160, 48)) as pilot:
        await form_ready(pilot)
        screen = app.screen
        for field in screen.query(Input):
            assert not PYTHON.search(field.value + " " + field.placeholder), field.id
        for box in screen.query(Static):
            assert not PYTHON.search(text_of(box)), box.id
