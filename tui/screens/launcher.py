"""The launcher: choose dataset, model, strategy, hyperparameters (or a preset) and start.

Keyboard first: tab/shift+tab move between fields (the focused row is marked
with a bar at its left edge, which reads without colour too), enter opens a
choice list or the "advanced" section (every other RunConfig field), space
toggles a switch, ctrl+s (or F5) starts. Fields are checked as you type and
flagged in place; the info panel explains the focused field with its RunConfig
docstring. The model list, parameter counts and device need torch, which the
app imports in the background; until then the form is already usable and says
it is loading. The first frame holds only the form's first rows: the rest are
mounted right after it (the README's Performance target: the first frame within 0.5 s of launch).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Select, Static

from engine.config import ConfigError, RunConfig, default_runs_dir

from tui.messages import StartRun
from tui.screens import launcher_preset
from tui.screens.launcher_advanced import AdvancedSection
from tui.screens.launcher_fields import (
    blamed_field,
    check_value,
    field_specs,
    in_words,
    parse_text,
)
from tui.screens.launcher_form import (
    MAIN_FIELDS,
    NUMBER_BY_NAME,
    DatasetStatus,
    data_dir_placeholder,
    dataset_status,
    load_presets,
    parse_number,
    preset_fields,
)
from tui.screens.launcher_info import InfoState, abs_dir, field_help, info_panel
from tui.screens.launcher_model import ModelChecked, ModelInput, start_problem
from tui.screens.launcher_rows import DatasetBanner, main_row_names, main_rows, show_error
from tui.screens.launcher_runs import ProbePicker

if TYPE_CHECKING:
    from engine.models.registry import ModelSpec

PROBE = "linear-probe"
# Not edited here: the app's runs directory (shown in the info panel, where runs are saved and probed
# runs are found) and the preset's free-form metadata.
NOT_EDITED = frozenset({"runs_dir", "extra", "sync_bn", "dist_timeout"})  # the app trains in one process
# The rows of the launcher's first frame. Every widget styled and laid out before that frame costs ~3 ms of a
# 2-core machine's CPU (the README's Performance target: the first frame within 0.5 s of launch); the rest of the form and the advanced
# section are mounted right after it, below the fold of an 80x24 terminal, before anyone can reach them.
FIRST_FRAME_ROWS = 2


class RegistryLoaded(Message, bubble=False):
    """The app imported torch and the model registry; post it to the launcher (it does not bubble back)."""

    def __init__(self, models: Mapping[str, "ModelSpec"]) -> None:
        super().__init__()
        self.models = models


class LauncherScreen(Screen):
    """Pick what to train; ``start`` pushes the dashboard with the built RunConfig."""

    CSS_PATH = "launcher.tcss"
    BINDINGS = [
        Binding("ctrl+s", "start", "Start", priority=True),
        Binding("f5", "start", "Start", show=False, priority=True),
        Binding("ctrl+y", "synthetic", "Synthetic data", priority=True),
    ]

    def __init__(self, runs_dir: str | None = None, base: RunConfig | None = None,
                 models: Mapping[str, "ModelSpec"] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs_dir = runs_dir or (base.runs_dir if base is not None else default_runs_dir())
        self.base = base or RunConfig(runs_dir=self.runs_dir)
        self.presets = load_presets()
        self.preset_name: str | None
        self.preset_extra: dict[str, Any]
        self.preset_name, self.preset_extra = launcher_preset.given(self.base, self.presets)
        self.models: Mapping[str, ModelSpec] = models or {}
        self.info: dict[str, str] = {"params": "loading torch...", "input": "-", "device": "loading torch..."}
        self.checked: ModelChecked | None = None
        """The latest check of the model field (it may be for a name typed over since)."""
        self.dataset = DatasetStatus(True, "checking...")
        self._dataset_checked = False
        self.form_complete = False
        """Every row is mounted (the first frame has only the first few)."""

    @property
    def dataset_message(self) -> str:
        return self.dataset.message

    @property
    def dataset_present(self) -> bool:
        """The run can start as far as the data goes (found, or downloaded on start)."""
        return self.dataset.can_start(self._download_on())

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static("cifar-tui · new training run", id="launcher-title")
        with Horizontal(id="launcher-body"):
            with VerticalScroll(id="form"):
                yield from main_rows(self.base, self.presets, self.runs_dir, main_row_names()[:FIRST_FRAME_ROWS])
            with VerticalScroll(id="info"):
                yield Static("", id="field-help")
                yield Static("", id="info-text")
                yield Static("", id="problems")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#info").border_title = "what this trains"
        self.query_one("#form").border_title = "settings"
        # Start in the form (not on the missing-dataset banner's buttons, which come first in tab order).
        self.query_one("#preset" if self.presets else "#dataset").focus()
        # After the first frame is drawn, and after the callbacks waiting for it (the app's mark of the frame):
        # call_later queues it behind them.
        self.call_after_refresh(self.call_later, self._complete_form)
        self._render_info()

    async def _complete_form(self) -> None:
        """Mount the rest of the main form, the advanced section and the banner, then what needs every row."""
        rest = main_row_names()[FIRST_FRAME_ROWS:]
        section = AdvancedSection(self.base, MAIN_FIELDS | NOT_EDITED)
        await self.mount(DatasetBanner(id="dataset-missing"), after="#launcher-title")
        await self.query_one("#form").mount_all([*main_rows(self.base, self.presets, self.runs_dir, rest), section,
                                                 Button("Start training (ctrl+s)", id="start", variant="success")])
        self.form_complete = True
        launcher_preset.fit_val_split(self)  # a preset's split given with a smaller dataset on the command line
        self._show_probe_row()
        if self.models:
            self._use_registry(self.models)
        self._refresh_dataset(True)  # it reads the disk: after the first frame too

    # ------------------------------------------------------------ registry / info
    def on_registry_loaded(self, message: RegistryLoaded) -> None:
        if message.models:  # empty: the import failed, and the app says why
            self._use_registry(message.models)

    def _use_registry(self, models: Mapping[str, "ModelSpec"]) -> None:
        self.models = models
        if not self.form_complete:  # _complete_form calls it again
            return
        self.query_one(ModelInput).suggest(models)
        self._recheck_inputs()
        self._update_params()

    def _recheck_inputs(self) -> None:
        """Now that validate() can run: check every typed field against it."""
        for field in self.query(Input):
            if field.id in field_specs() and field.id not in ("data_dir", "model"):
                self._flag(field.id, self._field_error(field.id, field.value))

    def on_model_checked(self, message: ModelChecked) -> None:
        if not message.is_for(self.value_of("model").strip(), (self.value_of("head") or "").strip() or None):
            return  # typed over since: the check of the new text is on its way
        self.checked = message
        self.info.update(message.info)
        self._flag("model", message.error)
        self._render_info()

    def _update_params(self) -> None:
        """Check the model (and count what the config trains) once typing pauses."""
        if not self.models or not self.form_complete:  # _complete_form calls it again
            return
        config, _ = self.build_config(check=False)
        if config is not None:
            self.info["params"] = "checking..." if config.model not in self.models else "counting..."
            self._render_info()
            self.query_one(ModelInput).check_soon(config)

    def _render_info(self) -> None:
        model = self.value_of("model")
        spec = self.models.get(model) if self.models else None
        described = self.checked.description if self.checked and self.checked.model == model else None
        probing = self.value_of("strategy") == PROBE
        state = InfoState(model, spec.description if spec is not None else described, self.info, self.dataset,
                          self.dataset_present, self.runs_dir, self._probe_label() if probing else None)
        preset = self.presets.get(self.preset_name) if self.preset_name else None
        self.query_one("#info-text", Static).update(info_panel(state, preset))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The info panel explains the focused field with its RunConfig docstring."""
        self.query_one("#field-help", Static).update(field_help(event.widget))

    # ------------------------------------------------------------ dataset
    def _download_on(self) -> bool:
        try:
            return self.query_one("#download", Checkbox).value
        except Exception:  # noqa: BLE001 - before compose
            return self.base.download

    def _refresh_dataset(self, first: bool = False) -> None:
        if not (first or self._dataset_checked):
            return  # a control's Changed event from mounting: the first check, after the first frame, reads it
        self._dataset_checked = True
        field = self.query_one("#data_dir", Input)
        field.placeholder = data_dir_placeholder(self.value_of("dataset"))
        self.dataset = dataset_status(self.value_of("dataset"), field.value.strip() or None)
        banner = self.query_one(DatasetBanner)
        if self.dataset.present and banner.display and banner.has_focus_within:
            self.query_one("#dataset").focus()  # its buttons vanish with it
        if banner.show(self.dataset, self._download_on()):
            # Showing or hiding the banner moves every panel; repaint the whole screen, not just what changed,
            # or some terminals keep stale cells of the old layout until the next full refresh.
            self.refresh(layout=True, repaint=True)
        self._render_info()

    def action_synthetic(self) -> None:
        self.query_one("#dataset", Select).value = "synthetic"
        self.notify("dataset: synthetic demo data (no download needed)", timeout=3)

    # ------------------------------------------------------------ linear probe: the run it starts from
    def _show_probe_row(self) -> None:
        if not self.form_complete:  # _complete_form calls it again
            return
        probing = self.value_of("strategy") == PROBE
        self.query_one("#row-from_run").display = probing
        if probing:
            self.query_one(ProbePicker).reload()

    def _probe_label(self) -> str:
        pickers = self.query(ProbePicker)
        picked = pickers.first().picked if pickers else None
        return picked.label if picked else ""

    def _probe_picked(self) -> None:
        """The probed run's weights fit its own model only: select that model too."""
        run = self.query_one(ProbePicker).picked
        model = self.query_one(ModelInput)
        if run is None or model.value == run.model:
            return
        model.value = run.model
        self.notify(f"model set to {run.model}: the probed run's own", timeout=4)

    # ------------------------------------------------------------ form events
    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        name = event.select.id
        if name == "preset":
            launcher_preset.apply(self, str(event.value))
        if name == "dataset" and self.form_complete:
            self._refresh_dataset()
            launcher_preset.fit_val_split(self)
        if name == "strategy":
            self._show_probe_row()
        if name == "from_run":
            self._flag("from_run", None)
            self._probe_picked()
        if name in ("model", "strategy", "dataset", "device"):
            self._update_params()
        self._render_info()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name == "data_dir":
            self._refresh_dataset()
        elif name == "model":  # checked by building it, in a worker (its error comes back in ModelChecked)
            self._update_params()
        elif name in field_specs():
            self._flag(name, self._field_error(name, event.value))
            if name == "head":  # the model is checked with it
                self._update_params()

    @on(Checkbox.Changed, "#download")
    def _download_changed(self) -> None:
        self._refresh_dataset()

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.focus_next()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    def _field_error(self, name: str, text: str) -> str | None:
        """What is wrong with one field's text: its type at once, its value by validate() once torch is in."""
        if name in NUMBER_BY_NAME:
            value, error = parse_number(name, text)
        else:
            value, error = parse_text(field_specs()[name], text)
        if error is None and self.models:
            error = check_value(name, value)
        return in_words(error) if error else None

    def _flag(self, name: str, error: str | None) -> None:
        """Mark a field invalid in place (red control, message under it) or clear it."""
        show_error(self.query_one(f"#row-{name}"), name, error)
        self.query_one(f"#{name}").set_class(bool(error), "bad")

    def value_of(self, name: str) -> Any:
        widgets = self.query(f"#{name}")
        if not widgets:  # a row mounted after the first frame, not there yet: the value it will start with
            return getattr(self.base, name, None)
        value = widgets.first().value  # type: ignore[attr-defined]
        return None if value is Select.NULL else value

    def control_of(self, name: str) -> Widget | None:
        """The form's control for a RunConfig field (None for the fields it does not edit)."""
        if name in NOT_EDITED or name == "preset" or name not in field_specs():
            return None
        return self.query_one(f"#{name}")

    # ------------------------------------------------------------ start
    def build_config(self, check: bool = True) -> tuple[RunConfig | None, list[str]]:
        """The RunConfig the form describes, and the problems that stop it (flagged in place)."""
        values, problems = self._read_fields(check)
        if problems:
            return None, problems
        base = {**self.base.to_dict(), "runs_dir": self.runs_dir}
        if self.preset_name:
            base.update(preset_fields(self.preset_name))
        config = RunConfig.from_dict({**base, **values, "preset": self.preset_name,
                                      "extra": self.preset_extra or base.get("extra") or {}})
        return config, []

    def _read_fields(self, check: bool) -> tuple[dict[str, Any], list[str]]:
        """Every field's value by its type (text parsed, choices and switches as they are), and the type errors."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name in field_specs():
            widget = self.control_of(name)
            if isinstance(widget, Input) and name != "data_dir":
                value, error = (parse_number(name, widget.value) if name in NUMBER_BY_NAME
                                else parse_text(field_specs()[name], widget.value))
                if check and (error or name != "model"):  # the model's own check keeps its flag
                    self._flag(name, error)
                if error:
                    problems.append(error)
                values[name] = value
            elif widget is not None:
                values[name] = self.value_of(name)
        values["data_dir"] = self.query_one("#data_dir", Input).value.strip() or None
        return values, problems

    def _start_problems(self, config: RunConfig) -> list[str]:
        """What stops a well-typed config: no probed run, validate(), the data (each flagged where it is fixed)."""
        if config.strategy == PROBE and not config.from_run:
            picker = self.query_one(ProbePicker)
            picker.reload()  # a run may have finished since the list was read
            where = "" if picker.runs else f" (none in {abs_dir(self.runs_dir)} yet: train one first)"
            return [self._refuse("from_run", f"linear-probe: pick the finished run to probe under 'from run'{where}")]
        model_problem = start_problem(config, self.models, self.checked)
        if model_problem:
            return [self._refuse("model", model_problem)]
        if self.models:
            try:
                config.validate()
            except ConfigError as exc:
                field = blamed_field(exc)
                message = in_words(str(exc))
                return [self._refuse(field, message) if field and self.control_of(field) else message]
        if not self.dataset.can_start(config.download):
            return [self.dataset.refusal()]
        return []

    def _refuse(self, name: str, message: str) -> str:
        """Flag the field and move the focus there (opening the advanced section if it is in it)."""
        self._flag(name, message)
        section = self.query_one(AdvancedSection)
        field = self.query_one(f"#{name}")
        if name in section.names and section.collapsed:
            section.reveal()
            self.call_after_refresh(field.focus)  # once the section's rows are displayed
        else:
            field.focus()
        return message

    def action_start(self) -> None:
        if not self.form_complete:  # ctrl+s in the instant after the first frame: once every row is there
            self.call_after_refresh(self.action_start)
            return
        config, problems = self.build_config()
        if config is not None:
            problems = self._start_problems(config)
        self.query_one("#problems", Static).update(
            Text("\n".join(f"✗ {p}" for p in problems), style="bold red") if problems else "")
        if problems:
            self.notify(problems[0], title="cannot start yet", severity="error", timeout=6)
            return
        self.post_message(StartRun(config))  # type: ignore[arg-type]

