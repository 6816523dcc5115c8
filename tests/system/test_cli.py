"""The real command line through subprocess: files written, exit codes, one-line errors."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers.cli_process import cli
from tests.helpers.waiting import wait_until

CLI = [sys.executable, "-m", "tui"]
TINY = ["--dataset", "synthetic", "--train-limit", "200", "--test-limit", "100", "--batch-size", "50"]


def only_run(runs_dir: Path) -> Path:
    runs = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.slow
def test_headless_run_writes_a_complete_run(runs_dir):
    out = cli("--no-ui", *TINY, "--model", "cnn", "--epochs", "2", "--runs-dir", str(runs_dir), "--name", "demo")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == 2  # one line per epoch when piped
    assert lines[-2].startswith("completed: 2/2 epochs")
    run_dir = only_run(runs_dir)
    assert run_dir.name.endswith("-cnn-scratch-demo")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_done"] == 2
    assert sum(map(sum, summary["confusion"])) == 100
    assert summary["params_trainable"] == summary["params_total"] > 0
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2
    assert {p.name for p in (run_dir / "checkpoints").iterdir()} == {"last.pt", "prev.pt", "best.pt", "manifest.json"}

    listing = cli("runs", "--runs-dir", str(runs_dir))
    assert listing.returncode == 0 and run_dir.name in listing.stdout and "completed" in listing.stdout
    as_json = json.loads(cli("runs", "--json", "--runs-dir", str(runs_dir)).stdout)
    assert as_json[0]["run_id"] == run_dir.name and as_json[0]["summary"]["test_acc"] is not None


@pytest.mark.slow
def test_train_subcommand_is_the_same(runs_dir):
    out = cli("train", "--no-ui", *TINY, "--model", "mlp", "--epochs", "1", "--runs-dir", str(runs_dir))
    assert out.returncode == 0, out.stderr
    assert json.loads((only_run(runs_dir) / "config.json").read_text())["model"] == "mlp"


def test_console_script_is_installed():
    exe = shutil.which("cifar-tui")
    if exe is None:
        pytest.skip("package not installed with pip (no console script)")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--no-ui" in out.stdout and "cifar-tui runs" in out.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--model", "nope"], "unknown model 'nope'"),
        (["--epochs", "0"], "epochs must be >= 1"),
        (["--epochs", "two"], "invalid int value"),
        (["--dataset", "imagenet"], "invalid choice"),
        (["--dataset", "cifar10", "--data-dir", "/nonexistent/data"], "--data-dir"),
        (["--dataset", "fashion-mnist", "--data-dir", "/nonexistent/data"], "dataset-fashion-mnist"),
        (["--model", "alexnet", "--strategy", "feature-extract", "--weights", "/nope.pth"], "does not exist"),
        (["--model", "cnn", "--strategy", "finetune"], "no published pretrained weights"),
        (["--strategy", "linear-probe"], "needs --from RUN"),
        (["--name", "a/b"], "may only hold"),
        (["--val-split", "5000"], "leaves no training images (synthetic has 5000)"),
    ],
)
@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_2(runs_dir, args, expected):
    out = cli("--no-ui", "--dataset", "synthetic", *args, "--runs-dir", str(runs_dir))
    assert out.returncode == 2, out.stderr
    err = out.stderr.strip()
    assert expected in err and "\n" not in err and "Traceback" not in err, err
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # nothing half-made


@pytest.mark.slow
def test_offline_pretrained_without_cache_names_both_ways_out(runs_dir, tmp_path):
    env_home = {"TORCH_HOME": str(tmp_path / "torch-home")}
    out = cli("--no-ui", "--dataset", "synthetic", "--model", "alexnet", "--strategy", "feature-extract",
              "--runs-dir", runs_dir, env=env_home, timeout=120)
    assert out.returncode == 2
    assert "--weights FILE" in out.stderr and "copy alexnet-owt-7be5be79.pth into" in out.stderr


@pytest.mark.slow
def test_feature_extract_with_weights_file_records_param_counts(runs_dir, tmp_path):
    from torchvision.models import alexnet

    weights = tmp_path / "alexnet.pth"
    torch.save(alexnet(weights=None).state_dict(), weights)  # a real 1000-class ImageNet-layout file
    out = cli("--no-ui", "--dataset", "synthetic", "--model", "alexnet", "--strategy", "feature-extract",
              "--weights", str(weights), "--image-size", "64", "--epochs", "1", "--batch-size", "16",
              "--train-limit", "32", "--test-limit", "20", "--no-checkpoints", "--runs-dir", str(runs_dir))
    assert out.returncode == 0, out.stderr
    summary = json.loads((only_run(runs_dir) / "summary.json").read_text())
    assert summary["params_total"] == 57_044_810
    assert summary["params_trainable"] == 54_575_114


@pytest.mark.slow
def test_sigint_saves_run_as_interrupted_and_exits_130(runs_dir):
    proc = subprocess.Popen(CLI + ["--no-ui", "--dataset", "synthetic", "--model", "cnn", "--epochs", "50",
                                   "--runs-dir", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wait_until(lambda: runs_dir.exists() and any(runs_dir.glob("*/summary.json")), 120, proc=proc,
               what="the run to start", interval=0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "stopping after this step" in stdout and "Traceback" not in stderr
    summary = json.loads((only_run(runs_dir) / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert (only_run(runs_dir) / "checkpoints").exists()


@pytest.mark.slow
def test_failed_run_exits_1_with_status_diverged(runs_dir):
    out = cli("--no-ui", *TINY, "--model", "mlp", "--epochs", "2", "--lr", "1e12", "--weight-decay", "0",
              "--runs-dir", str(runs_dir))
    assert out.returncode == 1
    assert "diverged" in out.stdout
    assert json.loads((only_run(runs_dir) / "summary.json").read_text())["status"] == "diverged"


def test_runs_on_empty_dir_says_how_to_start(tmp_path):
    out = cli("runs", "--runs-dir", str(tmp_path / "none"))
    assert out.returncode == 0 and "no runs" in out.stdout
    assert json.loads(cli("runs", "--json", "--runs-dir", str(tmp_path / "none")).stdout) == []
