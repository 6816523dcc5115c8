"""The search space: ``--param FIELD=SPEC``, one RunConfig field each.

    lr=0.01,0.05,0.1         a list (any field: numbers, on/off, names; 'none' for an unset optional field)
    batch-size=int:32:256    whole numbers from 32 to 256
    momentum=float:0.8:0.99  a number in the range
    lr=log:1e-4:1            a number drawn on a log scale (whole numbers too, on an int field)

Each Param knows how to ask an Optuna trial for its value (``suggest``), so grid, random and TPE all
see the same space; the grid is the product of the lists. Only the syntax and the field's type are
checked here; whether the values make a valid run is checked against RunConfig (engine.sweeps.definition).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

from engine.config import RunConfig, UserError

RANGE_KINDS = ("int", "float", "log")
NOT_SWEPT = {"runs_dir": "the sweep's runs directory is --runs-dir",
             "name": "the sweep names its trials NAME-tN",
             "extra": "extra is free-form metadata, not a setting"}
_TRUE, _FALSE, _NONE = ("true", "on", "yes", "1"), ("false", "off", "no", "0"), ("none", "null", "unset")


def field_kinds() -> dict[str, str]:
    """RunConfig field -> its annotation as text ('float', 'int | None', 'str', 'bool', ...)."""
    return {f.name: str(f.type) for f in dataclasses.fields(RunConfig)}


@dataclass(frozen=True)
class Param:
    """One swept field: a list of values, or a range (``kind`` int, float or log) from low to high."""

    field: str
    kind: str
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0

    @property
    def is_list(self) -> bool:
        return self.kind == "list"

    @property
    def flag(self) -> str:
        return "--param " + self.field.replace("_", "-")

    def text(self) -> str:
        """As a person writes it: 'lr=log:0.001:1', 'batch_size=64,128'."""
        if self.is_list:
            return f"{self.field}={','.join(value_text(v) for v in self.values)}"
        return f"{self.field}={self.kind}:{value_text(self.low)}:{value_text(self.high)}"

    def suggest(self, trial: Any) -> Any:
        """This trial's value (an enqueued grid trial gets its fixed one back from Optuna)."""
        if self.is_list:
            return trial.suggest_categorical(self.field, list(self.values))
        if _base(field_kinds()[self.field]) == "int":
            return trial.suggest_int(self.field, int(self.low), int(self.high), log=self.kind == "log")
        return trial.suggest_float(self.field, self.low, self.high, log=self.kind == "log")

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "kind": self.kind, "values": list(self.values), "low": self.low,
                "high": self.high}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Param":
        return cls(data["field"], data["kind"], tuple(data.get("values") or ()), data.get("low", 0.0),
                   data.get("high", 0.0))


def parse_params(texts: list[str]) -> list[Param]:
    """Every --param, each field at most once; UserError (one line) naming the first bad one."""
    params = [parse_param(t) for t in texts]
    seen: set[str] = set()
    for p in params:
        if p.field in seen:
            raise UserError(f"--param {p.field} is given twice; give each field once (a list: a,b,c)")
        seen.add(p.field)
    return params


def parse_param(text: str) -> Param:
    """'batch-size=64,128' -> Param('batch_size', 'list', (64, 128)); UserError for anything else."""
    name, sep, spec = text.partition("=")
    field = name.strip().replace("-", "_")
    field = "from_run" if field == "from" else field
    kinds = field_kinds()
    if not sep or not field or not spec.strip():
        raise UserError(f"--param {text!r}: write FIELD=a,b,c or FIELD=int:LO:HI, float:LO:HI, log:LO:HI")
    if field in NOT_SWEPT:
        raise UserError(f"--param {name}: cannot be swept ({NOT_SWEPT[field]})")
    if field not in kinds:
        import difflib

        near = difflib.get_close_matches(field, list(kinds), n=1)
        raise UserError(f"--param {name}: no setting named {field!r}" + (f"; did you mean {near[0]!r}?" if near else
                                                                          "; 'cifar-tui --help' lists them"))
    kind = kinds[field]
    head = spec.split(":", 1)[0].strip().lower()
    if head in RANGE_KINDS and _base(kind) in ("int", "float"):
        return _range(field, kind, head, spec)
    values = tuple(_value(field, kind, v.strip()) for v in spec.split(","))
    if len(set(map(repr, values))) < len(values):
        raise UserError(f"--param {text}: a value is listed twice")
    return Param(field, "list", values)


def _range(field: str, kind: str, head: str, spec: str) -> Param:
    parts = spec.split(":")
    if len(parts) != 3:
        raise UserError(f"--param {field}={spec}: a range is {head}:LO:HI (two bounds)")
    base = _base(kind)
    if head == "int" and base != "int":
        raise UserError(f"--param {field}={spec}: {field} is a number, not a whole number; use float:LO:HI or "
                        "log:LO:HI")
    if head == "float" and base == "int":
        raise UserError(f"--param {field}={spec}: {field} is a whole number; use int:LO:HI or log:LO:HI")
    low, high = (_number(field, spec, p, whole=base == "int") for p in parts[1:])
    if not low < high:
        raise UserError(f"--param {field}={spec}: the low bound must be below the high one")
    if head == "log" and low <= 0:
        raise UserError(f"--param {field}={spec}: a log range needs a low bound above 0")
    return Param(field, head, (), low, high)


def _number(field: str, spec: str, text: str, whole: bool) -> float:
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise UserError(f"--param {field}={spec}: {text!r} is not a {'whole ' if whole else ''}number") from None
    if not math.isfinite(value):
        raise UserError(f"--param {field}={spec}: bounds must be finite numbers")
    return value


def _value(field: str, kind: str, text: str) -> Any:
    """One list value, typed as the field is ('64' -> 64 for an int field); UserError naming it."""
    base, optional = _base(kind), kind.endswith("| None")
    low = text.lower()
    if optional and low in _NONE:
        return None
    try:
        if base == "bool":
            if low in _TRUE or low in _FALSE:
                return low in _TRUE
            raise ValueError
        if base == "int":
            return int(text)
        if base == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
    except ValueError:
        what = {"bool": "on or off", "int": "a whole number", "float": "a finite number"}[base]
        raise UserError(f"--param {field}: {text!r} is not {what}") from None
    if not text:
        raise UserError(f"--param {field}: an empty value in the list")
    return text


def _base(kind: str) -> str:
    return kind.split("|")[0].strip()


def value_text(value: Any) -> str:
    """One value as a person types it: 0.01, on, none, cnn."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def grid(params: list[Param]) -> list[dict[str, Any]]:
    """Every combination of the lists, in the order given (the first field varies slowest)."""
    ranges = [p for p in params if not p.is_list]
    if ranges:
        raise UserError(f"--sampler grid takes lists only: {ranges[0].text()} is a range; list its values "
                        f"({ranges[0].field}=a,b,c) or use --sampler random or tpe")
    combos = itertools.product(*(p.values for p in params))
    return [dict(zip((p.field for p in params), combo)) for combo in combos]


def params_text(values: dict[str, Any]) -> str:
    """'lr=0.01 batch_size=64': one trial's settings, for lines and tables."""
    return " ".join(f"{k}={value_text(v)}" for k, v in values.items())
