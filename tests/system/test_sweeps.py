"""cifar-tui sweep as people run it: real driver and trial processes on synthetic data, tiny.

A grid two at a time; a stop signal and then kill -9 of the driver, each followed by the same
command, ending with exactly the trials asked for; pruning and a diverging trial; workers of two
"machines" sharing a PostgreSQL study; bad input in one line.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.runs import RunStatus, complete_records, list_runs, read_meta, writer_alive
from tests.helpers import ROOT
from tests.helpers.cli_process import cli, one_line_error
from tests.helpers.postgres import postgres_server
from tests.helpers.waiting import wait_until

TINY = ["--dataset", "synthetic", "--model", "mlp", "--test-limit", "100", "--val-split", "100"]
GRID = ["--param", "lr=0.01,0.05", "--param", "batch-size=32,64"]


def start(args: list[object], out: Path) -> subprocess.Popen:
    """The sweep command in the background, its output in a file (read after it ends)."""
    return subprocess.Popen([sys.executable, "-m", "tui", *map(str, args)], cwd=ROOT,
                            stdout=open(out, "w"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def sweeps_json(*args: object) -> list[dict]:
    out = cli("sweeps", "--json", *args, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def trial_of(run) -> int:
    return int(run.run_id.rpartition("-t")[2])


def committed(runs: Path) -> int:
    return sum(len(complete_records(r)) for r in list_runs(runs))


def nobody_writes(runs: Path) -> bool:
    return not any(writer_alive(r.path) for r in list_runs(runs))


@pytest.mark.slow
def test_a_grid_of_four_two_at_once_gives_four_tagged_runs_and_names_the_best(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    args = ["sweep", "g4", *TINY, "--train-limit", "300", "--epochs", "1", *GRID, "--parallel", "2", "--no-ui",
            "--runs-dir", runs]
    out = cli(*args, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 trials (grid), 2 at once, 1 CPU thread each" in out.stdout  # 2 cores shared out
    assert sum(line.startswith("trial ") and " completed " in line for line in out.stdout.splitlines()) == 4
    found = list_runs(runs)
    assert sorted(trial_of(r) for r in found) == [0, 1, 2, 3]
    assert all(r.status == RunStatus.COMPLETED and "sweep:g4" in read_meta(r.path).tags for r in found)
    best = max(found, key=lambda r: r.summary["best_acc"])
    assert f"best: trial {trial_of(best)}  val {100 * best.summary['best_acc']:.2f}%" in out.stdout
    assert best.run_id in out.stdout.split("best: ", 1)[1]
    (listed,) = sweeps_json("--runs-dir", runs)
    assert listed["counts"]["completed"] == 4 and listed["best"]["run_id"] == best.run_id
    assert "unreadable" not in cli("runs", "--runs-dir", runs).stdout  # RUNS/sweeps is no run
    again = cli(*args, timeout=120)  # the same command: nothing left to run, the table again
    assert again.returncode == 0 and " completed " not in again.stdout.split("\ntrials of sweep")[0]
    assert len(list_runs(runs)) == 4


@pytest.mark.slow
def test_a_stop_signal_then_kill_9_of_the_driver_then_the_same_command_ends_with_exactly_the_trials(
        tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    args = ["sweep", "k", *TINY, "--train-limit", "3000", "--epochs", "3", *GRID, "--parallel", "2", "--prune", "none",
            "--runs-dir", runs]
    first = start(args, tmp_path / "first.txt")
    wait_until(lambda: committed(runs) >= 1, 300, first, "a trial's first epoch")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 128 + signal.SIGTERM, (tmp_path / "first.txt").read_text()
    assert "SIGTERM: stopping every trial" in (tmp_path / "first.txt").read_text()
    stopped = list_runs(runs)
    assert stopped and all(r.status == RunStatus.INTERRUPTED for r in stopped)  # each saved itself, resumable

    before = committed(runs)
    second = start(args, tmp_path / "second.txt")
    wait_until(lambda: committed(runs) > before, 300, second, "a resumed trial's next epoch")
    second.kill()  # kill -9 of the driver alone: its trials get SIGTERM from the kernel and save
    second.wait(timeout=30)
    wait_until(lambda: nobody_writes(runs), 120, what="the killed driver's trials to save and end")
    assert "resumes its run" in (tmp_path / "second.txt").read_text()

    out = cli(*args, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    found = list_runs(runs)
    assert sorted(trial_of(r) for r in found) == [0, 1, 2, 3]  # no trial twice, none missing
    assert all(r.status == RunStatus.COMPLETED and r.summary["epochs_done"] == 3 for r in found)
    assert any(r.config.get("resumes") for r in found)  # continued in place with --resume, not started over
    (listed,) = sweeps_json("--runs-dir", runs)
    assert listed["counts"] == {"completed": 4, "running": 0, "interrupted": 0, "pruned": 0, "failed": 0,
                                "waiting": 0}


@pytest.mark.slow
def test_pruning_stops_a_hopeless_trial_and_a_diverging_one_is_recorded_with_its_reason(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    out = cli("sweep", "p", *TINY, "--train-limit", "3000", "--epochs", "6", "--param", "lr=0.05,1e-7,1e30",
              "--runs-dir", runs, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "trial 1 pruned at epoch 2" in out.stdout, out.stdout
    assert "trial 2 failed" in out.stdout and "diverged" in out.stdout
    by_trial = {trial_of(r): r for r in list_runs(runs)}
    assert by_trial[0].status == RunStatus.COMPLETED
    hopeless = by_trial[1]
    assert hopeless.status == RunStatus.INTERRUPTED and hopeless.summary["epochs_done"] < 6  # stopped, resumable
    assert "pruned" in read_meta(hopeless.path).tags
    (listed,) = sweeps_json("--runs-dir", runs)
    rows = {r["number"]: r for r in listed["rows"]}
    assert [rows[n]["status"] for n in range(3)] == ["completed", "pruned", "failed"]
    assert rows[2]["error"].startswith("diverged: ") and listed["best"]["number"] == 0


@pytest.mark.slow
def test_workers_of_two_machines_share_a_postgresql_sweep_and_run_each_trial_once(tmp_path: Path) -> None:
    with postgres_server() as url:
        args = ["sweep", "pg", *TINY, "--train-limit", "300", "--epochs", "1", *GRID, "--storage", url]
        a = start([*args, "--runs-dir", tmp_path / "a"], tmp_path / "a.txt")
        b = start([*args, "--runs-dir", tmp_path / "b"], tmp_path / "b.txt")
        assert a.wait(timeout=600) == 0, (tmp_path / "a.txt").read_text()
        assert b.wait(timeout=600) == 0, (tmp_path / "b.txt").read_text()
        found = list_runs(tmp_path / "a") + list_runs(tmp_path / "b")
        assert sorted(trial_of(r) for r in found) == [0, 1, 2, 3]  # each once, wherever it ran
        assert all(r.status == RunStatus.COMPLETED for r in found)
        assert list_runs(tmp_path / "a") and list_runs(tmp_path / "b")  # both machines worked
        (listed,) = sweeps_json("--storage", url, "--runs-dir", tmp_path / "a")
        assert listed["counts"]["completed"] == 4 and "@" in listed["storage"]


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    base = ["sweep", "s", *TINY, "--runs-dir", runs]
    one_line_error(cli(*base, "--param", "lrr=0.1,0.2"), "no setting named 'lrr'", "did you mean 'lr'")
    one_line_error(cli(*base, "--param", "lr=log:0:1", "--trials", "3"), "log range needs a low bound above 0")
    one_line_error(cli(*base, "--param", "lr=float:1:0.5", "--trials", "3"), "low bound must be below")
    one_line_error(cli(*base, "--param", "batch-size=64,0"), "--param batch_size=0", "batch_size must be >= 1")
    one_line_error(cli(*base, "--param", "lr=0.1,0.2", "--val-split", "0"), "validation", "never by the test set")
    one_line_error(cli(*base, "--param", "val-split=0,100"), "--param val_split=0", "validation")
    one_line_error(cli(*base, "--param", "lr=log:1e-3:1"), "needs --trials N")
    one_line_error(cli(*base, "--param", "lr=0.1", "--name", "x"), "names its trials")
    one_line_error(cli("sweep", "nosuch", "--runs-dir", runs), "no sweep named 'nosuch'")
    assert not runs.exists()


def test_another_sweep_under_a_name_in_use_is_refused(tmp_path: Path) -> None:
    from engine.sweeps.definition import SweepDefinition, check_shape
    from engine.sweeps.space import parse_params
    from engine.sweeps.storage import open_sweep

    runs = tmp_path / "runs"
    defn = check_shape(SweepDefinition("taken", {"dataset": "synthetic"}, parse_params(["lr=0.1,0.2"])), None)
    open_sweep(runs, "taken", defn=defn)
    one_line_error(cli("sweep", "taken", "--dataset", "synthetic", "--param", "lr=0.1,0.3", "--runs-dir", runs),
                   "sweep 'taken' exists and its params differ", "cifar-tui sweep taken")


@pytest.mark.slow
def test_workers_starting_at_once_on_an_empty_database_all_get_the_study_storage() -> None:
    """Each creates Optuna's tables; all but one meet the duplicate, and must retry rather than fail."""
    code = ("import sys; from pathlib import Path; from engine.sweeps.storage import open_storage; "
            "open_storage(Path('.'), sys.argv[1]); print('ok')")
    with postgres_server() as url:
        procs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(o.strip().endswith("ok") for o in outs), outs
