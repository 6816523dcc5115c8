"""Data-parallel training under torchrun: 2 processes, gloo, on the CPU (what CI has).

The torchrun tests are real jobs (PyTorch's own launcher, real signals and kills); the
fast tier keeps the checks that need no second process.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from engine.device import distributed
from engine.analysis.analyze import compute_predictions
from engine.analysis.loaded_run import load_run_model
from engine.config import ConfigError, RunConfig
from engine.runs.predictions import load as load_predictions
from tests.helpers import ROOT
from tests.helpers.cli_process import cli
from tests.helpers.waiting import wait_until

JOB = ["--dataset", "synthetic", "--model", "cnn-bn-dropout", "--val-split", "0", "--test-limit", "155",
       "--batch-size", "50", "--seed", "3", "--dist-timeout", "30"]
SMALL = [*JOB, "--train-limit", "355", "--epochs", "2"]  # 355 = 7 x 50 + 5: a short last batch split 3 / 2
LONGER = [*JOB, "--train-limit", "2000", "--epochs", "3"]  # epochs long enough to be stopped part-way
TIMING = ("epoch_time_s", "wall_time_s", "img_per_s", "train_time_s")


def env() -> dict[str, str]:
    # One thread per rank: two ranks on two cores (torchrun would set this, but the test session sets 2).
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def torchrun(runs: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "--master-port", str(free_port()),
            "-m", "tui", "--no-ui", "--runs-dir", str(runs), *args]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_job(runs: Path, *args: str, timeout: float = 240, extra_env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    done = subprocess.run(torchrun(runs, *args), env={**env(), **(extra_env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def the_run(runs: Path) -> Path:
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return run


def records(run: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


def read(run: Path, name: str) -> dict:
    return json.loads((run / name).read_text())


class Job(NamedTuple):
    run: Path
    stdout: str
    shut_down: list[str]  # "RANK-pid" of each process that went through the interpreter's shutdown


@pytest.fixture(scope="module")
def small_job(tmp_path_factory) -> Job:
    runs, marks = tmp_path_factory.mktemp("ddp-small"), tmp_path_factory.mktemp("shutdown-marks")
    hook = {"PYTHONPATH": f"{ROOT / 'tests' / 'helpers' / 'shutdown_hook'}{os.pathsep}{env()['PYTHONPATH']}",
            "CIFAR_TUI_SHUTDOWN_MARKS": str(marks)}
    done = run_job(runs, *SMALL, extra_env=hook)
    return Job(the_run(runs), done.stdout, sorted(p.name for p in marks.iterdir()))


@pytest.fixture(scope="module")
def longer_job(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("ddp-longer")
    run_job(runs, *LONGER)
    return the_run(runs)


# --------------------------------------------------------------------------- torchrun, 2 processes

@pytest.mark.slow
def test_workers_end_without_the_interpreter_shutdown(small_job) -> None:
    """A gloo worker thread still releasing a finished collective's tensors aborts a process in its
    shutdown (engine.device.distributed.exit_worker): the workers skip it, torchrun's own process does not."""
    assert [name.split("-")[0] for name in small_job.shut_down] == ["launcher"], small_job.shut_down


@pytest.mark.slow
def test_one_run_directory_written_by_rank_0(small_job) -> None:
    run, stdout = small_job.run, small_job.stdout
    assert [p.name for p in run.parent.iterdir()] == [run.name]  # rank 1 made none
    config = read(run, "config.json")
    assert config["distributed"] == {"world_size": 2, "backend": "gloo", "global_batch": 50, "per_rank_batch": 25}
    summary = read(run, "summary.json")
    assert summary["status"] == "completed" and summary["world_size"] == 2 and summary["n_train"] == 355
    assert stdout.count("epoch 1/2  train loss") == 1  # rank 1 printed nothing


@pytest.mark.slow
def test_evaluation_equals_one_process_on_the_saved_weights(small_job) -> None:
    """Each rank scored its shard; the sums must be exactly what one process computes on the checkpoint."""
    run = small_job.run
    summary = read(run, "summary.json")
    loaded = load_run_model(run, checkpoint="last")
    preds = compute_predictions(loaded)
    labels, top1 = preds.labels, preds.top_ids[:, 0]
    k = len(summary["class_names"])
    conf = np.zeros((k, k), dtype=int)
    np.add.at(conf, (labels, top1), 1)
    assert conf.tolist() == summary["confusion"]
    assert summary["test_acc"] == pytest.approx((top1 == labels).mean(), abs=0)
    assert summary["test_top5"] == pytest.approx((preds.top_ids == labels[:, None]).any(1).mean(), abs=0)
    stored = load_predictions(run / "predictions" / "last.npz")  # gathered from both ranks, in row order
    assert np.array_equal(stored.labels, labels) and np.array_equal(stored.top_ids, preds.top_ids)
    assert np.allclose(stored.top_probs, preds.top_probs, atol=2e-3)
    per_class = [conf[i, i] / conf[i].sum() for i in range(k)]
    assert list(summary["per_class_acc"].values()) == pytest.approx(per_class, abs=1e-12)


