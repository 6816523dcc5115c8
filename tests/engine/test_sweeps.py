"""engine.sweeps without training: the search space, the checks, the study, claims, the table, the driver
with stand-in trial processes, and the runs listing that must not take RUNS/sweeps for a run."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.config import UserError
from engine.runs import find_run, list_runs
from engine.runs.index import RunIndex
from engine.sweeps.claims import Claim, may_take_over, worker_alive, worker_record
from engine.sweeps.definition import SweepDefinition, check_definition, check_shape, trial_config
from engine.sweeps.driver import Driver, Options, slots
from engine.sweeps.events import TrialEnded
from engine.sweeps.space import Param, grid, parse_param, parse_params
from engine.sweeps.storage import open_sweep, redact, set_trials
from engine.sweeps.table import sweep_table
from engine.sweeps.trial import Launch, SweepContext


def sweep(params: list[str], sampler: str | None = None, trials: int | None = None, **settings) -> SweepDefinition:
    parsed = parse_params(params)
    chosen = sampler or ("grid" if all(p.is_list for p in parsed) else "tpe")
    return check_shape(SweepDefinition("s", {"dataset": "synthetic", **settings}, parsed, chosen), trials)


# ---------------------------------------------------------------------- the search space


def test_a_list_is_typed_as_its_field() -> None:
    assert parse_param("batch-size=64,128").values == (64, 128)
    assert parse_param("lr=0.01,1e-3").values == (0.01, 0.001)
    assert parse_param("flip=on,off").values == (True, False)
    assert parse_param("image_size=none,64").values == (None, 64)
    assert parse_param("model=cnn,timm/resnet18,net.py:Net").values == ("cnn", "timm/resnet18", "net.py:Net")
    assert parse_param("from=a").field == "from_run"


def test_ranges() -> None:
    assert parse_param("lr=log:1e-3:1") == Param("lr", "log", (), 1e-3, 1.0)
    assert parse_param("batch-size=int:32:256") == Param("batch_size", "int", (), 32, 256)
    assert parse_param("batch-size=log:16:512").kind == "log"


@pytest.mark.parametrize("text, words", [
    ("lrr=0.1", "did you mean 'lr'"), ("lr", "FIELD=a,b,c"), ("lr=", "FIELD=a,b,c"),
    ("lr=abc", "not a finite number"), ("lr=nan", "not a finite number"), ("batch-size=1.5", "not a whole number"),
    ("flip=maybe", "on or off"), ("lr=log:0:1", "above 0"), ("lr=float:1:1", "below the high one"),
    ("lr=int:1:5", "not a whole number"), ("batch-size=float:1:5", "is a whole number"), ("lr=log:1", "two bounds"),
    ("runs-dir=a,b", "cannot be swept"), ("extra=a", "cannot be swept"), ("lr=0.1,0.1", "listed twice"),
])
def test_bad_params_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(UserError, match=words):
        parse_param(text)


def test_the_grid_is_the_product_of_the_lists_first_field_slowest() -> None:
    params = parse_params(["lr=0.1,0.2", "batch-size=32,64,128"])
    assert grid(params)[:4] == [{"lr": 0.1, "batch_size": 32}, {"lr": 0.1, "batch_size": 64},
                                {"lr": 0.1, "batch_size": 128}, {"lr": 0.2, "batch_size": 32}]
    with pytest.raises(UserError, match="grid takes lists only"):
        grid(parse_params(["lr=log:1e-3:1"]))


def test_shape_grid_size_and_trials() -> None:
    assert sweep(["lr=0.1,0.2", "batch-size=32,64"]).trials == 4
    assert sweep(["lr=log:1e-3:1"], trials=7).sampler == "tpe"
    with pytest.raises(UserError, match="needs --trials"):
        sweep(["lr=log:1e-3:1"])
    with pytest.raises(UserError, match="each of its points once"):
        sweep(["lr=0.1,0.2"], trials=3)
    with pytest.raises(UserError, match="at least one --param"):
        sweep([])


# ---------------------------------------------------------------------- checked against RunConfig


def test_every_value_is_checked_before_the_sweep_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"--param batch_size=0: batch_size must be >= 1"):
        check_definition(sweep(["batch-size=64,0"]), str(tmp_path))
    with pytest.raises(UserError, match=r"--param lr=0: lr must be > 0"):
        check_definition(sweep(["lr=float:0:1"], trials=3), str(tmp_path))
    with pytest.raises(UserError, match="never by the test set"):
        check_definition(sweep(["lr=0.1"], val_split=0), str(tmp_path))
    with pytest.raises(UserError, match="--param model=nosuch: unknown model"):
        check_definition(sweep(["model=mlp,nosuch"]), str(tmp_path))
    check_definition(sweep(["lr=0.1,0.2", "model=mlp,cnn"]), str(tmp_path))


def test_a_trial_config_is_preset_then_settings_then_values_and_marks_its_sweep(tmp_path: Path) -> None:
    defn = sweep(["lr=0.1,0.2"], preset="004-mlp", epochs=2, val_split=500)
    defn.sweep_id = "abc"
    config = trial_config(defn, {"lr": 0.2}, str(tmp_path))
    assert (config.model, config.epochs, config.lr, config.runs_dir) == ("mlp", 2, 0.2, str(tmp_path))
    assert config.extra["sweep"] == {"name": "s", "id": "abc"} and "study" in config.extra  # the preset's extra kept


# ---------------------------------------------------------------------- the study


def test_a_new_grid_is_enqueued_and_the_same_command_continues_it(tmp_path: Path) -> None:
    from optuna.trial import TrialState

    opened = open_sweep(tmp_path, "s", defn=sweep(["lr=0.1,0.2", "batch-size=32,64"]))
    assert (tmp_path / "sweeps" / "s" / "journal.log").is_file()
    assert [t.state for t in opened.study.get_trials()] == [TrialState.WAITING] * 4
    again = open_sweep(tmp_path, "s", defn=sweep(["lr=0.1,0.2", "batch-size=32,64"]))
    assert len(again.study.get_trials()) == 4 and again.defn.sweep_id == opened.defn.sweep_id
    assert open_sweep(tmp_path, "s").defn.to_dict() == opened.defn.to_dict()  # NAME alone
    with pytest.raises(UserError, match="its settings differ"):
        open_sweep(tmp_path, "s", defn=sweep(["lr=0.1,0.2", "batch-size=32,64"], epochs=3))
    with pytest.raises(UserError, match="no sweep named 'other'"):
        open_sweep(tmp_path, "other")


def test_a_tpe_sweep_may_grow_never_shrink(tmp_path: Path) -> None:
    opened = open_sweep(tmp_path, "t", defn=sweep(["lr=log:1e-3:1"], trials=5))
    set_trials(opened, 8)
    assert open_sweep(tmp_path, "t").defn.trials == 8
    with pytest.raises(UserError, match="grow, not shrink"):
        set_trials(opened, 3)


def test_a_database_password_is_never_shown() -> None:
    assert redact("postgresql://me:secret@db:5432/sweeps") == "postgresql://me@db:5432/sweeps"


# ---------------------------------------------------------------------- claims and workers


def test_a_claim_is_held_by_one_process_and_by_the_trial_it_is_passed_to(tmp_path: Path) -> None:
    claim = Claim.take(tmp_path, 3)
    assert claim is not None and Claim.take(tmp_path, 3) is None
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], pass_fds=(claim.fd,))
    try:
        claim.release()
        assert Claim.take(tmp_path, 3) is None  # the trial still holds it: its driver's death frees nothing
    finally:
        child.kill()
        child.wait()
    again = Claim.take(tmp_path, 3)
    assert again is not None
    again.release()


def test_a_trial_is_taken_over_only_once_its_driver_is_gone() -> None:
    from datetime import datetime, timedelta

    me = worker_record()
    assert worker_alive(me) and not may_take_over(me, None)
    assert may_take_over({**me, "pid": 2 ** 22 + 7}, None)  # no such process
    assert may_take_over({**me, "started": -1}, None)  # our pid, but a process that started at another time
    assert may_take_over({"host": "elsewhere", "pid": 1, "beat": time.time() - 3600}, None)
    assert not may_take_over({"host": "elsewhere", "pid": 1, "beat": time.time()}, None)
    assert not may_take_over(None, datetime.now())  # just asked for: its driver is claiming it
    assert may_take_over(None, datetime.now() - timedelta(minutes=5))


def test_cores_are_shared_out_and_gpus_go_round() -> None:
    made = slots(Options(parallel=3, gpus=["0", "1"], cores=8))
    assert [(s.threads, s.gpu) for s in made] == [(2, "0"), (2, "1"), (2, "0")]
    assert made[1].env()["CUDA_VISIBLE_DEVICES"] == "1" and made[1].env()["OMP_NUM_THREADS"] == "2"
    assert slots(Options(parallel=4, cores=2))[0].threads == 1


# ---------------------------------------------------------------------- the driver, with stand-in trials


def failing(launch: Launch) -> list[str]:
    return [sys.executable, "-c", "import sys; print('cifar-tui: error: no GPU here'); sys.exit(2)"]


def test_failing_trials_are_recorded_with_their_reason_and_the_sweep_goes_on(tmp_path: Path) -> None:
    opened = open_sweep(tmp_path, "f", defn=sweep(["lr=0.1,0.2,0.3"]))
    events: list[object] = []
    ctx = SweepContext(opened.study, opened.defn, str(tmp_path), opened.folder, failing)
    result = Driver(ctx, Options(parallel=2), events.append).run()
    assert result.signal is None
    ended = [e for e in events if isinstance(e, TrialEnded)]
    assert sorted(e.number for e in ended) == [0, 1, 2]
    assert all(e.status == "failed" and e.error == "no GPU here" for e in ended)
    table = sweep_table(opened.study, opened.defn, tmp_path)
    assert table.counts["failed"] == 3 and table.best is None
    assert {r.error for r in table.rows} == {"no GPU here"}
    assert (opened.folder / "trials" / "t0.json").is_file()  # each trial's settings, its --config


# A KeyboardInterrupt on SIGINT, which `cifar-tui` turns into 'interrupted' and exit 130. The handler is set
# explicitly, as the real command sets its own (tui/cli/base.py): a suite started in the background of a
# non-interactive shell inherits SIGINT ignored, and Python then installs no handler of its own.
STARTING = "import signal, sys, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n" \
           "print('up', flush=True)\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n" \
           "    print('cifar-tui: interrupted'); sys.exit(130)"


def starting(launch: Launch) -> list[str]:
    return [sys.executable, "-c", STARTING]


def test_a_stop_while_trials_start_leaves_them_to_continue_never_failed(tmp_path: Path) -> None:
    """Ctrl-C (or q in the app) reaching trials that have no run yet: interrupted, run again by the next command."""
    import signal
    import threading

    opened = open_sweep(tmp_path, "st", defn=sweep(["lr=0.1,0.2,0.3"]))
    events: list[object] = []
    driver = Driver(SweepContext(opened.study, opened.defn, str(tmp_path), opened.folder, starting),
                    Options(parallel=2), events.append)
    thread = threading.Thread(target=driver.run)
    thread.start()
    logs = [opened.folder / "trials" / f"t{n}.log" for n in (0, 1)]
    deadline = time.monotonic() + 60
    while not all(p.is_file() and "up" in p.read_text() for p in logs) and time.monotonic() < deadline:
        time.sleep(0.1)
    driver.request_stop(signal.SIGINT)
    thread.join(timeout=60)
    assert not thread.is_alive() and driver.result.signal == signal.SIGINT
    assert sorted((e.number, e.status) for e in events if isinstance(e, TrialEnded)) == [(0, "interrupted"),
                                                                                       (1, "interrupted")]
    assert sweep_table(opened.study, opened.defn, tmp_path).counts["failed"] == 0


def test_the_table_sorts_by_best_val_names_the_best_and_estimates_importance(tmp_path: Path) -> None:
    from optuna.trial import TrialState

    opened = open_sweep(tmp_path, "i", defn=sweep(["lr=log:1e-3:1", "batch-size=32,64"], trials=8))
    study = opened.study
    for i in range(7):  # fixed params: a random sampler's draws can leave lr too narrow to matter
        study.enqueue_trial({"lr": 10 ** (-3 + i / 2), "batch_size": (32, 64)[i % 2]})
        trial = study.ask()
        lr, bs = trial.suggest_float("lr", 1e-3, 1, log=True), trial.suggest_categorical("batch_size", [32, 64])
        study.tell(trial, 0.5 + 0.4 * lr - 0.001 * (bs == 64) + 0.0001 * i)
    pruned = study.ask()
    pruned.suggest_float("lr", 1e-3, 1, log=True), pruned.suggest_categorical("batch_size", [32, 64])
    pruned.report(0.1, 1)
    study.tell(pruned, state=TrialState.PRUNED)
    table = sweep_table(study, opened.defn, tmp_path)
    values = [r.best_val for r in table.rows]
    assert values == sorted(values, reverse=True) and table.rows[-1].status == "pruned"
    assert table.best is not None and table.best.best_val == max(v for v in values if v is not None)
    assert table.counts["completed"] == 7 and table.counts["pruned"] == 1
    assert set(table.importances) == {"lr", "batch_size"} and table.importances["lr"] > 0.5


# ---------------------------------------------------------------------- the runs listing


def test_the_sweeps_folder_is_not_a_run(tmp_path: Path) -> None:
    from engine.config import RunConfig
    from engine.training.loop import train

    runs = tmp_path / "runs"
    train(RunConfig(dataset="synthetic", model="mlp", epochs=1, train_limit=100, test_limit=50, val_split=20,
                    checkpoints=False, runs_dir=str(runs)))
    open_sweep(runs, "s", defn=sweep(["lr=0.1,0.2"]))  # "sweeps" sorts after every run id: 'latest' would pick it
    assert all(r.error is None for r in list_runs(runs)) and "sweeps" not in {r.run_id for r in list_runs(runs)}
    assert find_run(runs, "latest").name != "sweeps"
    assert "sweeps" not in {e.info.run_id for e in RunIndex(runs).scan()}
