"""Which runs can be resumed, with what changes, and the config they continue with.

A resume continues a run in its own directory from its newest good
checkpoint. Only two settings may differ from the saved config: ``epochs``
(to extend a run, also a completed one) and ``lr`` (the way out of a
divergence; recorded in config.json's ``resumes``). Anything else would make
the continued run a different experiment, so it is refused before anything is
written, with every difference listed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import RunConfig, UserError
from engine.models.source import check_model_source
from engine.runs.reader import load_run
from engine.runs.status import RunStatus

CHANGEABLE = ("epochs", "lr")
# Fields that say where or how a run is stored or shown, not what it computes.
_NOT_A_CHANGE = {"runs_dir", "name", "download", "data_dir", "extra"}


def _flag(name: str) -> str:
    return "--from" if name == "from_run" else "--" + name.replace("_", "-")


def resume_command(run_id: str, runs_dir: str | Path, *, no_ui: bool = True) -> str:
    """The command that continues a run, ready to paste: --runs-dir only when it is not the default."""
    import shlex

    from engine.config import default_runs_dir

    where = "" if Path(runs_dir).resolve() == Path(default_runs_dir()).resolve() else \
        f" --runs-dir {shlex.quote(str(runs_dir))}"
    return f"cifar-tui{' --no-ui' if no_ui else ''} --resume {run_id}{where}"


def _shown(value: Any) -> str:
    return "none" if value is None else str(value)


def prepare_resume(run_dir: str | Path, given: dict[str, Any], *, force: bool = False,
                   ) -> tuple[RunConfig, dict[str, Any]]:
    """(config to continue with, {field: [old, new]} of what changes); UserError when it cannot resume.

    ``given`` holds the settings the user typed (None values mean "not given"). ``force``: resume even
    though the run's own model file changed (engine.models.source); the change says so as ``model_file``.
    """
    path = Path(run_dir)
    forced = check_model_source(path, force=force)
    info = load_run(path)
    if info.error:
        raise UserError(f"run {path.name} cannot be resumed: {info.error}")
    status = info.status
    saved = RunConfig.from_dict(info.config)
    changes = {k: [getattr(saved, k), v] for k, v in given.items()
               if v is not None and k not in _NOT_A_CHANGE and hasattr(saved, k) and v != getattr(saved, k)}
    refused = [k for k in changes if k not in CHANGEABLE]
    if refused:
        listed = ", ".join(f"{_flag(k)} {changes[k][1]} (the run has {_shown(changes[k][0])})" for k in refused)
        raise UserError(f"a resumed run keeps its settings; only --epochs and --lr may change, not: {listed}")
    _check_status(path.name, status, info.summary, saved, changes)
    updates: dict[str, Any] = {k: new for k, (_, new) in changes.items()}
    if saved.strategy == "two-phase" and not saved.phase2_epoch and "epochs" in updates:
        from engine.models.strategies import phase2_switch

        updates["phase2_epoch"] = phase2_switch(saved)  # extending must not move the switch already made
    # The run stays where it is, whatever runs_dir it was started with.
    config = saved.replace(**updates, runs_dir=str(path.parent)).validate()
    return config, {**changes, **({"model_file": forced} if forced else {})}


def _check_status(name: str, status: RunStatus, summary: dict[str, Any], saved: RunConfig,
                  changes: dict[str, list[Any]]) -> None:
    done = int(summary.get("epochs_done") or 0)
    if status in (RunStatus.RUNNING, RunStatus.STARTING):
        raise UserError(f"run {name} is still running; stop it first (or follow it: cifar-tui watch {name})")
    if "epochs" in changes and changes["epochs"][1] <= done:
        raise UserError(f"--epochs {changes['epochs'][1]} is not more than the {done} epochs run {name} has done")
    if status is RunStatus.COMPLETED and "epochs" not in changes:
        raise UserError(f"run {name} completed all {saved.epochs} epochs; pass --epochs N (more than {saved.epochs}) "
                        "to train it further")
    if status is RunStatus.DIVERGED:
        lr = changes.get("lr", [saved.lr, saved.lr])[1]
        if lr >= saved.lr:
            raise UserError(f"run {name} diverged at lr {saved.lr:g}; resume it with a lower --lr "
                            f"(e.g. --lr {saved.lr / 10:g}), which is recorded with the run")
    elif not (status.resumable or status is RunStatus.COMPLETED):
        raise UserError(f"run {name} is {status.value}; only interrupted, stale, failed or diverged runs "
                        "(or completed ones, with more --epochs) can be resumed")
