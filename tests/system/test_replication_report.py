"""benchmarks/replicate.py's report: real (tiny) preset runs become summary.json rows and the page."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys

import pytest

from benchmarks.replication.page import write_page
from benchmarks.replication.plan import Job, Plan
from benchmarks.replication.report import tail_mean, collect, epoch_match, findings, measure
from benchmarks.replication.runner import newest_run, run_job
from tests.helpers import ROOT

TINY = ("--dataset", "synthetic", "--train-limit", "256", "--test-limit", "128", "--val-split", "128",
        "--epochs", "2", "--no-tensorboard")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real runs of 004 presets and one experiment, on synthetic data: what the report reads."""
    runs_dir, logs = tmp_path_factory.mktemp("runs"), tmp_path_factory.mktemp("logs")
    jobs = [Job("004-mlp", "004-mlp"), Job("004-mlp-deep-wide", "004-mlp-deep-wide"),
            Job("004-mlp@batch32", "004-mlp", ("--batch-size", "32"), question="q?")]
    for job in jobs:  # the tiny budget goes where the data flags go, as --data does for the real runs
        assert run_job(job, list(TINY), runs_dir, logs) == 0, (logs / f"{job.key}.log").read_text()
    plan = Plan(rows=tuple(j for j in jobs if "@" not in j.key), experiments=(jobs[2],), extra=())
    return runs_dir, plan


@pytest.mark.slow
def test_rows_carry_the_issue_fields_and_measured_curves(runs):
    runs_dir, plan = runs
    rows = collect(plan, runs_dir)
    assert [r["preset"] for r in rows] == ["004-mlp", "004-mlp-deep-wide"]
    mlp = rows[0]
    for field in ("preset", "study_acc", "ours_acc", "full_budget", "epochs", "train_images", "normalize",
                  "wall_s", "explained"):
        assert field in mlp
    assert mlp["study_acc"] == 0.4619 and mlp["normalize"] == "unit" and mlp["train_images"] == 256
    assert mlp["epochs"] == 2 and len(mlp["test_acc_by_epoch"]) == 2
    assert mlp["full_budget"] is True and mlp["budget"] == "full (the preset's own)"
    assert [e["key"] for e in mlp["experiments"]] == ["004-mlp@batch32"]
    assert mlp["experiments"][0]["batch_size"] == 32
    first, last = mlp["train_loss_ends"]  # steps.jsonl's first and last logged step
    assert first > 0 and last > 0
    json.dumps(rows)  # summary.json takes them as they are


def test_a_proof_row_says_it_ran_end_to_end_and_how_its_loss_moved():
    from benchmarks.replication.plan import Plan as P
    from benchmarks.replication.report import reduced

    row = dict(ours_acc=0.1, budget="proof: 1,000 images, 1 epoch, random weights", train_loss_ends=(2.45, 2.27))
    text = reduced(row)
    assert "runs end to end" in text and "2.450" in text and "2.270" in text and "not the study's number" in text
    assert reduced(dict(row, ours_acc=None)) is None
    two_phase = next(j for j in P().extra if j.preset == "004-mobilenet-v2-two-phase")
    flags = " ".join(two_phase.flags)
    assert flags.endswith("--epochs 2 --phase2-epoch 2")  # argparse keeps the last: phase 2 runs in the proof


