"""A runs directory made by real (tiny) training runs.

conftest.py builds it once per test session (``built_runs``) and gives every
test its own copy (``runs``): tests rename, annotate and delete runs.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

# name -> config overrides. Three seeds of one config (a seed group), a lower
# learning rate, a CNN and a run without a validation split.
RUNS = {
    "seed1": dict(seed=1),
    "seed2": dict(seed=2),
    "seed3": dict(seed=3),
    "lowlr": dict(seed=1, lr=0.005, name="lowlr"),
    "cnn": dict(seed=1, model="cnn", epochs=2, name="cnn"),
    "noval": dict(seed=1, val_split=0, name="noval"),
}
EPOCHS = 3


def build_runs(root: Path) -> Path:
    """Train every run of RUNS into root/runs."""
    from engine.config import RunConfig
    from engine.training.loop import train

    runs_dir = root / "runs"
    base = RunConfig(dataset="synthetic", model="mlp", epochs=EPOCHS, train_limit=100, test_limit=50,
                     val_split=20, runs_dir=str(runs_dir), checkpoints=False, batch_size=50)
    for overrides in RUNS.values():
        # Run ids carry the start time to the second: three same-named seeds started within one
        # second would get '-2'/'-3' suffixes (and read apart by that, not by their config).
        time.sleep(1.0 - time.time() % 1.0)
        result = train(base.replace(**overrides))
        assert result.status == "completed", result.error
    return runs_dir


def copy_runs(src: Path, dest: Path) -> Path:
    """A private copy of the session's runs directory."""
    shutil.copytree(src, dest)
    return dest


def run_named(runs_dir: Path, key: str) -> Path:
    """The run directory built from RUNS[key]."""
    overrides = RUNS[key]
    for d in sorted(runs_dir.iterdir()):
        cfg = json.loads((d / "config.json").read_text()) if (d / "config.json").exists() else {}
        if cfg and all(cfg.get(k) == v for k, v in overrides.items()) and \
                (cfg.get("name") == overrides.get("name")) and cfg.get("val_split") == overrides.get("val_split", 20):
            return d
    raise LookupError(key)


def mark_running(run_dir: Path, pid: int) -> None:
    """Make a finished run look like one being written by pid (lock + running summary)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["status"] = "running"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
