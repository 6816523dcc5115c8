"""The launcher for daily use: every setting reachable, linear-probe's run picker, a focus that shows
without colour, the missing dataset explained with absolute paths, counts through tui/format, the
registry as a typed message, and the screen's own stylesheet."""
from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import Checkbox, Input, Select

from engine.config import RunConfig
from tui import format as fmt
from tui.app import CifarApp
from tui.screens.launcher import NOT_EDITED, LauncherScreen, RegistryLoaded
from tui.screens.launcher_advanced import AdvancedSection
from tui.screens.launcher_fields import field_groups, field_specs, in_words
from tui.screens.launcher_form import MAIN_FIELDS
from tui.screens.launcher_info import without_param_note
from tests.helpers.pilot import form_ready, type_into, workers_settled
from tests.helpers.waiting import pilot_wait_until

SMALL, WIDE = (80, 24), (160, 48)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_TUI_CACHE", str(tmp_path / "cache"))


def _app(tmp_path: Path, **base: object) -> CifarApp:
    runs = str(tmp_path / "runs")
    config = RunConfig(runs_dir=runs, **base)  # type: ignore[arg-type]
    return CifarApp(runs_dir=runs, start_screen=LauncherScreen(runs_dir=runs, base=config))


def _plain(widget) -> str:
    """A Static's content as plain text (rich renderables included)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def _fake_run(runs: Path, run_id: str, model: str, status: str, test_acc: float | None) -> None:
    """A run directory as the store writes it (config.json, summary.json), without training."""
    path = runs / run_id
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({**RunConfig(model=model).to_dict(), "runs_dir": str(runs)}))
    (path / "summary.json").write_text(json.dumps({"status": status, "test_acc": test_acc, "epochs": 1}))


# ------------------------------------------------------------------ 1. every setting, generated


def test_every_field_has_one_control_in_its_group() -> None:
    """The advanced section is generated from RunConfig: every field but the app's runs dir and the
    free-form extra is on the main form or in it, exactly once, under RunConfig's own groups."""
    grouped = [name for _, names in field_groups() for name in names]
    # each field once (extra, free-form, is written by presets and never edited)
    assert sorted(grouped) == sorted(f.name for f in dataclasses.fields(RunConfig) if f.name != "extra")
    advanced = {n for n in field_specs() if n not in MAIN_FIELDS | NOT_EDITED}
    assert {"name", "weights", "momentum", "label_smoothing", "warmup_epochs", "image_size", "early_stop_patience",
            "randaugment", "rotate", "amp", "compile", "eval_batch_size", "checkpoints", "folder_size"} <= advanced
    assert field_specs()["image_size"].optional and field_specs()["image_size"].kind is int
    assert field_specs()["momentum"].doc == "SGD momentum."  # the docstring is the help


def test_validate_messages_name_fields_not_flags() -> None:
    assert in_words("lr must be > 0, got 0.0") == "learning rate must be > 0, got 0.0"
    assert in_words("strategy linear-probe needs --from RUN (a saved run)") == \
        "strategy linear-probe needs 'from run' (a saved run)"
    assert "--" not in in_words("--early-stop-patience needs a validation split; drop --val-split 0")


@pytest.mark.slow
async def test_advanced_section_sets_every_other_field(tmp_path: Path) -> None:
    app = _app(tmp_path, dataset="synthetic")
    async with app.run_test(size=SMALL) as pilot:
        await form_ready(pilot)  # the section is mounted right after the first frame
        screen = app.screen
        section = screen.query_one(AdvancedSection)
        assert section.collapsed
        assert screen.query_one("#momentum", Input).value == "0.9"  # filled from the config
        assert isinstance(screen.query_one("#nesterov"), Checkbox)
        section.query_one("CollapsibleTitle").focus()
        await pilot.press("enter")  # the keyboard opens it
        await pilot.pause()
        assert not section.collapsed
        await pilot_wait_until(pilot, lambda: bool(app.screen.models))  # the launcher has the registry
        await type_into(pilot, "label_smoothing", "1.5")
        await pilot.pause()
        assert screen.query_one("#label_smoothing").has_class("bad")  # RunConfig.validate(), in place
        assert "label smoothing must be in [0, 1)" in str(screen.query_one("#err-label_smoothing").render())
        await type_into(pilot, "label_smoothing", "0.1")
        await type_into(pilot, "name", "daily")
        await type_into(pilot, "image_size", "48")
        await pilot.click("#nesterov")
        await pilot.pause()
        assert not screen.query_one("#label_smoothing").has_class("bad")
        config, problems = screen.build_config()
        assert not problems
        assert (config.label_smoothing, config.name, config.image_size, config.nesterov) == (0.1, "daily", 48, True)
        assert config.momentum == 0.9 and config.weights is None  # untouched fields keep their value