def test_a_far_row_is_explained_by_its_curve_and_experiments():
    row = {"study_acc": 0.46, "ours_acc": 0.51, "epochs": 3, "test_acc_by_epoch": [0.40, 0.47, 0.51]}
    exp = [{"change": "--batch-size 32", "ours_acc": 0.49}]
    from benchmarks.replication.report import explain

    text = explain(row, exp)
    assert text.startswith("5.00 points above the study")
    assert "47.00% after epoch 2 of 3" in text and "with --batch-size 32: 49.00% (3.00 points above the study)" in text
    assert explain({**row, "ours_acc": 0.47}, exp) is None  # within 2 points: nothing to explain
    assert "with --batch-size 32: 46.00% (at the study's number)" in explain(row, [{**exp[0], "ours_acc": 0.46}])
    assert epoch_match([0.1, 0.2], 0.46) is None
    stated = {"study_acc": 0.4892, "ours_acc": 0.5566, "epochs": 5, "assumed": ["weight_decay", "model"],
              "test_acc_by_epoch": [0.2166, 0.386, 0.4636, 0.5219, 0.5566]}  # study 001 states its 5 epochs
    assert "lies between our epochs 3 (46.36%) and 4 (52.19%), though the study ran 5" in explain(stated, [])
    # an unstated setting that, changed alone, lands the run on the study's other side is named
    unit = {"change": "--normalize unit", "ours_acc": 0.3824}
    assert "lies between" not in explain(stated, [unit]).split("; with")[-1]  # normalize is not among assumed
    text = explain({**stated, "assumed": ["normalize", "model"]}, [unit, {"change": "--normalize raw", "ours_acc": 0.6}])
    assert text.endswith("the study's 48.92% lies between the preset's run and the one with --normalize unit: "
                         "normalize, which the study does not state, alone moves this row across its number.")
    near = explain({**stated, "assumed": ["normalize"]}, [{"change": "--normalize unit", "ours_acc": 0.4792}])
    assert near.endswith("alone moves this row across its number, and that run is within 2 points of it.")


def test_findings_say_which_hold_on_the_numbers():
    rows = [{"key": "004-mlp", "ours_acc": 0.46, "experiments": []},
            {"key": "004-mlp-deep-wide", "ours_acc": 0.48, "experiments": []},
            {"key": "004-cnn-bn-dropout", "ours_acc": 0.70, "experiments": []}]
    got = {text: (holds, numbers) for text, holds, numbers in findings(rows)}
    assert got["004: the deep-wide MLP tests below the plain MLP"] == (False, "mlp 46.00%, deep-wide 48.00%")
    assert got["004: a CNN is far above the MLP (over 15 points)"][0] is True
    assert got["001: AlexNet with skips beats the one without"] == (None, "not measured")
    rows += [{"key": "001-alexnet", "ours_acc": 0.49, "pca_share": 0.44, "loss_gap": 0.15},
             {"key": "001-alexnet-skip", "ours_acc": 0.55, "pca_share": 0.34, "loss_gap": 0.10}]
    got = {text.split(":")[1].split("(")[0].strip(): (holds, numbers) for text, holds, numbers in findings(rows)}
    assert got["AlexNet with skips beats the one without"] == (True, "skips 55.00%, no skips 49.00%")
    assert got["the skip model's features spread wider"] == (True, "no skips 44.00%, skips 34.00%")
    assert got["the skip model generalises with a smaller loss gap, held-out minus train loss at the end"] == \
        (True, "no skips 0.1500, skips 0.1000")
    # One noisy last epoch cannot decide it alone: the last 5 epochs' means are checked beside it.
    long = {"004-mlp": [0.46, 0.46, 0.46, 0.46, 0.40], "004-mlp-deep-wide": [0.44, 0.44, 0.44, 0.44, 0.44]}
    for row in rows[:2]:
        accs = long[row["key"]]
        row["experiments"] = [{"key": row["key"] + "@epochs60", "ours_acc": accs[-1], "tail_acc": tail_mean(accs)}]
    got = {text.split(": ")[1]: (holds, numbers) for text, holds, numbers in findings(rows)}
    assert got["the same after 60 epochs, three times the preset's"] == (False, "mlp 40.00%, deep-wide 44.00%")
    assert got["the same after 60 epochs, each MLP's last 5 epochs averaged"] == (True, "mlp 44.80%, deep-wide 44.00%")
    assert tail_mean([0.5, None, 0.5, 0.5, 0.5]) is None and tail_mean([0.5] * 4) is None  # five measured epochs or none


