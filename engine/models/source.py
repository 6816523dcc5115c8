"""A run of your own model file remembers which file, and which version of it, it trained.

config.json's ``model_source`` holds the file's path and sha256 when the run starts. Whatever rebuilds
the run's model later (resume, analyze, predict, the app's drill-down) checks the file first: a file
changed since would rebuild a different network around the saved weights, so it is refused in one line;
a resume may ``--force`` it, and records that it did.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import UserError
from engine.models.external import file_sha256, source_file
from engine.runs import read_json
from engine.runs.layout import config_path


def model_source(model: str) -> dict[str, str] | None:
    """{path, sha256} of a FILE.py:Name model, for config.json (None for every other model)."""
    path = source_file(model)
    if path is None or not path.is_file():
        return None
    return {"path": str(path), "sha256": file_sha256(path)}


def source_change(recorded: Any, model: str) -> str | None:
    """Why the model file differs from the one the run recorded, in words; None when it is the same."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("sha256"), str):
        return None
    path = Path(str(recorded.get("path") or source_file(model) or ""))
    if not path.is_file():
        return f"the run's model file {path} is gone"
    if file_sha256(path) != recorded["sha256"]:
        return f"the run's model file {path} changed since the run started (sha256 differs)"
    return None


def check_model_source(run_dir: str | Path, *, force: bool = False) -> list[str] | None:
    """UserError when the run's model file changed (unless ``force``); when forced, [recorded, current]
    sha256 (or 'gone'), what a resume records."""
    try:
        config = read_json(config_path(run_dir))
    except (OSError, ValueError):
        return None  # an unreadable config fails where it is read, with its own message
    recorded = config.get("model_source") if isinstance(config, dict) else None
    change = source_change(recorded, str(config.get("model", ""))) if isinstance(config, dict) else None
    if change is None:
        return None
    if not force:
        raise UserError(f"{change}: its weights may not fit the network now; restore the file, or resume "
                        "anyway with --force (recorded in config.json)")
    path = Path(recorded["path"])  # type: ignore[index]
    return [recorded["sha256"], file_sha256(path) if path.is_file() else "gone"]  # type: ignore[index]