@pytest.mark.slow
async def test_start_opens_the_section_at_the_wrong_field(tmp_path: Path) -> None:
    app = _app(tmp_path, dataset="synthetic", name="no spaces allowed")
    async with app.run_test(size=SMALL) as pilot:
        await pilot_wait_until(pilot, lambda: bool(app.screen.models))  # the launcher has the registry
        screen = app.screen
        assert screen.query_one(AdvancedSection).collapsed
        await pilot.press("ctrl+s")
        await pilot_wait_until(pilot, lambda: screen.query_one("#name").has_focus)
        assert isinstance(app.screen, LauncherScreen)  # nothing started
        assert not screen.query_one(AdvancedSection).collapsed
        assert "run name 'no spaces allowed' may only hold" in str(screen.query_one("#err-name").render())
        assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------ 2. linear-probe: pick a finished run


async def test_linear_probe_offers_finished_runs_and_waits_for_a_pick(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _fake_run(runs, "20261101-090000-cnn-scratch", "cnn", "completed", 0.8359)
    _fake_run(runs, "20261102-090000-mlp-scratch", "mlp", "completed", 0.4619)
    _fake_run(runs, "20261103-090000-cnn-scratch", "cnn", "failed", None)  # not finished: not offered
    app = _app(tmp_path, dataset="synthetic")
    async with app.run_test(size=SMALL) as pilot:
        await form_ready(pilot)
        screen = app.screen
        assert not screen.query_one("#row-from_run").display  # only for linear-probe
        screen.query_one("#strategy", Select).value = "linear-probe"
        await pilot_wait_until(pilot, lambda: screen.query_one("#row-from_run").display)
        picker = screen.query_one("#from_run", Select)
        await pilot_wait_until(pilot, lambda: len(picker.runs) == 2)
        assert [r.run_id for r in picker.runs] == ["20261102-090000-mlp-scratch", "20261101-090000-cnn-scratch"]
        assert [r.label for r in picker.runs] == [f"mlp-scratch {fmt.pct(0.4619)}", f"cnn-scratch {fmt.pct(0.8359)}"]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, LauncherScreen) and picker.has_focus
        assert "pick the finished run to probe under 'from run'" in str(screen.query_one("#err-from_run").render())
        await pilot.press("enter", "down", "enter")  # the list, its first run
        await pilot_wait_until(pilot, lambda: screen.query_one("#model", Input).value == "mlp")  # that run's model
        config, problems = screen.build_config()
        assert config.from_run == "20261102-090000-mlp-scratch" and config.model == "mlp" and not problems
        await pilot_wait_until(pilot, lambda: bool(app.screen.models))  # the launcher has the registry
        assert screen._start_problems(config) == []  # nothing stops it now
        assert not screen.query_one("#err-from_run").display


# ------------------------------------------------------------------ 3. the focused field, without colour