@pytest.mark.slow
def test_a_pca_job_measures_its_features_once_per_run(runs, tmp_path):
    runs_dir, plan = runs
    job = dataclasses.replace(plan.rows[0], pca=True)
    row = measure(job, runs_dir, tmp_path)
    kept = json.loads((tmp_path / "004-mlp.pca.json").read_text())
    assert kept["run_id"] == row["run_id"] and kept["n_images"] == 128 and 0 < row["pca_share"] <= 1
    assert row["pca_share"] == kept["cumulative"][1]  # the share of the first two components
    (tmp_path / "004-mlp.pca.json").write_text(json.dumps({**kept, "cumulative": [0.5, 0.75]}))
    assert measure(job, runs_dir, tmp_path)["pca_share"] == 0.75  # the same run: read back, not recomputed
    assert row["loss_gap"] is not None and measure(plan.rows[1], runs_dir, tmp_path)["pca_share"] is None


@pytest.mark.slow
def test_the_page_and_plot_are_made_from_the_rows(runs, tmp_path):
    pytest.importorskip("matplotlib")
    runs_dir, plan = runs
    write_page(collect(plan, runs_dir), tmp_path)
    page = (tmp_path / "replication.md").read_text()
    assert "| 004-mlp | 46.19% |" in page and "004-mlp@batch32" in page and "(`--batch-size 32`)" in page
    assert (tmp_path / "replication-004.png").read_bytes()[:4] == b"\x89PNG"


def test_an_unknown_key_is_one_line_and_nonzero():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "replicate.py"), "--only", "nope"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode != 0 and len(out.stderr.strip().splitlines()) == 1 and "no job named nope" in out.stderr


@pytest.mark.slow
def test_a_run_cut_short_is_resumed_where_it_stopped_not_started_again(tmp_path, monkeypatch):
    job, runs_dir, logs = Job("004-mlp", "004-mlp"), tmp_path / "runs", tmp_path / "logs"
    # Write 14 falls in epoch 2 of 2 (3 writes make the run, 7 each epoch): epoch 1's checkpoint is down.
    monkeypatch.setenv("CIFAR_TUI_KILL_AT_WRITE", "14")
    assert run_job(job, list(TINY), runs_dir, logs) == -signal.SIGKILL
    (cut,) = [p.parent for p in (runs_dir / job.key).glob("*/summary.json")]
    assert newest_run(runs_dir, job.key) is None  # nothing completed yet
    monkeypatch.delenv("CIFAR_TUI_KILL_AT_WRITE")
    assert run_job(job, list(TINY), runs_dir, logs) == 0
    assert newest_run(runs_dir, job.key) == cut  # the same run, now completed: not a second one
    assert json.loads((cut / "summary.json").read_text())["epochs_done"] == 2
    log = (logs / f"{job.key}.log").read_text()
    assert log.count("\n$ ") == 1 and f"--resume {cut}" in log  # both commands, in one log
    assert run_job(job, list(TINY), runs_dir, logs, fresh=True) == 0  # --fresh: a new run beside it
    assert len(list((runs_dir / job.key).glob("*/summary.json"))) == 2


@pytest.mark.slow
def test_a_stop_signal_is_passed_to_the_run_which_saves_itself(tmp_path):
    """Ctrl-C during a replication: the run gets the signal once, stops after its step and saves itself as
    interrupted (subprocess.call would SIGKILL it); run_job says so, and the run is there to resume."""
    import threading
    import time

    from benchmarks.replication.runner import Stopped

    job, runs_dir, logs = Job("004-mlp", "004-mlp"), tmp_path / "runs", tmp_path / "logs"

    def interrupt_after_an_epoch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(_size(p) for p in (runs_dir / job.key).glob("[!.]*/metrics.jsonl")):  # not a run being made
                os.kill(os.getpid(), signal.SIGINT)  # reaches our handler, as a terminal's Ctrl-C would
                return
            time.sleep(0.05)

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the suite runs as a background job
    threading.Thread(target=interrupt_after_an_epoch, daemon=True).start()
    with pytest.raises(Stopped, match="stopped during 004-mlp by SIGINT: its run saved itself as interrupted"):
        run_job(job, [*TINY, "--epochs", "400"], runs_dir, logs)
    (run,) = [p.parent for p in (runs_dir / job.key).glob("*/summary.json")]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 1 <= summary["epochs_done"] < 400
    assert "exit 130" in (logs / f"{job.key}.log").read_text()
    assert signal.getsignal(signal.SIGINT) == before  # ours put back


def _size(path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # renamed away between the glob and the stat
        return 0
