"""Where a sweep lives: an Optuna study in a journal file under the runs directory, or in a database.

    <runs>/sweeps/NAME/sweep.json    the sweep's name and storage (a database URL without its password)
                       journal.log   Optuna's journal (the default storage: a file, no server)
                       trials/tN.json, tN.log   each trial's settings (its --config) and its output
                       claims/tN.lock           held while a process of this machine runs trial N

With ``--storage postgresql://...`` the study is in the database and every machine that runs the same
command works on it; each keeps its own runs directory (or shares one) for the trials it trains.
The password of a URL is never written to disk: libpq finds it in PGPASSWORD or ~/.pgpass.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import UserError
from engine.runs.files import atomic_write_json, read_json, utc_now
from engine.runs.reader import SWEEPS_DIR
from engine.sweeps.definition import SweepDefinition

SWEEP_FILE = "sweep.json"
JOURNAL_FILE = "journal.log"
DEFINITION_ATTR = "definition"
DEFINITION_WAIT_S = 60.0
"""A worker that joins a study another worker is creating waits this long for its definition."""


def sweep_folder(runs_dir: str | Path, name: str) -> Path:
    return Path(runs_dir) / SWEEPS_DIR / name


def list_sweep_folders(runs_dir: str | Path) -> list[Path]:
    root = Path(runs_dir) / SWEEPS_DIR
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / SWEEP_FILE).is_file())


def redact(url: str) -> str:
    """The URL without its password (what may be written to disk and printed)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url)._replace(password=None).render_as_string(hide_password=False)
    except Exception:  # not a URL sqlalchemy reads: open_storage will say so
        return url


def storage_of(folder: Path) -> str | None:
    """The database URL a sweep of this machine was started with (None: its journal file)."""
    try:
        record = read_json(folder / SWEEP_FILE)
    except (OSError, ValueError):
        return None
    url = record.get("storage") if isinstance(record, dict) else None
    return url if isinstance(url, str) and url else None


def write_record(folder: Path, name: str, url: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / SWEEP_FILE, {"name": name, "storage": redact(url) if url else None,
                                            "created": utc_now()})


