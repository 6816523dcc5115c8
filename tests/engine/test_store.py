"""The run store: atomic files, torn lines, listing with broken runs, stale writers, lookup."""
from __future__ import annotations

import json
import os

import pytest

from engine.config import UserError
from engine.runs import atomic_write_json, find_run, list_runs, load_run, read_metrics
from engine.events import StepDone
from engine.runs.progress import read_progress
from engine.runs.writer import RunWriter


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"x": 1})
    atomic_write_json(tmp_path / "a.json", {"x": 2})
    assert json.load(open(tmp_path / "a.json")) == {"x": 2}
    assert os.listdir(tmp_path) == ["a.json"]


def test_the_store_never_writes_nan_or_infinity(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"x": float("nan"), "y": [float("inf"), 1.5], "z": {"w": -float("inf")}})
    text = (tmp_path / "a.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"x": None, "y": [None, 1.5], "z": {"w": None}}
    assert os.listdir(tmp_path) == ["a.json"]


def test_torn_last_metrics_line_is_ignored(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3, "tr')
    assert [r["epoch"] for r in read_metrics(tmp_path)] == [1, 2]


def new_writer(root, run_id, status="running", **config):
    return RunWriter.create(root, run_id, config, {"status": status})


def test_writer_claims_unique_dirs_and_releases_lock(tmp_path):
    a, b = new_writer(tmp_path, "same-id", model="cnn"), new_writer(tmp_path, "same-id")
    assert a.run_id == "same-id" and b.run_id == "same-id-2"
    assert json.loads((b.path / "config.json").read_text())["run_id"] == "same-id-2"
    assert load_run(a.path).status == "running"  # this process holds the lock
    a.close()
    assert not (a.path / "lock").exists()
    b.close()


def test_running_run_with_dead_writer_is_stale(tmp_path):
    w = new_writer(tmp_path, "r1")
    atomic_write_json(w.path / "lock", {"pid": 2**22 + 12345, "host": os.uname().nodename})
    assert load_run(w.path).status == "stale"


def test_progress_lives_while_the_writer_does(tmp_path):
    """progress.json: removed by close(); a killed session's copy survives until a resume takes the run over."""
    w = new_writer(tmp_path, "r1")
    w.progress.tick(StepDone(1, 5, 10, 2.0, 0.1, 100.0, 3.0, 4.0))
    assert (w.path / "progress.json").exists() and read_progress(w.path)["step"] == 5
    w.close()
    assert not (w.path / "progress.json").exists()
    (w.path / "progress.json").write_text('{"epoch": 1}')  # as a killed writer leaves it (and a garbled one)
    (w.path / ".progress.json.abc.tmp").write_text("{")
    again = RunWriter.reopen(w.path)
    assert sorted(p.name for p in w.path.iterdir() if "progress" in p.name) == []
    again.close()


def test_list_runs_keeps_unreadable_runs_with_reason(tmp_path):
    good = new_writer(tmp_path, "20260101-000000-cnn-scratch", status="completed", model="cnn")
    good.close()
    bad = tmp_path / "20260102-000000-mlp-scratch"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    (bad / "summary.json").write_text('{"status": ')
    missing = tmp_path / "20260103-000000-mlp-scratch"
    missing.mkdir()
    runs = {r.run_id: r for r in list_runs(tmp_path)}
    assert runs[good.run_id].status == "completed"
    assert runs[bad.name].status == "unreadable" and "corrupted" in runs[bad.name].error
    assert runs[missing.name].error == "missing config.json"


def test_find_run_by_id_substring_latest_and_path(tmp_path):
    for rid in ("20260101-000000-cnn-scratch", "20260102-000000-mlp-scratch"):
        new_writer(tmp_path, rid).close()
    assert find_run(tmp_path, "latest").name == "20260102-000000-mlp-scratch"
    assert find_run(tmp_path, "cnn").name == "20260101-000000-cnn-scratch"
    assert find_run(tmp_path, str(tmp_path / "20260101-000000-cnn-scratch")).name.startswith("20260101")
    with pytest.raises(UserError, match="matches 2 runs"):
        find_run(tmp_path, "2026")
    with pytest.raises(UserError, match="no run matches"):
        find_run(tmp_path, "resnet")


def test_a_killed_but_unreaped_writer_counts_as_dead():
    """kill -9 leaves a zombie until the parent reaps it; kill(0) still succeeds on it."""
    import signal
    import subprocess
    import sys
    import time

    from engine.runs import pid_alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert pid_alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while pid_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(child.pid)  # still a zombie here: not yet waited for
    finally:
        child.kill()
        child.wait()


def test_a_temp_file_of_a_live_writer_survives_the_clean_up_of_a_dead_run(tmp_path):
    """A name or tag edited from another process writes without the run's lock: its temp file is in use."""
    import subprocess
    import sys

    from engine.runs.files import TEMP_SUFFIX, clean_temp_files, temp_writer
    from engine.runs.liveness import pid_alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        in_flight = tmp_path / f".meta.json.{child.pid}.ab12cd34{TEMP_SUFFIX}"
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        leftover = tmp_path / f".summary.json.{int(dead.stdout)}.zz99yy88{TEMP_SUFFIX}"
        old_style = tmp_path / f".config.json.k3j4h5{TEMP_SUFFIX}"
        for p in (in_flight, leftover, old_style):
            p.write_text("{}")
        assert temp_writer(in_flight.name) == child.pid and temp_writer(old_style.name) is None
        assert clean_temp_files(tmp_path, alive=pid_alive) == 2
        assert sorted(os.listdir(tmp_path)) == [in_flight.name]
    finally:
        child.kill()
        child.wait()
