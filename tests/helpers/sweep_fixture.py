"""Sweeps made by the real driver: each trial an ordinary `python -m tui --no-ui` run on synthetic data, tiny.

conftest.py builds each once per test session, in a runs directory of its own, and gives every test a
copy, as it does for the runs. A trial process costs seconds (it imports torch), so:

    pair   lr=0.01,0.1: two completed trials (importance still needs three more); ~15 s, the fast tier's
    grid   lr=0.003,0.03,0.3 x batch-size=25,50, no pruning: six completed trials (importance shown); ~45 s,
           for slow tests only
"""
from __future__ import annotations

from pathlib import Path

TINY = {"dataset": "synthetic", "model": "mlp", "train_limit": 100, "test_limit": 50, "val_split": 20,
        "batch_size": 50, "epochs": 2, "checkpoints": False}
SWEEPS = {"grid": ["lr=0.003,0.03,0.3", "batch-size=25,50"], "pair": ["lr=0.01,0.1"]}


def build_sweep(runs_dir: Path, name: str, params: list[str], parallel: int = 2) -> None:
    """Run sweep ``name`` to its end with the real driver and trial processes (as `cifar-tui sweep --no-ui`)."""
    from engine.sweeps.definition import SweepDefinition, check_shape
    from engine.sweeps.driver import Driver, Options
    from engine.sweeps.space import parse_params
    from engine.sweeps.storage import open_sweep
    from engine.sweeps.trial import SweepContext
    from tui.cli.sweep import trial_command

    defn = check_shape(SweepDefinition(name, dict(TINY), parse_params(params), "grid", prune="none"), None)
    opened = open_sweep(runs_dir, name, defn=defn)
    ctx = SweepContext(opened.study, opened.defn, str(runs_dir), opened.folder, trial_command, opened.where)
    result = Driver(ctx, Options(parallel=parallel), lambda event: None).run()
    assert result.signal is None and all(e.state == "completed" for e in result.ended), result.ended


def built_sweep(root: Path, name: str) -> Path:
    """Sweep ``name`` of SWEEPS in root/runs (its trials are the runs there); returns that runs directory."""
    runs_dir = root / "runs"
    build_sweep(runs_dir, name, SWEEPS[name])
    return runs_dir