@pytest.mark.slow
def test_same_seed_same_metrics(small_job, tmp_path) -> None:
    run = small_job.run
    run_job(tmp_path, *SMALL)
    assert records(the_run(tmp_path)) == records(run)


@pytest.mark.slow
def test_a_stopped_job_resumes_under_torchrun_bit_for_bit(longer_job, tmp_path) -> None:
    runs = tmp_path / "runs"
    agent = subprocess.Popen(torchrun(runs, *LONGER), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    wait_until(lambda: any(p.stat().st_size for p in runs.glob("*/metrics.jsonl")), 180, proc=agent)
    agent.send_signal(signal.SIGTERM)  # what Ctrl-C on torchrun, or a scheduler's preemption, does
    out, err = agent.communicate(timeout=120)
    run = the_run(runs)
    summary = read(run, "summary.json")
    assert summary["status"] == "interrupted", out[-1500:] + err[-1500:]
    assert "resume with: cifar-tui --no-ui --resume" in out and 1 <= summary["epochs_done"] < 3
    run_job(runs, "--resume", run.name)
    assert read(run, "summary.json")["status"] == "completed"
    assert records(run) == records(longer_job)  # the same numbers as a job never stopped


@pytest.mark.slow
def test_a_killed_rank_fails_the_run_within_the_timeout(tmp_path) -> None:
    runs = tmp_path / "runs"
    agent = subprocess.Popen(torchrun(runs, *LONGER, "--dist-timeout", "20"), env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_until(lambda: any(p.stat().st_size for p in runs.glob("*/metrics.jsonl")), 180, proc=agent)
    os.kill(rank_pid(agent.pid, 1), signal.SIGKILL)
    t0 = time.monotonic()
    out, err = agent.communicate(timeout=90)
    assert agent.returncode != 0 and time.monotonic() - t0 < 60
    summary = read(the_run(runs), "summary.json")
    assert summary["status"] == "failed"
    assert "another process of the job died or stopped answering" in summary["error"]
    assert "another process of the job died" in out  # rank 0 said so, in one line
    assert "Traceback" not in out


@pytest.mark.slow
def test_divergence_on_the_job_stops_every_rank_at_one_step(tmp_path) -> None:
    runs = tmp_path / "runs"
    done = subprocess.run(torchrun(runs, *LONGER, "--optimizer", "sgd", "--lr", "1e7"), env=env(),
                          capture_output=True, text=True, timeout=240)
    assert done.returncode != 0
    summary = read(the_run(runs), "summary.json")
    assert summary["status"] == "diverged" and summary["epochs_done"] == 0
    assert "train loss at epoch 1, step" in summary["error"] and "--lr" in summary["error"]
    assert done.stdout.count("diverged: 0/3 epochs") == 1  # said once, by rank 0


@pytest.mark.slow
def test_the_app_follows_a_job_like_any_headless_run(tmp_path) -> None:
    """RunFollower (what the dashboard and `watch` read) sees a torchrun job's steps and its end."""
    from tests.helpers.waiting import follow_to_end

    runs = tmp_path / "runs"
    agent = subprocess.Popen(torchrun(runs, *LONGER, "--epochs", "1", "--name", "live"), env=env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: bool(list(runs.glob("*-live/summary.json"))), 180, proc=agent)
        steps = follow_to_end(next(runs.glob("*-live")), time.monotonic() + 180)
        assert agent.wait(60) == 0
        assert [s.step for s in steps if s.step < s.steps_per_epoch], steps  # live, mid-epoch
        assert read(next(runs.glob("*-live")), "summary.json")["status"] == "completed"
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


@pytest.mark.slow
def test_a_frozen_backbone_trains_without_the_feature_cache_and_says_why(tmp_path) -> None:
    from engine.models.registry import get_spec

    torch.manual_seed(0)
    weights = tmp_path / "cnn.pt"
    torch.save(get_spec("cnn").build(10, 3, 32).state_dict(), weights)  # "pretrained": any real state dict
    runs = tmp_path / "runs"
    done = run_job(runs, "--dataset", "synthetic", "--model", "cnn", "--strategy", "feature-extract",
                   "--weights", str(weights), "--no-crop", "--train-limit", "300", "--test-limit", "60",
                   "--batch-size", "50", "--epochs", "1")
    assert "[info] feature cache off: not under torchrun" in done.stdout
    assert read(the_run(runs), "summary.json")["status"] == "completed"
    frozen = torch.load(the_run(runs) / "checkpoints" / "last.pt", weights_only=True)["model"]
    start = torch.load(weights, weights_only=True)
    assert all(torch.equal(frozen[k], start[k]) for k in start if k.startswith("features.") and "running" not in k)


@pytest.mark.slow
def test_the_fast_preset_trains_under_torchrun(tmp_path) -> None:
    """Patch whitening from the data (the same on every rank), Lookahead, alternating flip and TTA under DDP."""
    runs = tmp_path / "runs"
    run_job(runs, "--preset", "fast", "--dataset", "synthetic", "--train-limit", "1000", "--test-limit", "200",
            "--epochs", "2")
    summary = read(the_run(runs), "summary.json")
    assert summary["status"] == "completed" and summary["world_size"] == 2
    assert summary["test_acc"] > 0.15  # 10 classes: chance is 0.10


def rank_pid(agent: int, rank: int) -> int:
    """The worker process torchrun started for ``rank`` (its environment says RANK=rank)."""
    for child in Path(f"/proc/{agent}/task/{agent}/children").read_text().split():
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        if f"RANK={rank}".encode() in environ:
            return int(child)
    raise AssertionError(f"no rank {rank} under {agent}")


# --------------------------------------------------------------------------- no second process needed

def test_a_worker_exits_with_its_code_and_its_output_but_no_shutdown() -> None:
    code = ("import atexit; atexit.register(lambda: print('shut down')); "
            "from engine.device.distributed import exit_worker; print('saved', end=''); exit_worker(3)")
    done = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (3, "saved", "")


def cli_under_torchrun(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    job = {**env(), "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}
    return cli("--runs-dir", tmp_path / "runs", *args, env=job, timeout=120)


@pytest.mark.parametrize("args, words", [
    (("--no-ui", "--batch-size", "63"), "--batch-size 63 does not split over 2 processes"),
    (("--no-ui", "--sync-bn"), "--sync-bn needs GPUs"),
    ((), "under torchrun add --no-ui"),
])
def test_bad_job_input_is_one_line_before_anything_is_written(tmp_path, args, words) -> None:
    done = cli_under_torchrun(tmp_path, "--dataset", "synthetic", "--train-limit", "100", *args)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_an_unreachable_rendezvous_is_one_clear_line(tmp_path) -> None:
    port = free_port()  # nothing listens there
    job = {**env(), "WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(port)}
    done = cli("--no-ui", "--dataset", "synthetic", "--dist-timeout", "2", "--runs-dir", tmp_path / "runs", env=job,
               timeout=120)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("cifar-tui: error: could not join the 2-process job at 127.0.0.1:") and "rdzv" in last
    assert not (tmp_path / "runs").exists()


def test_shards_cover_every_row_once() -> None:
    for n in (0, 1, 5, 155, 10_000):
        for world in (1, 2, 3, 8):
            rows = [r for rank in range(world)
                    for r in range(*distributed.shard(n, distributed.Dist(rank=rank, world=world)))]
            assert rows == list(range(n))
    batch = torch.arange(5)
    parts = [distributed.local_slice(batch, distributed.Dist(rank=r, world=2)).tolist() for r in (0, 1)]
    assert parts == [[0, 1], [2, 3, 4]]


def test_peer_failures_read_as_one_line() -> None:
    gloo = RuntimeError("[/__w/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error "
                        "[127.0.0.1]:20373: Connection reset by peer. This is typically caused by a remote worker")
    text = distributed.peer_failure(gloo, distributed.Dist(rank=0, world=2))
    assert text and text.startswith("another process of the job died") and "pair.cc" not in text
    assert distributed.peer_failure(gloo, distributed.SINGLE) is None
    assert distributed.peer_failure(RuntimeError("shape mismatch"), distributed.Dist(rank=0, world=2)) is None


def test_dist_timeout_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="dist_timeout must be > 0"):
        RunConfig(dataset="synthetic", dist_timeout=0).validate()
