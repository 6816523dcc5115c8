"""The launcher's fields, generated from RunConfig: type, default, choices, help and group of each.

engine.config is the one source: a field's help is its docstring (``field_docs``),
its type and default come from the dataclass, and a value is checked by
``RunConfig.validate()``; this module only turns the text typed into a field
into a value of the field's type. No textual, no torch.
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.config import FIELD_CHOICES as CHOICES
from engine.config import FIELD_GROUPS, ConfigError, RunConfig, field_docs
# Shorter words than the field names, where the launcher's 19-column labels need them.
LABELS = {"batch_size": "batch size", "lr": "learning rate", "weight_decay": "weight decay", "data_dir": "data path",
          "schedule": "lr schedule", "train_limit": "train images", "test_limit": "test images",
          "val_split": "validation images", "cutout": "cutout px", "mixup": "mixup α", "from_run": "from run",
          "name": "run name", "weights": "weights file", "warmup_epochs": "warm-up epochs",
          "early_stop_patience": "early-stop epochs", "randaugment_magnitude": "randaug. magnitude",
          "eval_batch_size": "eval batch size", "image_size": "image size px", "folder_size": "folder image px"}
# What an empty optional field means (the dataclass default None, in words).
PLACEHOLDERS = {"train_limit": "all", "test_limit": "all", "val_split": "default: 5000 or 10%",
                "image_size": "the model's own", "weights": "torchvision's cache", "name": "optional",
                "data_dir": "default"}
# Titles of the field groups, in the order RunConfig lists them (a blank line ends a group there).


@dataclass(frozen=True)
class FieldSpec:
    """One RunConfig field as the form shows it."""

    name: str
    kind: type
    """bool, int, float or str."""
    optional: bool
    """None is allowed: an empty field means the default."""
    default: Any
    doc: str
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name.replace("_", " "))

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS.get(self.name, "default" if self.optional else "")


def _kind(hint: Any) -> tuple[type | None, bool]:
    """(bool/int/float/str, optional) of a type hint; (None, _) for anything else (dicts)."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    args = typing.get_args(hint) if union else (hint,)
    optional = type(None) in args
    kinds = [a for a in args if a in (bool, int, float, str)]
    return (kinds[0] if len(kinds) == 1 else None), optional


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]


@lru_cache(maxsize=1)
def field_specs() -> dict[str, FieldSpec]:
    """Every RunConfig field the form can show (not the free-form ``extra``), in the dataclass order."""
    hints = typing.get_type_hints(RunConfig)
    docs = field_docs()
    specs: dict[str, FieldSpec] = {}
    for f in dataclasses.fields(RunConfig):
        kind, optional = _kind(hints[f.name])
        if kind is None:
            continue
        specs[f.name] = FieldSpec(f.name, kind, optional, _default(f), docs.get(f.name, ""), CHOICES.get(f.name, ()))
    return specs


def field_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(title, field names) per group, as --help groups them (engine.config.FIELD_GROUPS)."""
    return tuple(FIELD_GROUPS.items())


def parse_text(spec: FieldSpec, text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, what is wrong) when the text is not of the field's type."""
    text = text.strip()
    if not text:
        if spec.optional:
            return None, None
        return None, f"{spec.label}: needs a value (default {format_value(spec.default)})"
    if spec.kind is str:
        return text, None
    try:
        number = float(text)
    except ValueError:
        return None, f"{spec.label}: {_type_words(spec)}"
    if number != number or number in (float("inf"), float("-inf")):
        return None, f"{spec.label}: {_type_words(spec)}"
    if spec.kind is int:
        if not number.is_integer():
            return None, f"{spec.label}: {_type_words(spec)}"
        return int(number), None
    return number, None


def _type_words(spec: FieldSpec) -> str:
    empty = "empty or " if spec.optional else ""
    if spec.kind is int:
        return f"{empty}a whole number, e.g. {format_value(spec.default) or 10}"
    return f"{empty}a number, e.g. {format_value(spec.default) or '0.5'} or 1e-3"


def format_value(value: Any) -> str:
    """How a config value is shown in its field or said in a message: never Python's None / True / False."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# A flag's name is the field's with dashes ('--val-split'), except these.
_FLAG_NAMES = {"from_run": "--from"}


def in_words(message: str) -> str:
    """A validate() message as the launcher says it: fields by their label, never a command-line flag.

    'lr must be > 0' -> 'learning rate must be > 0'; '--from RUN' -> 'from run'.
    """
    for name in sorted(field_specs(), key=len, reverse=True):
        flag = _FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
        message = re.sub(rf"{re.escape(flag)}(?![\w-])( [A-Z]+(?![\w-]))?", f"'{field_specs()[name].label}'", message)
    first, _, rest = message.partition(" ")
    if first in field_specs() and rest:
        message = f"{field_specs()[first].label} {rest}"
    return message


def blamed_field(exc: ConfigError) -> str | None:
    """The field a ConfigError is about: its ``field``, else the field name its message starts with."""
    if exc.field:
        return exc.field
    first = str(exc).split(" ", 1)[0]
    return first if first in field_specs() else None


def check_value(name: str, value: Any) -> str | None:
    """What RunConfig.validate() says about this one value on an otherwise default config.

    Needs the model registry imported (validate() checks the model name): call it
    once the app has loaded it, never before (that would import torch here).
    """
    try:
        RunConfig().replace(**{name: value}).validate()
    except ConfigError as exc:
        return str(exc) if blamed_field(exc) in (name, None) else None
    return None
