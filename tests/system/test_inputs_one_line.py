"""Bad input found by the second daily-use pass: each gets one clean line and exit 2, nothing written;
and the hints a user pastes work as pasted."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import RunConfig, UserError
from engine.runs.layout import check_writable
from engine.runs.liveness import writer_alive
from engine.training.resume import resume_command
from tests.helpers import ROOT
from tests.helpers.cli_process import cli, one_line_error as one_line

TINY = ["--dataset", "synthetic", "--model", "mlp", "--epochs", "1", "--train-limit", "200", "--test-limit", "100"]


def test_an_empty_resume_is_bad_input_not_a_new_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    one_line(cli("--no-ui", "--resume", "", *TINY, "--runs-dir", runs), "empty run name", "variable unset")
    assert not runs.exists() or not any(runs.iterdir())


def test_resume_of_a_folder_that_is_no_run_says_so(tmp_path: Path) -> None:
    (tmp_path / "notarun").mkdir()
    one_line(cli("--no-ui", "--resume", tmp_path / "notarun"), "not a run directory (no config.json)")


@pytest.mark.slow
def test_resume_refuses_a_preset_like_any_other_setting(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert cli("--no-ui", *TINY, "--runs-dir", runs).returncode == 0
    line = one_line(cli("--no-ui", "--resume", "latest", "--runs-dir", runs, "--preset", "004-mlp"),
                    "--preset 004-mlp (the run has none)")
    assert "None" not in line


def test_a_model_too_deep_for_the_input_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    one_line(cli("--no-ui", "--dataset", "synthetic", "--model", "alexnet", "--image-size", "16", "--epochs", "1",
                 "--runs-dir", runs), "cannot take 16x16", "--image-size 63")
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize("content, why", [(b"", "the file is empty"), (b"hello", "not a tar"),
                                          (b"\x1f\x8b\x08\x00garbage", "truncated")])
def test_a_data_dir_that_is_no_tarball_is_one_short_line(tmp_path: Path, content: bytes, why: str) -> None:
    bad = tmp_path / "data.tar.gz"
    bad.write_bytes(content)
    one_line(cli("--no-ui", "--dataset", "folder", "--data-dir", bad, "--epochs", "1", "--runs-dir", tmp_path / "r"),
             "cannot read", why)


def test_version_and_help_speak_plainly() -> None:
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("cifar-tui ")
    env = {**os.environ, "COLUMNS": "80"}
    text = subprocess.run([sys.executable, "-m", "tui", "--help"], capture_output=True, text=True, env=env,
                          cwd=ROOT).stdout
    assert "None" not in text and "(default: True)" not in text and "(default: False)" not in text
    assert "(default: on)" in text
    description = text.split("\n\n")[1]
    assert max(len(line) for line in description.splitlines()) <= 80


@pytest.mark.slow
def test_a_train_limit_beyond_the_data_is_said(tmp_path: Path) -> None:
    out = cli("--no-ui", "--dataset", "synthetic", "--model", "mlp", "--epochs", "1", "--train-limit", "999999",
              "--runs-dir", tmp_path / "runs")
    assert out.returncode == 0, out.stderr
    assert "--train-limit 999,999 exceeds the 4,500 training images" in out.stdout
    assert "add --test-limit N" in out.stdout


def test_the_resume_hint_names_a_runs_dir_that_is_not_the_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CIFAR_TUI_RUNS_DIR", raising=False)
    assert resume_command("r1", "saved_runs") == "cifar-tui --no-ui --resume r1"
    assert resume_command("r1", tmp_path / "my runs") == f"cifar-tui --no-ui --resume r1 --runs-dir '{tmp_path}/my runs'"


@pytest.mark.parametrize("content", [b"", b"{", b"garbage\xff", b"[]", b'{"pid": "x"}', b'{"host": "h"}'])
def test_a_lock_that_names_no_writer_is_stale(tmp_path: Path, content: bytes) -> None:
    lock = tmp_path / "lock"
    lock.write_bytes(content)
    old = lock.stat().st_mtime - 60
    os.utime(lock, (old, old))
    assert not writer_alive(tmp_path)


def test_a_garbage_lock_just_written_still_counts_as_live(tmp_path: Path) -> None:
    (tmp_path / "lock").write_bytes(b"{")
    assert writer_alive(tmp_path)  # a foreign tool may be mid-write: give it a few seconds


def test_a_live_lock_stays_live(tmp_path: Path) -> None:
    import socket

    (tmp_path / "lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    assert writer_alive(tmp_path)


def test_analyze_checks_it_can_write_before_it_works(tmp_path: Path) -> None:
    blocker = tmp_path / "run"
    blocker.write_text("a file where the run's folder should be")
    with pytest.raises(UserError, match="cannot|not a directory|exists"):
        check_writable(blocker / "analysis")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders: needs an ordinary user")
def test_analyze_of_a_read_only_run_fails_first(runs: Path) -> None:
    run = sorted(p for p in runs.iterdir() if p.is_dir())[0]
    run.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        one_line(cli("analyze", run, "--no-ui"), str(run))
    finally:
        run.chmod(stat.S_IRWXU)


def test_export_writes_through_a_symlink_and_into_a_fifo(runs: Path, tmp_path: Path) -> None:
    run = sorted(p for p in runs.iterdir() if p.is_dir())[0]
    target = tmp_path / "target.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert cli("export", run, "-o", link).returncode == 0
    assert link.is_symlink() and target.read_text().startswith("run_id")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    assert cli("export", run, "-o", fifo).returncode == 0
    assert reader.communicate(timeout=30)[0].startswith(b"run_id")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_export_into_a_full_device_is_one_line(runs: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    run = sorted(p for p in runs.iterdir() if p.is_dir())[0]
    one_line(cli("export", run, "-o", "/dev/full"), "/dev/full")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_no_field_doc_shows_python_none() -> None:
    from engine.config import field_docs

    assert not [k for k, v in field_docs().items() if "None" in v]
    assert RunConfig().validate()


def test_compare_reads_seed_groups_in_their_own_units_and_names(runs: Path) -> None:
    ids = sorted(p.name for p in runs.iterdir() if p.is_dir() and "lowlr" not in p.name and "cnn" not in p.name
                 and "noval" not in p.name)
    out = cli("compare", "--no-ui", "--runs-dir", runs, *ids)
    assert out.returncode == 0, out.stderr
    group = out.stdout.split("seed groups")[1]
    assert "img/s" in group and "img_per_s" not in group and "best val" in group
    rate = group.split("img/s ")[1].split()[0]
    assert rate.isdigit(), group  # images a second, not a duration


def test_compare_shows_resumes_on_their_own_line_not_as_a_setting(runs: Path) -> None:
    run = sorted(p for p in runs.iterdir() if p.is_dir())[0]
    config = json.loads((run / "config.json").read_text())
    config["resumes"] = [{"at": "x", "from_epoch": 2, "from_step": 0, "changed": {"epochs": [3, 5]}}]
    (run / "config.json").write_text(json.dumps(config))
    other = sorted(p for p in runs.iterdir() if p.is_dir())[1]
    out = cli("compare", "--no-ui", "--runs-dir", runs, run.name, other.name)
    assert "resumed once: at epoch 2 (epochs 3 -> 5)" in out.stdout
    config_part = out.stdout.split("config (")[1].split("metrics:")[0]
    assert "resumes" not in config_part and "{" not in config_part


def test_a_corrupt_summary_names_the_file_and_the_run(runs: Path) -> None:
    run = sorted(p for p in runs.iterdir() if p.is_dir())[0]
    (run / "summary.json").write_text('{"status": ')
    line = one_line(cli("--no-ui", "--resume", run.name, "--runs-dir", runs, "--epochs", "9"), run.name,
                    "summary.json is corrupted: not valid JSON (line 1, column 12)")
    assert "Expecting value" not in line
