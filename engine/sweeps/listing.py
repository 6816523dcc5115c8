"""Every sweep: those with a folder under the runs directory, or every study of a database.

One sweep that cannot be read (its database down, a damaged journal) is listed with the reason and
never hides the others, as the runs listing does with an unreadable run.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import UserError
from engine.sweeps.storage import (
    DEFINITION_ATTR, JOURNAL_FILE, list_sweep_folders, open_storage, redact, storage_of,
)
from engine.sweeps.definition import SweepDefinition
from engine.sweeps.table import SweepTable, sweep_table


@dataclass
class SweepListing:
    name: str
    storage: str
    table: SweepTable | None = None
    error: str | None = None


def list_sweeps(runs_dir: str | Path, url: str | None = None, importance: bool = False) -> list[SweepListing]:
    """The sweeps of ``runs_dir`` (each from its own storage), or with ``url`` every sweep in that database."""
    if url is not None:
        storage = open_storage(Path(runs_dir), url)  # a database: the folder is not used
        return [_listing(storage, name, redact(url), runs_dir, importance) for name in _study_names(storage)]
    out = []
    for folder in list_sweep_folders(runs_dir):
        where = storage_of(folder)
        try:
            storage = open_storage(folder, where)
        except UserError as exc:
            out.append(SweepListing(folder.name, where or str(folder / JOURNAL_FILE), error=str(exc)))
            continue
        out.append(_listing(storage, folder.name, where or str(folder / JOURNAL_FILE), runs_dir, importance))
    return out


def _study_names(storage: Any) -> list[str]:
    return sorted(s.study_name for s in storage.get_all_studies())


def _listing(storage: Any, name: str, where: str, runs_dir: str | Path, importance: bool) -> SweepListing:
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=storage)
        data = study.user_attrs.get(DEFINITION_ATTR)
        if not isinstance(data, dict):
            return SweepListing(name, where, error="not a cifar-tui sweep (no definition)")
        return SweepListing(name, where, sweep_table(study, SweepDefinition.from_dict(data), runs_dir, importance))
    except KeyError:
        return SweepListing(name, where, error="its study is missing from the storage")
    except Exception as exc:  # a damaged journal or a dropped connection: this sweep only
        return SweepListing(name, where, error=f"cannot be read: {type(exc).__name__}: {exc}".splitlines()[0])