def open_storage(folder: Path, url: str | None) -> Any:
    """An Optuna storage: the journal file under ``folder``, or the database at ``url`` (UserError: one line)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweep prints its own lines, not Optuna's
    if url is None:
        from optuna.storages.journal import JournalFileBackend

        folder.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(folder / JOURNAL_FILE)))
    try:
        return _rdb_storage(url)
    except ImportError as exc:
        raise UserError(f"--storage {redact(url)}: {exc.name or exc} is not installed "
                        "(PostgreSQL: pip install 'cifar-tui[postgres]')") from None
    except Exception as exc:  # sqlalchemy's errors are many; all mean the storage cannot be used
        raise UserError(f"--storage {redact(url)}: cannot open it: {_first_line(exc)}") from None


def _rdb_storage(url: str, tries: int = 5) -> Any:
    """The database's storage. Workers started at once on an empty database all create Optuna's tables,
    and all but one fail on the duplicate (IntegrityError or ProgrammingError, by server): those retry,
    and find the tables made."""
    import optuna
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(1, tries + 1):
        try:
            # pool_pre_ping: a connection the server dropped during a long trial is replaced, not an error.
            return optuna.storages.RDBStorage(_with_driver(url), engine_kwargs={"pool_pre_ping": True})
        except (IntegrityError, ProgrammingError):
            if attempt == tries:
                raise
            time.sleep(0.5 * attempt)


def _with_driver(url: str) -> str:
    """postgresql:// with the driver that is installed: SQLAlchemy 2.1 reads a bare postgresql:// as
    psycopg (3), 2.0 as psycopg2, which the 'postgres' extra installs; the URL a person types stays the same."""
    from importlib.util import find_spec

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername != "postgresql" or find_spec("psycopg") is not None or find_spec("psycopg2") is None:
        return url
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0]


def pruner(defn: SweepDefinition) -> Any:
    """Median pruning: a trial whose validation accuracy at an epoch is below the median of the completed
    trials at that epoch stops. Not after epoch 1, where a higher learning rate often trails and then
    overtakes (steps are epochs, from 1: warm-up 2 means from epoch 2); and only once a fifth of the
    trials (1 to 5) have completed, so one lucky early trial does not decide alone in a large sweep
    while a small sweep still prunes."""
    import optuna

    if defn.prune == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=min(5, max(1, defn.trials // 5)), n_warmup_steps=2)


def sampler(defn: SweepDefinition) -> Any:
    """A grid's points are enqueued when the study is made (each runs once, also with several workers);
    random and TPE draw each new trial."""
    import optuna

    return optuna.samplers.TPESampler() if defn.sampler == "tpe" else optuna.samplers.RandomSampler()


def load_study(storage: Any, name: str, defn: SweepDefinition | None = None) -> tuple[Any, SweepDefinition]:
    """The study of sweep ``name`` and its stored definition; made from ``defn`` when it does not exist.

    The definition is stored last, after the grid is enqueued: a worker that loads a study still being
    made waits for it, so it never draws trials of its own. UserError when there is no such sweep and
    no definition to make it from, or when ``defn`` is another sweep than the stored one.
    """
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        if defn is None:
            raise UserError(f"no sweep named {name!r}; start it with --param FIELD=... ('cifar-tui sweeps' "
                            "lists the sweeps)") from None
        study = _create(storage, name, defn)
    stored = _wait_for_definition(study)
    if defn is not None:
        why = stored.differs(defn)
        if why:
            raise UserError(f"sweep {name!r} exists and {why}; run 'cifar-tui sweep {name}' to continue it, "
                            "or give the new sweep another name")
        if defn.trials > stored.trials and stored.sampler != "grid":
            stored.trials = defn.trials  # --trials may grow a random or TPE sweep
            study.set_user_attr(DEFINITION_ATTR, stored.to_dict())
    return _configured(study, storage, stored), stored


def _create(storage: Any, name: str, defn: SweepDefinition) -> Any:
    import optuna

    try:
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:  # another worker made it a moment ago
        return optuna.load_study(study_name=name, storage=storage)
    defn.sweep_id = uuid.uuid4().hex[:12]
    for point in defn.grid_points():
        study.enqueue_trial(point)
    study.set_user_attr(DEFINITION_ATTR, defn.to_dict())
    return study


def _wait_for_definition(study: Any) -> SweepDefinition:
    deadline = time.monotonic() + DEFINITION_WAIT_S
    while True:
        data = study.user_attrs.get(DEFINITION_ATTR)
        if isinstance(data, dict):
            return SweepDefinition.from_dict(data)
        if time.monotonic() > deadline:
            raise UserError(f"sweep {study.study_name!r} has no definition (its creator stopped while making it); "
                            "delete the study or use another name")
        time.sleep(0.5)


def _configured(study: Any, storage: Any, defn: SweepDefinition) -> Any:
    """The same study with this sweep's sampler and pruner (Optuna keeps neither in the storage)."""
    import optuna

    return optuna.load_study(study_name=study.study_name, storage=storage, sampler=sampler(defn),
                             pruner=pruner(defn))


@dataclass
class OpenSweep:
    study: Any
    defn: SweepDefinition
    folder: Path
    url: str | None
    """The database URL (None: the journal file under ``folder``)."""

    @property
    def where(self) -> str:
        return redact(self.url) if self.url else str(self.folder / JOURNAL_FILE)


def open_sweep(runs_dir: str | Path, name: str, url: str | None = None,
               defn: SweepDefinition | None = None) -> OpenSweep:
    """Sweep ``name`` of this runs directory: made from ``defn`` if new, else continued (UserError when
    ``defn`` is another sweep than the one stored). Without ``url``, the storage it was started with."""
    folder = sweep_folder(runs_dir, name)
    url = url or storage_of(folder)
    if defn is None and url is None and not (folder / JOURNAL_FILE).exists():
        raise UserError(f"no sweep named {name!r} in {Path(runs_dir) / SWEEPS_DIR}; start it with --param "
                        "FIELD=... ('cifar-tui sweeps' lists the sweeps; --storage URL for one in a database)")
    storage = open_storage(folder, url)
    study, stored = load_study(storage, name, defn)
    if not (folder / SWEEP_FILE).exists() or storage_of(folder) != (redact(url) if url else None):
        write_record(folder, name, url)
    return OpenSweep(study, stored, folder, url)


def set_trials(opened: OpenSweep, trials: int) -> None:
    """Grow a random or TPE sweep to ``trials`` (a grid has its size; a sweep never shrinks)."""
    defn = opened.defn
    if trials == defn.trials:
        return
    if defn.sampler == "grid":
        raise UserError(f"--trials {trials}: sweep {defn.name!r} is a grid of {defn.trials} points, each run once")
    if trials < defn.trials:
        raise UserError(f"--trials {trials}: sweep {defn.name!r} already has {defn.trials}; it can grow, not shrink")
    defn.trials = trials
    opened.study.set_user_attr(DEFINITION_ATTR, defn.to_dict())
