"""The launcher: choose dataset, model, strategy, hyperparameters (or a preset) and start.

Keyboard first: tab/shift+tab move between fields, enter opens a choice list,
space toggles a switch, ctrl+s (or F5) starts. Numeric fields are checked as
you type and flagged in place. The model list, parameter counts and device
need torch, which the app imports in the background; until then the form is
already usable and says it is loading.
"""
from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from engine.config import ConfigError, RunConfig

from .. import format as fmt
from .launcher_form import (
    CHOICES, NUMBER_FIELDS, SWITCHES, count_params, dataset_status, device_description, format_number,
    load_presets, parse_number, preset_fields,
)

NO_PRESET = "(none)"


# What an empty optional field means.
PLACEHOLDERS = {"train_limit": "all", "test_limit": "all", "val_split": "default: 5000 or 10%"}


class InfoCounted(Message):
    """Parameter count, input size and device, computed in a worker."""

    def __init__(self, info: dict[str, str]) -> None:
        super().__init__()
        self.info = info


def _row(label: str, widget: Any, field: str) -> Vertical:
    """A form row: label and control side by side, an error line under them (hidden when fine)."""
    return Vertical(
        Horizontal(Label(label, classes="field-label"), widget, classes="field-row"),
        Static("", id=f"err-{field}", classes="field-error"),
        classes="field",
    )


