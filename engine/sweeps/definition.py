"""What a sweep is: its name, the settings every trial shares, the swept params, sampler, size and pruner.

Stored in the study itself (a user attribute), so a worker on another machine, or the same command
run again, trains exactly the sweep that was started. Everything that would make a trial invalid is
refused here, before the first trial runs, in one line naming the setting: each listed value on top
of the shared settings, every grid combination, both ends of each range, the models (once each), and
a sweep with no validation split (its objective is validation accuracy; the test set never chooses).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.config import ConfigError, RunConfig, UserError
from engine.sweeps.space import Param, grid, params_text

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "none")
MAX_SWEEP_NAME = 32
"""Trials are named NAME-tN (a run name holds 64 characters) and tagged sweep:NAME (a tag holds 40)."""
MAX_GRID = 10_000


@dataclass
class SweepDefinition:
    name: str
    settings: dict[str, Any]
    """The RunConfig fields given on the command line or in --config (not runs_dir or name)."""
    params: list[Param]
    sampler: str = "grid"
    trials: int = 0
    prune: str = "median"
    sweep_id: str = ""
    """Set when the study is created: tells this sweep's runs from those of an older sweep of the same name."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "settings": self.settings, "params": [p.to_dict() for p in self.params],
                "sampler": self.sampler, "trials": self.trials, "prune": self.prune, "sweep_id": self.sweep_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SweepDefinition":
        return cls(data["name"], dict(data.get("settings") or {}), [Param.from_dict(p) for p in data["params"]],
                   data.get("sampler", "grid"), int(data.get("trials", 0)), data.get("prune", "median"),
                   data.get("sweep_id", ""))

    def grid_points(self) -> list[dict[str, Any]]:
        return grid(self.params) if self.sampler == "grid" else []

    def differs(self, other: "SweepDefinition") -> str | None:
        """What another command changes in this sweep (None: it is the same sweep; the size may grow)."""
        for what, mine, theirs in (("settings", self.settings, other.settings), ("sampler", self.sampler, other.sampler),
                                   ("prune", self.prune, other.prune)):
            if mine != theirs:
                return f"its {what} differ ({_diff(mine, theirs)})"
        if [p.to_dict() for p in self.params] != [p.to_dict() for p in other.params]:
            return (f"its params differ (it sweeps {' '.join(p.text() for p in self.params)}; this command "
                    f"{' '.join(p.text() for p in other.params)})")
        return None


def _diff(mine: Any, theirs: Any) -> str:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        return ", ".join(f"{k}: {mine.get(k)!r} there, {theirs.get(k)!r} here" for k in keys)
    return f"{mine!r} there, {theirs!r} here"


def check_name(name: str) -> str:
    if not name or len(name) > MAX_SWEEP_NAME or name[0] == "." or not all(c.isalnum() or c in "-_." for c in name):
        raise UserError(f"sweep name {name!r}: use 1 to {MAX_SWEEP_NAME} letters, digits, '-', '_' or '.' "
                        "(not starting with '.')")
    return name


def check_shape(defn: SweepDefinition, trials_given: int | None) -> SweepDefinition:
    """The sampler fits the params and the size is known: a grid runs each point once, random and TPE
    need --trials."""
    if not defn.params:
        raise UserError("a sweep needs at least one --param FIELD=... (e.g. --param lr=0.01,0.05,0.1)")
    if defn.sampler == "grid":
        grid([p for p in defn.params if not p.is_list])  # refuses the first range, naming it
        size = math.prod(len(p.values) for p in defn.params)
        if size > MAX_GRID:
            raise UserError(f"the grid has {size:,} points; keep it under {MAX_GRID:,} or use --sampler tpe --trials N")
        if trials_given is not None and trials_given != size:
            raise UserError(f"--trials {trials_given}: a grid runs each of its points once ({size}); drop --trials "
                            "or use --sampler random or tpe")
        defn.trials = size
    elif trials_given is None:
        raise UserError(f"--sampler {defn.sampler} needs --trials N (how many trials to run)")
    else:
        defn.trials = trials_given
    if defn.trials < 1:
        raise UserError(f"--trials must be at least 1, got {defn.trials}")
    return defn


def trial_config(defn: SweepDefinition, values: dict[str, Any], runs_dir: str) -> RunConfig:
    """The run one trial trains: a preset (swept or shared) under the shared settings under the trial's
    values; validated (ConfigError naming the field)."""
    merged = {**defn.settings, **values}
    base: dict[str, Any] = {}
    if merged.get("preset"):
        from engine.presets import preset_config

        base = preset_config(merged["preset"])
    extra = {**(base.get("extra") or {}), **(merged.get("extra") or {}),
             "sweep": {"name": defn.name, "id": defn.sweep_id}}
    config = RunConfig.from_dict({**base, **merged, "runs_dir": runs_dir, "extra": extra}).validate()
    if config.val_split == 0:
        raise ConfigError("a sweep picks trials by validation accuracy, never by the test set: --val-split 0 "
                          "leaves none; drop it or give a validation split", field="val_split")
    return config


def check_definition(defn: SweepDefinition, runs_dir: str) -> None:
    """Refuse, in one line naming the setting, anything that would make a trial invalid."""
    _check(defn, {}, runs_dir, "the sweep's settings")
    for p in defn.params:
        cases = [{p.field: v} for v in p.values] if p.is_list else [{p.field: _bound(p, p.low)},
                                                                     {p.field: _bound(p, p.high)}]
        for case in cases:
            _check(defn, case, runs_dir, f"--param {params_text(case)}")
    for point in defn.grid_points():
        _check(defn, point, runs_dir, f"the grid point {params_text(point)}")
    _check_models(defn, runs_dir)


def _bound(p: Param, value: float) -> Any:
    from engine.sweeps.space import field_kinds

    return int(value) if field_kinds()[p.field].startswith("int") else float(value)


def _check(defn: SweepDefinition, values: dict[str, Any], runs_dir: str, where: str) -> None:
    try:
        trial_config(defn, values, runs_dir)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None


def _check_models(defn: SweepDefinition, runs_dir: str) -> None:
    """Each model (and head) the trials would build resolves; after the rest, as it imports torch."""
    from engine.models.registry import check_model

    cases: list[dict[str, Any]] = [{}]
    for p in defn.params:
        if p.field in ("model", "head", "preset") and p.is_list:
            cases = [{**c, p.field: v} for c in cases for v in p.values]
    seen: set[tuple[str, str | None]] = set()
    for case in cases:
        config = trial_config(defn, case, runs_dir)
        if (config.model, config.head) not in seen:
            seen.add((config.model, config.head))
            try:
                check_model(config.model, config.head)
            except UserError as exc:
                raise UserError(f"--param {params_text(case)}: {exc}" if case else str(exc)) from None
