"""Settings from a file: ``--config FILE`` (TOML or JSON, RunConfig's field names), and a run's settings
written back as TOML (``cifar-tui config RUN``).

A run's own config.json is a valid config file: the keys the store adds beside the settings (its id,
the machine it ran on, its resumes, the torchrun job, its model file) are recognised and left out.
Any other unknown key is refused with the nearest field name, and a value of the wrong type with
what was expected, one line each, naming the file.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from engine.config import RunConfig, UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has no tomllib; its backport is a dependency there
    import tomli as tomllib

RECORD_KEYS = frozenset({"run_id", "environment", "resumes", "distributed", "model_source"})
"""What config.json holds besides the settings: facts about the run, not choices for a new one."""


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings a TOML or JSON file gives, checked against RunConfig; UserError (one line) otherwise."""
    path = Path(path).expanduser()
    data = _parse(path)
    fields = {f.name: f for f in dataclasses.fields(RunConfig)}
    settings = {}
    for key, value in data.items():
        if key in RECORD_KEYS:
            continue
        if key not in fields:
            near = difflib.get_close_matches(key, list(fields), n=1)
            raise UserError(f"{path}: no setting named {key!r}" + (f"; did you mean {near[0]!r}?" if near else ""))
        settings[key] = _checked(path, key, value, str(fields[key].type))
    return settings


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise UserError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path} is not valid TOML ({exc}); JSON files need the .json suffix") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} holds a {type(data).__name__}, not a table of settings")
    return data


def _checked(path: Path, key: str, value: Any, kind: str) -> Any:
    """The value if it fits the field's annotation ('float', 'int | None', ...; an int fits a float)."""
    optional = kind.endswith("| None")
    base = kind.split("|")[0].strip()
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {"bool": isinstance(value, bool), "float": number, "int": number and isinstance(value, int),
          "str": isinstance(value, str)}.get(base, isinstance(value, dict)) or (optional and value is None)
    if not ok:
        raise UserError(f"{path}: {key} must be {_article(base)}, got {value!r}")
    return float(value) if base == "float" and value is not None else value


def _article(kind: str) -> str:
    words = {"bool": "true or false", "int": "a whole number", "float": "a number", "str": "text"}
    return words.get(kind, "a table")


def config_toml(config: dict[str, Any]) -> str:
    """A run's settings as TOML, in --help's order, ready to edit and pass back with --config.

    Unset settings (None) are written as comments: TOML has no null, and leaving them out would hide them.
    """
    import tomli_w

    from engine.config import FIELD_GROUPS

    defaults = dataclasses.asdict(RunConfig())
    grouped = [n for names in FIELD_GROUPS.values() for n in names]
    others = tuple(n for n in defaults if n not in grouped and n != "extra")
    lines = []
    for title, names in (*FIELD_GROUPS.items(), *((("other", others),) if others else ())):
        lines.append(f"# {title}")
        for name in names:
            value = config.get(name, defaults[name])
            lines.append(f"# {name} = (unset)" if value is None else tomli_w.dumps({name: value}).rstrip())
        lines.append("")
    extra = config.get("extra") or {}
    if extra:
        lines.append(tomli_w.dumps({"extra": extra}).rstrip())
    return "\n".join(lines).rstrip() + "\n"
