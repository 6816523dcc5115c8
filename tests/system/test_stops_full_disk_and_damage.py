"""Nothing lost: stop signals, a full disk, damaged checkpoints, divergence, and readers that agree."""
from __future__ import annotations

import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from engine.config import UserError
from engine.runs import list_runs, read_metrics
from engine.runs.checkpoint import load_checkpoint, verify
from engine.training.resume import prepare_resume
from engine.training.loop import train
from tests.helpers.cli_process import cli
from tests.helpers.stopping import StopAt
from tests.helpers.waiting import wait_until
from tests.helpers.resume import assert_same_run

# Trains for real (subprocesses, tmux or full datasets): the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "tui"]
TINY = ["--dataset", "synthetic", "--train-limit", "300", "--test-limit", "60", "--batch-size", "50"]


def only_run(runs_dir: Path) -> Path:
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return run


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def wait_for_epoch(runs_dir: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    wait_until(lambda: any(p.stat().st_size for p in runs_dir.glob("*/metrics.jsonl")), timeout, proc=proc,
               what="the run to finish an epoch")


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGQUIT, 131)])
def test_headless_stop_signals_save_a_resumable_run(tmp_path, sig, code):
    runs_dir = tmp_path / "runs"
    proc = subprocess.Popen(CLI + ["--no-ui", *TINY, "--model", "mlp", "--epochs", "500", "--runs-dir", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_epoch(runs_dir, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "stopping after this step" in out
    run = only_run(runs_dir)
    assert summary(run)["status"] == "interrupted" and not (run / "lock").exists()
    config, _ = prepare_resume(run, {})
    assert config.epochs == 500


def test_a_second_ctrl_c_never_leaves_a_half_written_file(tmp_path):
    runs_dir = tmp_path / "runs"
    proc = subprocess.Popen(CLI + ["--no-ui", *TINY, "--model", "mlp", "--epochs", "500", "--runs-dir", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_epoch(runs_dir, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err
    run = only_run(runs_dir)
    for path in [run / "config.json", run / "summary.json", run / "checkpoints" / "manifest.json"]:
        json.loads(path.read_text())
    assert summary(run)["status"] == "interrupted"
    list_runs(runs_dir)
    assert not [p for p in run.rglob("*.tmp")]


def limited(max_bytes: int):
    def preexec() -> None:
        # A real "disk full": writes past this size fail with EFBIG (Python ignores SIGXFSZ).
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return preexec


def test_disk_full_keeps_the_previous_checkpoint_and_marks_the_run_failed(tmp_path):
    runs_dir = tmp_path / "runs"
    first = cli("--no-ui", *TINY, "--model", "cnn", "--epochs", "1", "--runs-dir", runs_dir)
    assert first.returncode == 0, first.stderr
    run = only_run(runs_dir)
    # The cnn's checkpoint is ~2.3 MB; JSON files are a few KB: the epoch-2 checkpoint cannot be written.
    out = cli("--no-ui", "--resume", run, "--epochs", "3", preexec_fn=limited(1_000_000))
    assert out.returncode == 1 and "Traceback" not in out.stderr + out.stdout
    assert "no space left on the device writing" in out.stdout and "last.pt" in out.stdout
    s = summary(run)
    assert s["status"] == "failed" and "no space left" in s["error"]
    assert s["epochs_done"] == 1 and s["best_epoch"] == 1
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1
    assert verify(run / "checkpoints" / "best.pt")["epoch"] == 1
    assert [r["epoch"] for r in read_metrics(run)] == [1]
    assert not list(run.rglob("*.tmp"))
    again = cli("--no-ui", "--resume", run, "--epochs", "2")
    assert again.returncode == 0, again.stderr  # space is back: the failed run resumes


@pytest.mark.parametrize("max_bytes", [0, 300])
def test_no_space_at_all_is_one_line_and_leaves_no_run_directory(tmp_path, max_bytes):
    """0 bytes: Python's own temp-dir probe fails first; 300 bytes: our first file (config.json) fails."""
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    out = cli("--no-ui", *TINY, "--model", "mlp", "--epochs", "1", "--runs-dir", runs_dir,
              preexec_fn=limited(max_bytes))
    assert out.returncode != 0 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    if max_bytes:
        assert "no space left on the device" in out.stderr
    assert list(runs_dir.iterdir()) == []


# ----------------------------------------------------------------------------- damaged checkpoints

def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # the middle of the file: tensor storage
    path.unlink()  # a new inode: best.pt (a hard link) keeps the good bytes
    path.write_bytes(bytes(data))


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch /tmp/cifar-tui-pwned",))


CORRUPTIONS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 3]),
    "bit-flip": flip_byte,
    "empty": lambda p: p.write_bytes(b""),
    "json": lambda p: p.write_text('{"model": {}}'),
    "png": lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64)),
    "code-pickle": lambda p: p.write_bytes(pickle.dumps({"model": RunsCode()})),
}


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory) -> tuple[Path, Path]:
    """A run stopped after epoch 2 of 3 (last.pt = epoch 2, prev.pt = epoch 1), and the same run uninterrupted."""
    from tests.helpers.resume import tiny

    root = tmp_path_factory.mktemp("ckpt")
    ref = train(tiny(root / "ref"))
    run = train(tiny(root / "stopped"), control=StopAt(2 * 9))
    assert run.status == "interrupted" and summary(Path(run.run_dir))["epochs_done"] == 2
    return Path(run.run_dir), Path(ref.run_dir)


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_a_damaged_checkpoint_is_refused_and_resume_falls_back(interrupted_run, tmp_path, kind):
    source, reference = interrupted_run
    run = Path(shutil.copytree(source, tmp_path / source.name))
    last = run / "checkpoints" / "last.pt"
    if kind == "bit-flip":  # without the checksum this file would load silently
        flip_byte(last)
        assert torch.load(last, weights_only=True)["model"]
    else:
        data = last.read_bytes()
        last.unlink()  # a new inode, so best.pt (a hard link) is not damaged with it
        last.write_bytes(data)
        CORRUPTIONS[kind](last)
    with pytest.raises(UserError, match=str(last)):
        load_checkpoint(last)
    assert not Path("/tmp/cifar-tui-pwned").exists()
    warnings: list[str] = []
    result = train(prepare_resume(run, {})[0], resume=run, on_event=lambda e: warnings.append(getattr(e, "message", "")))
    assert any("last.pt" in w and "previous checkpoint" in w for w in warnings)
    assert result.status == "completed"
    assert_same_run(reference, run)  # resumed from prev.pt (epoch 1): the same end, bit for bit


