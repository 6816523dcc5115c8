"""What the app remembers between sessions: one small JSON file, ``settings.json``.

It lives in $CIFAR_TUI_CONFIG when set (tests point it at a temporary folder), else in
$XDG_CONFIG_HOME/cifar-tui/, else in ~/.config/cifar-tui/. A missing, unreadable or hand-broken
file reads as "nothing remembered": a preference never stops the app. Plain Python.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

ENV = "CIFAR_TUI_CONFIG"
FILE = "settings.json"


def config_dir() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "cifar-tui"


def settings_path() -> Path:
    return config_dir() / FILE


def load() -> dict[str, Any]:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def get(key: str, default: Any = None) -> Any:
    return load().get(key, default)


def put(key: str, value: Any) -> str | None:
    """Remember one setting (the others kept); returns why it could not be saved, else None."""
    path = settings_path()
    data = {**load(), key: value}
    tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)  # a reader never sees half a file
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return f"cannot save {path}: {exc.strerror or exc}"
    return None