async def test_focused_row_is_marked_by_shape_under_no_color(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = _app(tmp_path, dataset="synthetic")
    async with app.run_test(size=SMALL) as pilot:
        assert app.no_color
        screen = app.screen
        await pilot.pause(0.3)  # the dataset check after the first frame must not move the focus
        assert app.focused is screen.query_one("#preset")
        screen.query_one("#epochs").focus()
        await pilot.pause()
        focused, other = (screen.query_one(f"#row-{n} .field-row") for n in ("epochs", "lr"))
        assert focused.styles.border_left[0] not in ("", "none", "blank")  # a bar is drawn: a shape
        assert other.styles.border_left[0] in ("", "none", "blank")
        label = focused.query_one(".field-label")
        assert label.styles.text_style.reverse and not other.query_one(".field-label").styles.text_style.reverse
        await pilot.press("tab")
        await pilot.pause()
        assert screen.query_one("#row-epochs .field-row").styles.border_left[0] in ("", "none", "blank")
        assert "batch size: Images per optimisation step." in str(screen.query_one("#field-help").render())


# ------------------------------------------------------------------ 4. the missing dataset, with absolute paths


@pytest.mark.slow
async def test_missing_dataset_names_the_absolute_path_and_the_fixes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = _app(tmp_path, dataset="cifar10", data_dir="nothing-here", download=False)
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        await pilot_wait_until(pilot, lambda: screen.query_one("#dataset-missing").display)
        text = str(screen.query_one("#dataset-missing-text").render())
        assert f"cifar10 not found in {tmp_path}/nothing-here/" in text and "'download' is off" in text
        assert "--" not in text and "--" not in screen.dataset_message
        assert screen.query_one("#download-on").display
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, LauncherScreen)
        problems = str(screen.query_one("#problems").render())
        assert f"{tmp_path}/nothing-here/" in problems and "'data path'" in problems and "ctrl+y" in problems
        await pilot.click("#download-on")
        await pilot.pause()
        assert screen.query_one("#download", Checkbox).value and screen.dataset_present
        assert "downloaded on start" in str(screen.query_one("#dataset-missing-text").render())
        assert not screen.query_one("#download-on").display
        screen.query_one("#dataset", Select).value = "fashion-mnist"  # not downloadable: no such button
        await pilot.pause()
        assert not screen.dataset_present and not screen.query_one("#download-on").display
        assert f"fashion-mnist not found in {tmp_path}/nothing-here/" in screen.dataset_message


# ------------------------------------------------------------------ 5. parameter counts through tui/format


def test_model_descriptions_lose_their_own_parameter_counts() -> None:
    assert without_param_note("small CNN, 3 stages 32-64-128 (~0.29M params)") == "small CNN, 3 stages 32-64-128"
    assert without_param_note("ResNet18 with CIFAR stem, 11.2M params") == "ResNet18 with CIFAR stem"
    assert without_param_note("AlexNet at 224 px (study 000), 57.0M params with 10 classes") == \
        "AlexNet at 224 px (study 000)"
    assert without_param_note("FC 4096-4096 (36.9M)") == "FC 4096-4096"


async def test_info_panel_counts_through_format(tmp_path: Path) -> None:
    from engine.models.facts import count_params

    app = _app(tmp_path, dataset="synthetic", model="cnn")
    async with app.run_test(size=WIDE) as pilot:
        screen = app.screen
        await pilot_wait_until(pilot, lambda: screen.info["params"][0].isdigit())
        total, trainable = count_params(RunConfig(dataset="synthetic", model="cnn"))
        assert screen.info["params"] == f"{fmt.params(total)} total · {fmt.params(trainable)} trainable"
        info = _plain(screen.query_one("#info-text"))
        assert fmt.params(total) in info and "params)" not in info  # the description's own count is gone


# ------------------------------------------------------------------ 6 and 7. typed registry message, own stylesheet


class Bare(App):
    """No app.tcss and no ``registry`` attribute: the screen must bring its styles and take a message."""

    def __init__(self, screen: LauncherScreen) -> None:
        super().__init__()
        self.start = screen
        self.seen: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.start)

    def on_registry_loaded(self, message: object) -> None:
        self.seen.append(message)  # would be the launcher's message bubbling up


async def test_registry_arrives_as_a_typed_message(tmp_path: Path) -> None:
    base = RunConfig(dataset="synthetic", model="toy", runs_dir=str(tmp_path))
    app = Bare(LauncherScreen(runs_dir=str(tmp_path), base=base))
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        models = {"toy": SimpleNamespace(description="a toy model"), "other": SimpleNamespace(description="")}
        screen.post_message(RegistryLoaded(models))
        await pilot_wait_until(pilot, lambda: screen.models == models)
        field = screen.query_one("#model", Input)
        assert field.value == "toy"
        assert await field.suggester.get_suggestion("oth") == "other"  # the registry, as suggestions
        assert "toy: a toy model" in _plain(screen.query_one("#info-text"))
        assert app.seen == []  # it does not bubble to the app
        assert LauncherScreen.CSS_PATH == "launcher.tcss"
        assert screen.query_one(".field-label").styles.width.value == 19  # launcher.tcss, not app.tcss
        await workers_settled(pilot)