def test_pca_refuses_a_damaged_checkpoint_in_one_line(interrupted_run, tmp_path):
    source, _ = interrupted_run
    run = Path(shutil.copytree(source, tmp_path / source.name))
    best = run / "checkpoints" / "best.pt"
    flip_byte(best)
    out = cli("pca", run)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert str(best) in out.stderr and out.stderr.count("\n") == 1


def test_a_run_from_before_resume_support_is_refused(interrupted_run, tmp_path):
    source, _ = interrupted_run
    run = Path(shutil.copytree(source, tmp_path / source.name))
    (run / "checkpoints" / "manifest.json").unlink()
    with pytest.raises(UserError, match="no recorded checksum"):
        train(prepare_resume(run, {})[0], resume=run)
    assert summary(run)["status"] == "interrupted" and not (run / "lock").exists()


# ----------------------------------------------------------------------------- divergence

def test_divergence_stops_within_a_step_keeps_the_good_checkpoint_and_needs_a_lower_lr(tmp_path):
    from tests.helpers.resume import tiny

    good = train(tiny(tmp_path, epochs=1))
    config, _ = prepare_resume(good.run_dir, {"epochs": 3})
    # An optimizer step this large explodes the next loss: the run must stop there.
    config = config.replace(lr=1e7)
    result = train(config, resume=good.run_dir, change={"lr": [0.05, 1e7]})
    run = Path(result.run_dir)
    s = summary(run)
    assert result.status == "diverged" and s["epochs_done"] == 1 and s["best_epoch"] == 1
    assert "epoch 2, step" in s["error"] and "--lr" in s["error"]
    assert "epoch 2, step" in (run / "error.log").read_text()
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1
    for path in run.rglob("*.json*"):
        assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    with pytest.raises(UserError, match="lower --lr"):
        prepare_resume(run, {})
    with pytest.raises(UserError, match="lower --lr"):
        prepare_resume(run, {"lr": 2e7})
    config, change = prepare_resume(run, {"lr": 0.01})
    assert train(config, resume=run, change=change).status == "completed"
    resumes = json.loads((run / "config.json").read_text())["resumes"]
    assert resumes[-1]["changed"] == {"lr": [1e7, 0.01]}


