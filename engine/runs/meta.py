"""What a person adds to a saved run after the fact: a display name, a note, tags; and deleting it.

The training process owns config.json, summary.json and metrics.jsonl; edits
made while browsing (a display name, a note, tags) live in their own small
``meta.json`` so they never race the writer of a running run. Deleting is
refused while a process still writes the run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import UserError
from engine.runs.files import atomic_write_json, read_json, utc_now

META_FILE = "meta.json"
MAX_NAME = 80
MAX_NOTE = 2000


@dataclass
class RunMeta:
    """User edits of one run: display name, free-text note, tags."""

    name: str | None = None
    note: str = ""
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "note": self.note, "tags": list(self.tags), "updated_at": utc_now()}


def read_meta(run_dir: str | Path) -> RunMeta:
    """The run's meta.json; an absent or damaged file reads as no edits (never raises)."""
    try:
        data = read_json(Path(run_dir) / META_FILE)
    except (OSError, ValueError):
        return RunMeta()
    return meta_from_dict(data)


def meta_from_dict(data: Any) -> RunMeta:
    """The edits a meta.json object (or RunIndex's copy of one) holds; fields of the wrong type read as unset."""
    if not isinstance(data, dict):
        return RunMeta()
    name, note, tags = data.get("name"), data.get("note"), data.get("tags")
    return RunMeta(
        name=name if isinstance(name, str) and name else None,
        note=note if isinstance(note, str) else "",
        tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
    )


def write_meta(run_dir: str | Path, meta: RunMeta) -> None:
    """Replace meta.json atomically (a concurrent reader sees old or new)."""
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"run {path} no longer exists")
    atomic_write_json(path / META_FILE, meta.to_dict())


def _clean_line(text: str, limit: int) -> str:
    # Names end up in table cells and CSV rows: one line, no control characters.
    return "".join(c for c in " ".join(text.split()) if c.isprintable())[:limit]


def set_name(run_dir: str | Path, name: str | None) -> RunMeta:
    """Give the run a display name ('' or None clears it). The run id never changes."""
    meta = read_meta(run_dir)
    meta.name = _clean_line(name or "", MAX_NAME) or None
    write_meta(run_dir, meta)
    return meta


def set_note(run_dir: str | Path, note: str) -> RunMeta:
    """Replace the run's note."""
    meta = read_meta(run_dir)
    meta.note = note.strip()[:MAX_NOTE]
    write_meta(run_dir, meta)
    return meta


def parse_tags(text: str) -> list[str]:
    """'a, b c,a' -> ['a', 'b', 'c']: commas or spaces separate, duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for raw in text.replace(",", " ").split():
        tag = _clean_line(raw.lstrip("#"), 40)
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def set_tags(run_dir: str | Path, tags: list[str] | str) -> RunMeta:
    """Replace the run's tags (a list, or text in parse_tags' form)."""
    meta = read_meta(run_dir)
    meta.tags = parse_tags(tags) if isinstance(tags, str) else parse_tags(" ".join(tags))
    write_meta(run_dir, meta)
    return meta


def display_name(run_id: str, meta: RunMeta | None) -> str:
    """The one naming rule: the name a person gave the run, else its id."""
    return (meta.name if meta is not None else "") or run_id


def short_name(run_id: str, meta: RunMeta | None) -> str:
    """The name for narrow places: the display name, else the run id without its timestamp."""
    return (meta.name if meta is not None else "") or strip_stamp(run_id)


def strip_stamp(run_id: str) -> str:
    """'20261123-115406-cnn-scratch' -> 'cnn-scratch' (the start time is shown in its own column).

    Two runs of one config then read the same; the start time and the full id tell them apart.
    """
    parts = run_id.split("-", 2)
    if len(parts) == 3 and len(parts[0]) == 8 and len(parts[1]) == 6 and parts[0].isdigit() and parts[1].isdigit():
        return parts[2]
    return run_id
