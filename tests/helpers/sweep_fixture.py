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
    assert result.signal is None and all(e.status == "completed" for e in result.ended), result.ended


def built_sweep(root: Path, name: str) -> Path:
    """Sweep ``name`` of SWEEPS in root/runs (its trials are the runs there); returns that runs directory."""
    runs_dir = root / "runs"
    build_sweep(runs_dir, name, SWEEPS[name])
    return runs_dir


def formula_sweep(runs_dir: Path) -> Path:
    """A finished sweep whose every number comes from a formula, for the snapshot (training would bring timing
    and float noise): lr=0.003,0.03,0.3 x batch-size=32,64, 4 epochs; told to the study as the driver tells it
    (each epoch reported, the run recorded), each trial's run written in the run store's format under a fixed
    id. The last trial is pruned after epoch 2 (its run interrupted, as a pruned trial's is)."""
    import json

    from optuna.trial import TrialState

    from engine.sweeps.definition import SweepDefinition, check_shape, trial_config
    from engine.sweeps.space import parse_params
    from engine.sweeps.storage import open_sweep
    from engine.training.selection import SELECTION_METRIC

    defn = check_shape(SweepDefinition("snap", {"dataset": "synthetic", "model": "mlp", "epochs": 4},
                                       parse_params(["lr=0.003,0.03,0.3", "batch-size=32,64"]), "grid",
                                       prune="none"), None)
    study = open_sweep(runs_dir, "snap", defn=defn).study
    for i in range(defn.trials):
        trial = study.ask()  # the grid's next point, enqueued when the study was made
        params = {p.field: p.suggest(trial) for p in defn.params}
        lr, bs = params["lr"], params["batch_size"]
        top = 0.30 + 0.25 * {0.003: 0.4, 0.03: 1.0, 0.3: 0.6}[lr] - (0.03 if bs == 64 else 0.0)
        done = 2 if i == defn.trials - 1 else 4
        run_id = f"20260101-00000{i}-mlp-scratch-snap-t{trial.number}"
        run = runs_dir / run_id
        run.mkdir(parents=True)
        config = {**trial_config(defn, params, str(runs_dir)).to_dict(), "run_id": run_id, "name": f"snap-t{i}"}
        records = []
        for epoch in range(1, done + 1):
            val = round(top * (1 - 0.5 ** epoch) + 0.1, 4)
            records.append({"epoch": epoch, "train_loss": round(2.3 / (1 + epoch * top), 4),
                            "train_acc": round(val + 0.05, 4), "val_loss": round(2.3 / (1 + 0.8 * epoch * top), 4),
                            "val_acc": val, "test_loss": round(2.3 / (1 + 0.8 * epoch * top), 4),
                            "test_acc": round(val - 0.01, 4), "lr": lr, "img_per_s": 1000.0, "epoch_time_s": 1.0,
                            "wall_time_s": float(epoch)})
            trial.report(val, epoch)
        best = max(records, key=lambda r: r["val_acc"])
        (run / "config.json").write_text(json.dumps(config))
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        (run / "summary.json").write_text(json.dumps({
            "run_id": run_id, "status": "completed" if done == 4 else "interrupted", "epochs": 4,
            "epochs_done": done, "best_acc": best["val_acc"], "best_epoch": best["epoch"],
            "best_metric": SELECTION_METRIC, "test_acc": records[-1]["test_acc"], "wall_time_s": float(done),
            "img_per_s": 1000.0, "n_val": 100, "n_test": 100}))
        trial.set_user_attr("run_id", run_id)
        trial.set_user_attr("run_dir", str(run))
        if done == 4:
            study.tell(trial, best["val_acc"])
        else:
            trial.set_user_attr("pruned_at", done)
            study.tell(trial, state=TrialState.PRUNED)
    return runs_dir