def test_a_nan_eval_loss_is_divergence_not_a_crash(tmp_path, monkeypatch):
    import engine.training.evaluation as loop
    from tests.helpers.resume import tiny

    real = loop.evaluate
    calls = {"n": 0}

    def evaluate(ctx, x, y, **kwargs):
        out = real(ctx, x, y, **kwargs)
        calls["n"] += 1
        if calls["n"] > 2:  # epoch 2's validation: a finite train loss, a NaN eval loss
            out["loss"] = float("nan")
        return out

    monkeypatch.setattr(loop, "evaluate", evaluate)
    result = train(tiny(tmp_path))
    run = Path(result.run_dir)
    assert result.status == "diverged" and "val loss at epoch 2" in result.error
    assert [r["epoch"] for r in read_metrics(run)] == [1] and summary(run)["epochs_done"] == 1
    assert load_checkpoint(run / "checkpoints" / "best.pt")["epoch"] == 1
    out = cli("runs", "--json", "--runs-dir", tmp_path)
    assert "NaN" not in out.stdout and json.loads(out.stdout)[0]["status"] == "diverged"


# ----------------------------------------------------------------------------- readers agree

def test_readers_agree_when_metrics_ran_ahead_of_the_summary(tmp_path):
    """Killed between epoch 2's metrics line and its summary: every reader says 1 epoch; resume finds 2."""
    runs_dir = tmp_path / "runs"
    # 3 creating the run, 7 an epoch (checkpoint 3, manifest, predictions, metrics, summary): epoch 2's summary
    cli("--no-ui", *TINY, "--model", "mlp", "--epochs", "3", "--runs-dir", runs_dir,
        env={"CIFAR_TUI_KILL_AT_WRITE": "17"})
    run = only_run(runs_dir)
    assert [r["epoch"] for r in read_metrics(run)] == [1, 2] and summary(run)["epochs_done"] == 1
    listed = json.loads(cli("runs", "--json", "--runs-dir", runs_dir).stdout)
    assert listed[0]["status"] == "stale" and listed[0]["summary"]["epochs_done"] == 1
    exported = cli("export", run, "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert [r["epoch"] for r in json.loads(exported.stdout)["runs"][0]["epochs"]] == [1]
    config, _ = prepare_resume(run, {})
    events: list = []
    assert train(config, resume=run, on_event=events.append).status == "completed"
    assert events[0].message.startswith("resuming from last.pt: epoch 2 done")


def test_watch_ends_on_a_run_killed_while_it_was_created(tmp_path):
    """A run folder with a lock whose writer is dead and no config (an old engine's start-up kill)."""
    run = tmp_path / "runs" / "20260101-000000-cnn-scratch"
    run.mkdir(parents=True)
    (run / "lock").write_text(json.dumps({"pid": 2**22 + 7, "host": os.uname().nodename}))
    out = cli("watch", run, "--no-ui", timeout=60)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "unreadable" in out.stdout + out.stderr


def test_an_unusable_runs_directory_is_found_before_the_data_is_loaded(tmp_path):
    """The runs directory is checked first: the error is about it, not about the (missing) dataset."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = cli("--no-ui", "--dataset", "cifar10", "--data-dir", tmp_path / "no-data", "--no-download",
              "--runs-dir", blocker / "runs", timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    assert "runs directory" in out.stderr and "--runs-dir" in out.stderr