class LauncherScreen(Screen):
    """Pick what to train; ``start`` pushes the dashboard with the built RunConfig."""

    BINDINGS = [
        Binding("ctrl+s", "start", "Start", priority=True),
        Binding("f5", "start", "Start", show=False, priority=True),
        Binding("ctrl+y", "synthetic", "Synthetic data", priority=True),
    ]

    def __init__(self, runs_dir: str = "saved_runs", base: RunConfig | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs_dir = runs_dir
        self.base = base or RunConfig(runs_dir=runs_dir)
        self.presets = load_presets()
        self.preset_extra: dict[str, Any] = {}
        self.preset_name: str | None = None
        self.models: dict[str, Any] = {}
        self.info: dict[str, str] = {"params": "loading torch...", "input": "-", "device": "loading torch..."}
        self.dataset_message = "checking..."
        self.dataset_present = True

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        c = self.base
        yield Static("cifar-tui · new training run", id="launcher-title")
        with Vertical(id="dataset-missing"):
            yield Static("", id="dataset-missing-text")
            with Horizontal(id="dataset-missing-buttons"):
                yield Button("Synthetic data (ctrl+y)", id="use-synthetic", compact=True, variant="warning")
                yield Button("Set a data path", id="set-data-path", compact=True)
                yield Static(" or 'download' (online)", id="dataset-missing-or")
        with Horizontal(id="launcher-body"):
            with VerticalScroll(id="form"):
                if self.presets:
                    options = [(NO_PRESET, NO_PRESET)] + [(self._preset_label(n, p), n) for n, p in self.presets.items()]
                    yield _row("preset", Select(options, value=NO_PRESET, allow_blank=False, compact=True,
                                                id="preset"), "preset")
                yield _row("dataset", self._select("dataset", c.dataset), "dataset")
                yield _row("data path", Input(c.data_dir or "", placeholder="default (./data or $CIFAR_TUI_DATA)",
                                              compact=True, id="data_dir"), "data_dir")
                yield _row("model", Select([(f"{c.model} (loading models...)", c.model)], value=c.model,
                                           allow_blank=False, compact=True, id="model"), "model")
                yield _row("strategy", self._select("strategy", c.strategy), "strategy")
                for spec in NUMBER_FIELDS[:4]:
                    yield self._number_row(spec.name, spec.label)
                yield _row("optimizer", self._select("optimizer", c.optimizer), "optimizer")
                yield _row("lr schedule", self._select("schedule", c.schedule), "schedule")
                for spec in NUMBER_FIELDS[4:]:
                    yield self._number_row(spec.name, spec.label)
                for name, label, what in SWITCHES:
                    yield _row(label, Checkbox(what, value=bool(getattr(c, name)), compact=True, id=name), name)
                yield _row("device", self._select("device", c.device), "device")
                yield Button("Start training (ctrl+s)", id="start", variant="success")
            with VerticalScroll(id="info"):
                yield Static("", id="info-text")
                yield Static("", id="problems")
        yield Footer()

    def _select(self, name: str, value: str) -> Select:
        return Select([(v, v) for v in CHOICES[name]], value=value, allow_blank=False, compact=True, id=name)

    def _number_row(self, name: str, label: str) -> Vertical:
        hint = PLACEHOLDERS.get(name, "")
        return _row(label, Input(format_number(getattr(self.base, name)), placeholder=hint, compact=True, id=name), name)

    @staticmethod
    def _preset_label(name: str, preset: Any) -> str:
        # Short: the list is ~25 columns wide at 80x24 (the name starts with its study id);
        # the info panel shows the study and its reported accuracy in full.
        acc = getattr(preset, "reported_test_acc", None)
        return f"{name} {fmt.pct(acc)}" if acc else name

    def on_mount(self) -> None:
        self.query_one("#info").border_title = "what this trains"
        self.query_one("#form").border_title = "settings"
        models = getattr(self.app, "registry", None)
        if models:
            self.registry_loaded(models)
        # Start in the form (not on the missing-dataset banner's buttons, which come first in tab order).
        self.query_one("#preset" if self.presets else "#dataset").focus()
        self.call_after_refresh(self._refresh_dataset)  # after the first frame: it imports numpy
        self._render_info()

    # ------------------------------------------------------------ registry / info
    def registry_loaded(self, models: dict[str, Any]) -> None:
        """Called by the app once torch and the model registry are imported."""
        self.models = models
        select = self.query_one("#model", Select)
        current = select.value
        select.set_options([(name, name) for name in sorted(models)])
        select.value = current if current in models else self.base.model
        self._update_params()

    @work(thread=True, exclusive=True, group="params", exit_on_error=False)
    def _count(self, config: RunConfig) -> None:
        try:
            from ..engine_import import import_engine

            import_engine()  # never import torch beside another worker doing the same
            total, trainable, size = count_params(config)
            native = " (native)" if size == 32 or (config.dataset == "fashion-mnist" and size == 28) else " (resized on the device)"
            info = {"params": f"{fmt.params(total)} total · {fmt.params(trainable)} trainable", "input": f"{size} px{native}",
                    "device": device_description(config.device)}
        except Exception as exc:  # noqa: BLE001 - an unusual combination: say so, don't crash
            info = {"params": f"cannot count: {type(exc).__name__}: {exc}", "input": "-",
                    "device": device_description(config.device)}
        self.post_message(InfoCounted(info))  # thread-safe, never waits for the UI

    def on_info_counted(self, message: "InfoCounted") -> None:
        self.info.update(message.info)
        self._render_info()

    def _update_params(self) -> None:
        if not self.models:
            return
        config, _ = self.build_config(check=False)
        if config is not None and config.model in self.models:
            self.info["params"] = "counting..."
            self._render_info()
            self._count(config)

    def _render_info(self) -> None:
        model = self._value("model")
        spec = self.models.get(model) if self.models else None
        rows = [("model", f"{model}" + (f": {spec.description}" if spec is not None else "")),
                ("params", self.info["params"]), ("input", self.info["input"]), ("device", self.info["device"]),
                ("dataset", self.dataset_message), ("runs dir", self.runs_dir)]
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for key, value in rows:
            grid.add_row(key, Text(value, style="bold red" if key == "dataset" and not self.dataset_present else ""))
        text = Text()
        if self.preset_name and self.preset_name in self.presets:
            p = self.presets[self.preset_name]
            text.append("\npreset ", style="bold")
            text.append(f"{p.name}\n", style="bold cyan")
            text.append(f"study {p.study}: {getattr(p, 'study_title', '')}\n", style="dim")
            text.append(f"{p.description}\n")
            if p.reported_test_acc:
                text.append(f"reported test accuracy {fmt.pct(p.reported_test_acc)}\n", style="green")
            if getattr(p, "needs", ""):
                text.append(f"needs {p.needs}\n", style="yellow")
        self.query_one("#info-text", Static).update(Group(grid, text) if text else grid)

    # ------------------------------------------------------------ dataset
    def _refresh_dataset(self) -> None:
        data_dir = self.query_one("#data_dir", Input).value.strip() or None
        self.dataset_present, self.dataset_message = dataset_status(self._value("dataset"), data_dir)
        banner = self.query_one("#dataset-missing")
        if self.dataset_present and banner.has_focus_within:
            self.query_one("#dataset").focus()  # its buttons vanish with it
        if banner.display != (not self.dataset_present):
            banner.display = not self.dataset_present
            # Hiding the banner moves every panel up; repaint the whole screen, not just what changed,
            # or some terminals keep stale cells of the old layout until the next full refresh.
            self.refresh(layout=True, repaint=True)
        dataset = self._value("dataset")
        self.query_one("#dataset-missing-text", Static).update(
            Text(f"⚠ {self.dataset_message.split(':')[0]}. Ways out:", style="bold"))
        self._render_info()

    def action_synthetic(self) -> None:
        self.query_one("#dataset", Select).value = "synthetic"
        self.notify("dataset: synthetic demo data (no download needed)", timeout=3)

    @on(Button.Pressed, "#use-synthetic")
    def _use_synthetic(self) -> None:
        self.action_synthetic()

    @on(Button.Pressed, "#set-data-path")
    def _focus_data_path(self) -> None:
        self.query_one("#data_dir", Input).focus()

    # ------------------------------------------------------------ form events
    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        name = event.select.id
        if name == "preset":
            self._apply_preset(str(event.value))
        if name in ("dataset",):
            self._refresh_dataset()
        if name in ("model", "strategy", "dataset", "device"):
            self._update_params()
        self._render_info()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name == "data_dir":
            self._refresh_dataset()
            return
        _, error = parse_number(name, event.value)
        self._flag(name, error)

    @on(Input.Submitted)
    def _input_submitted(self) -> None:
        self.focus_next()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    def _flag(self, name: str, error: str | None) -> None:
        """Mark a field invalid in place (red control, message under it) or clear it."""
        err = self.query_one(f"#err-{name}", Static)
        err.update(error or "")
        err.display = bool(error)
        self.query_one(f"#{name}").set_class(bool(error), "bad")

    def _value(self, name: str) -> Any:
        widget = self.query_one(f"#{name}")
        value = widget.value  # type: ignore[attr-defined]
        return None if value is Select.BLANK else value

    def _apply_preset(self, name: str) -> None:
        if name == NO_PRESET:
            self.preset_name, self.preset_extra = None, {}
            return
        fields = preset_fields(name)
        self.preset_name, self.preset_extra = name, dict(fields.get("extra") or {})
        values = {**RunConfig().to_dict(), **fields}
        for key, value in values.items():
            try:
                widget = self.query_one(f"#{key}")
            except Exception:  # noqa: BLE001 - fields the form does not show keep the preset's value
                continue
            if isinstance(widget, Select):
                if key != "model" or value in self.models or not self.models:
                    if key == "model" and not self.models:
                        widget.set_options([(f"{value} (loading models...)", value)])
                    widget.value = value
            elif isinstance(widget, Checkbox):
                widget.value = bool(value)
            elif isinstance(widget, Input) and key != "data_dir":
                widget.value = format_number(value)
        self.notify(f"preset {name} loaded; change any field before starting", timeout=3)

    # ------------------------------------------------------------ start
    def build_config(self, check: bool = True) -> tuple[RunConfig | None, list[str]]:
        """The RunConfig the form describes, and the problems that stop it (flagged in place)."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for spec in NUMBER_FIELDS:
            value, error = parse_number(spec.name, self.query_one(f"#{spec.name}", Input).value)
            if check:
                self._flag(spec.name, error)
            if error:
                problems.append(error)
            values[spec.name] = value
        for name in CHOICES:
            values[name] = self._value(name)
        values["model"] = self._value("model")
        for name, _, _ in SWITCHES:
            values[name] = self.query_one(f"#{name}", Checkbox).value
        values["data_dir"] = self.query_one("#data_dir", Input).value.strip() or None
        if problems:
            return None, problems
        base = {**self.base.to_dict(), "runs_dir": self.runs_dir}
        if self.preset_name:
            base.update(preset_fields(self.preset_name))
        config = RunConfig.from_dict({**base, **values, "preset": self.preset_name,
                                      "extra": self.preset_extra or base.get("extra") or {}})
        return config, []

    def action_start(self) -> None:
        config, problems = self.build_config()
        if config is not None and self.models:
            try:
                config.validate()
            except ConfigError as exc:
                problems.append(str(exc))
                if exc.field in {spec.name for spec in NUMBER_FIELDS}:
                    self._flag(exc.field, str(exc))
                    self.query_one(f"#{exc.field}").focus()  # where the fix is typed
        if not problems and not self.dataset_present and not config.download:  # type: ignore[union-attr]
            problems.append(self.dataset_message)
        self.query_one("#problems", Static).update(
            Text("\n".join(f"✗ {p}" for p in problems), style="bold red") if problems else "")
        if problems:
            self.notify(problems[0], title="cannot start yet", severity="error", timeout=6)
            return
        from .dashboard import DashboardScreen

        self.app.push_screen(DashboardScreen.for_config(config))  # type: ignore[arg-type]
