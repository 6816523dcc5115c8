"""A running run's row while its epoch is under way: from its progress.json, not its summary.

summary.json only changes when an epoch ends, so a run's row would read '0/2 0.3s' for the whole
first epoch. The writer replaces progress.json about once a second (engine.runs.progress): the
epoch, the step, the time trained, the speed, whether it is paused or evaluating. Its cells and
its sentence for the info line are made here; the file is read with the scan, off the UI thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

from engine.runs.progress import read_progress
from engine.runs.status import RunStatus

from tui import format as fmt


def read_live(entries: list[Any]) -> dict[str, dict[str, Any]]:
    """run id -> progress record, for the running runs that have one (any thread: it reads files)."""
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.status is RunStatus.RUNNING:
            record = read_progress(Path(e.info.path))
            if record is not None:
                out[e.run_id] = record
    return out


def share(record: dict[str, Any]) -> float:
    """How much of the current epoch is done, 0..1."""
    return record["step"] / record["steps_per_epoch"]


def state(record: dict[str, Any]) -> str:
    """'paused', the phase outside the steps in one word ('evaluating'), else 'running'."""
    if record.get("paused"):
        return "paused"
    phase = record.get("phase")
    return (str(phase["name"]).split() or ["running"])[0] if phase else "running"


def cells(record: dict[str, Any], epochs: Any) -> dict[str, Text | str]:
    """The status, epochs, wall and img/s cells: 'running', '1/2 40%', '12s', '850'."""
    total = epochs if isinstance(epochs, int) else "?"
    word = state(record)
    return {
        "status": Text(word, style="bold yellow" if word == "paused" else "bold green"),
        "epochs": f"{record['epoch']}/{total} {fmt.share(share(record))}",
        "wall": Text(fmt.duration(record["elapsed_s"]), justify="right"),
        "rate": Text(fmt.rate(record["img_per_s"]), justify="right"),
    }


def sentence(record: dict[str, Any], epochs: Any) -> str:
    """The info line: 'epoch 1 of 2, step 12/30 (40%) · 12s trained · about 30s left'."""
    total = f" of {epochs}" if isinstance(epochs, int) else ""
    parts = [f"{'paused' if record.get('paused') else 'running'}: epoch {record['epoch']}{total}, step {record['step']}/{record['steps_per_epoch']} "
             f"({fmt.share(share(record))})", f"{fmt.duration(record['elapsed_s'])} trained"]
    phase = record.get("phase")
    if phase:
        parts.append(f"{phase['name']} {fmt.progress(phase['done'], phase['total'], phase['unit'])}")
    eta = phase.get("run_eta_s") if phase else record.get("eta_s")
    if eta is not None and not record.get("paused"):
        parts.append(f"about {fmt.duration(eta)} left")
    return " · ".join(parts)
